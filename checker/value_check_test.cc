// The check of returned hashes: right values pass, a wrong final, partial or range is caught
// and named, undefined values are handled, and histories without full values still get the
// final checked.
#include "checker/value_check.h"

#include <gtest/gtest.h>

namespace tokenstore::checker {
namespace {

// SPEC section 2's reference token: name "abc", low 5, mid 25, high 100. The final was derived
// independently of this code base (hash/token_hash_test.cc, ReferenceVectorFinal):
//   $ python3 -c "import hashlib; h=lambda x: int.from_bytes(hashlib.sha256(b'abc %d' % x)
//       .digest()[:8], 'big'); print(min((h(x), x) for x in range(5, 100)))"
//   (60570345165277511, 70)
constexpr uint64_t kAbcPartial = 902613196918738813u;
constexpr uint64_t kAbcFinal = 60570345165277511u;

Event Write(EventType type, int line, std::optional<uint64_t> partial = kAbcPartial) {
  const bool ok = type == EventType::kOk;
  return {.process = 1,
          .type = type,
          .f = OpFunction::kWrite,
          .token = "1",
          .name = "abc",
          .low = 5,
          .mid = 25,
          .high = 100,
          .full_value = ok,
          .partial_value = ok ? partial : std::nullopt,
          .line = line};
}

Event ReadOk(int line, std::optional<uint64_t> final_value = kAbcFinal) {
  Event e = Write(EventType::kOk, line);  // the same value, with its partial, read back
  e.process = 2;
  e.f = OpFunction::kRead;
  e.final_value = final_value;
  return e;
}

std::vector<Event> History(const Event& write_ok, const Event& read_ok) {
  Event invoke = Write(EventType::kInvoke, 1);
  Event read_invoke = read_ok;
  read_invoke.type = EventType::kInvoke;
  read_invoke.line = 3;
  return {invoke, write_ok, read_invoke, read_ok};
}

TEST(ValueCheck, TheHashEngineValuesPass) {
  const ValueCheck c = CheckReturnedValues(History(Write(EventType::kOk, 2), ReadOk(4)));
  EXPECT_EQ(c.writes_checked, 1u);
  EXPECT_EQ(c.reads_checked, 1u);
  EXPECT_EQ(c.mismatches, 0u);
  EXPECT_TRUE(c.explanations.empty());
}

TEST(ValueCheck, AWrongFinalIsCaughtAndNamed) {
  const ValueCheck c = CheckReturnedValues(History(Write(EventType::kOk, 2), ReadOk(4, 17)));
  ASSERT_EQ(c.mismatches, 1u);
  ASSERT_EQ(c.explanations.size(), 1u);
  EXPECT_EQ(c.explanations[0],
            "line 4: read by process 2 on token 1 of abc returned final 17, but min H over "
            "[5, 100) is 60570345165277511");
  // A final missing from a read of a defined value is as wrong.
  EXPECT_EQ(
      CheckReturnedValues(History(Write(EventType::kOk, 2), ReadOk(4, std::nullopt))).mismatches,
      1u);
}

TEST(ValueCheck, AWrongPartialIsCaughtAtTheWriteAndTheRead) {
  ValueCheck c = CheckReturnedValues(History(Write(EventType::kOk, 2, kAbcFinal), ReadOk(4)));
  ASSERT_EQ(c.mismatches, 1u);
  EXPECT_EQ(c.explanations[0],
            "line 2: write by process 1 on token 1 of abc returned partial 60570345165277511, "
            "but min H over [5, 25) is 902613196918738813");
  Event read = ReadOk(4);
  read.partial_value.reset();
  c = CheckReturnedValues(History(Write(EventType::kOk, 2), read));
  ASSERT_EQ(c.mismatches, 1u);
  EXPECT_NE(c.explanations[0].find("returned partial undefined"), std::string::npos)
      << c.explanations[0];
}

TEST(ValueCheck, AReadOfTheRightNameWithAnotherRangeIsCaught) {
  Event read = ReadOk(4);
  read.high = 99;  // its final happens to be the same (x = 70): the range alone is wrong
  const ValueCheck c = CheckReturnedValues(History(Write(EventType::kOk, 2), read));
  ASSERT_EQ(c.mismatches, 1u);
  EXPECT_NE(c.explanations[0].find("returned the range [5, 25, 99) but it was written as "
                                   "[5, 25, 100)"),
            std::string::npos)
      << c.explanations[0];
}

TEST(ValueCheck, UndefinedValues) {
  // low == mid: the partial is undefined, and the final is the rest's minimum.
  Event invoke = Write(EventType::kInvoke, 1);
  invoke.mid = 5;
  Event ok = Write(EventType::kOk, 2, std::nullopt);
  ok.mid = 5;
  Event read = ReadOk(4);
  read.mid = 5;
  read.partial_value.reset();
  EXPECT_EQ(CheckReturnedValues({invoke, ok, read}).mismatches, 0u);
  ok.partial_value = kAbcPartial;
  EXPECT_EQ(CheckReturnedValues({invoke, ok, read}).mismatches, 1u);

  // A read of an undefined token has no final.
  Event undefined;
  undefined.type = EventType::kOk;
  undefined.line = 5;
  EXPECT_EQ(CheckReturnedValues({undefined}).mismatches, 0u);
  EXPECT_EQ(CheckReturnedValues({undefined}).reads_checked, 1u);
  undefined.final_value = 3;
  EXPECT_EQ(CheckReturnedValues({undefined}).mismatches, 1u);
}

TEST(ValueCheck, HistoriesWithOnlyNameAndFinalStillHaveTheFinalChecked) {
  Event ok = Write(EventType::kOk, 2);
  ok.full_value = false;
  ok.partial_value.reset();
  Event read = ReadOk(4, kAbcPartial);
  read.full_value = false;
  read.partial_value.reset();
  read.high = 0;
  const ValueCheck c = CheckReturnedValues(History(ok, read));
  EXPECT_EQ(c.writes_checked, 0u);
  EXPECT_EQ(c.reads_checked, 1u);
  EXPECT_EQ(c.mismatches, 1u);
}

TEST(ValueCheck, ANameNeverWrittenIsLeftToTheLinearizabilityCheck) {
  Event read = ReadOk(4);
  read.name = "never-written";
  const ValueCheck c = CheckReturnedValues({read});
  EXPECT_EQ(c.reads_checked, 0u);
  EXPECT_EQ(c.mismatches, 0u);
}

TEST(ValueCheck, ExplainsTheFirstFewAndCountsAll) {
  std::vector<Event> events = {Write(EventType::kInvoke, 1)};
  for (int i = 0; i < 25; ++i) events.push_back(ReadOk(2 + i, 1));
  const ValueCheck c = CheckReturnedValues(events);
  EXPECT_EQ(c.mismatches, 25u);
  EXPECT_EQ(c.explanations.size(), ValueCheck::kMaxExplained);
}

}  // namespace
}  // namespace tokenstore::checker
