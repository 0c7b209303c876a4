#include "replica/request_validation.h"

#include <gtest/gtest.h>

namespace tokenstore {
namespace {

RequestLimits Small() {
  RequestLimits l;
  l.max_id_bytes = 8;
  l.max_name_bytes = 16;
  l.max_range = 1000;
  return l;
}

void ExpectRefused(const Status& st, const std::string& words) {
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << words;
  EXPECT_NE(st.message().find(words), std::string::npos) << st.message();
}

TEST(RequestValidation, TokenIds) {
  EXPECT_TRUE(ValidateTokenId("id", "12345678", Small()).ok());
  ExpectRefused(ValidateTokenId("id", "", Small()), "id: must not be empty");
  ExpectRefused(ValidateTokenId("token", "123456789", Small()),
                "token: 9 bytes is longer than the limit of 8");
  // The default limit is the configuration's: an id it accepts is never refused here.
  EXPECT_TRUE(ValidateTokenId("id", std::string(kMaxTokenIdBytes, 'a'), RequestLimits{}).ok());
  EXPECT_FALSE(ValidateTokenId("id", std::string(kMaxTokenIdBytes + 1, 'a'), RequestLimits{}).ok());
}

TEST(RequestValidation, WriteArgs) {
  EXPECT_TRUE(ValidateWriteArgs({"1", "abc", 0, 0, 1}, Small()).ok());
  EXPECT_TRUE(ValidateWriteArgs({"1", "abc", 0, 500, 1000}, Small()).ok());
  ExpectRefused(ValidateWriteArgs({"", "abc", 0, 0, 1}, Small()), "id: must not be empty");
  ExpectRefused(ValidateWriteArgs({"1", "", 0, 0, 1}, Small()), "name: must not be empty");
  ExpectRefused(ValidateWriteArgs({"1", std::string(17, 'n'), 0, 0, 1}, Small()),
                "name: 17 bytes is longer than the limit of 16");
  ExpectRefused(ValidateWriteArgs({"1", "abc", 3, 2, 4}, Small()), "low (3) must not exceed mid (2)");
  ExpectRefused(ValidateWriteArgs({"1", "abc", 1, 4, 4}, Small()), "mid (4) must be below high (4)");
  ExpectRefused(ValidateWriteArgs({"1", "abc", 0, 1, 1001}, Small()),
                "high - low = 1001 values is more than");
  // No overflow at the top of the domain.
  const uint64_t top = UINT64_MAX;
  EXPECT_TRUE(ValidateWriteArgs({"1", "abc", top - 10, top - 5, top}, Small()).ok());
  ExpectRefused(ValidateWriteArgs({"1", "abc", 0, 1, top}, Small()), "--max-range");
}

Register Defined(uint64_t low, uint64_t mid, uint64_t high, bool has_partial, uint64_t px = 0) {
  return Register{7, TokenValue{ValueKind::kDefined, "abc", low, mid, high, has_partial, 0, px}};
}

TEST(RequestValidation, Registers) {
  EXPECT_TRUE(ValidateRegister(Register{}, Small()).ok());
  EXPECT_TRUE(ValidateRegister(Register{3, TokenValue{ValueKind::kDropped}}, Small()).ok());
  EXPECT_TRUE(ValidateRegister(Defined(5, 25, 100, true, 15), Small()).ok());
  EXPECT_TRUE(ValidateRegister(Defined(5, 5, 100, false), Small()).ok());
  // A stored register was hashed by its writer already: the range limit does not apply.
  EXPECT_TRUE(ValidateRegister(Defined(0, 0, 1'000'000, false), Small()).ok());

  ExpectRefused(ValidateRegister(Defined(5, 5, 100, true, 5), Small()),
                "register at ts 7: has a partial although");
  ExpectRefused(ValidateRegister(Defined(5, 6, 100, false), Small()), "has no partial although");
  ExpectRefused(ValidateRegister(Defined(5, 25, 100, true, 25), Small()),
                "partial_x (25) is outside [low, mid) = [5, 25)");
  ExpectRefused(ValidateRegister(Defined(5, 25, 100, true, 4), Small()), "partial_x (4)");
  ExpectRefused(ValidateRegister(Defined(30, 25, 100, true, 26), Small()),
                "low (30) must not exceed mid (25)");
  Register unnamed = Defined(5, 25, 100, true, 15);
  unnamed.value.name.clear();
  ExpectRefused(ValidateRegister(unnamed, Small()), "name: must not be empty");
  Register long_name = Defined(5, 25, 100, true, 15);
  long_name.value.name.assign(17, 'n');
  ExpectRefused(ValidateRegister(long_name, Small()), "longer than the limit of 16");
}

}  // namespace
}  // namespace tokenstore
