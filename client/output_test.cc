#include "client/output.h"

#include <gtest/gtest.h>

namespace tokenstore {
namespace {

// The reference token of SPEC section 2: name "abc", low 5, mid 25, high 100.
// partial 902613196918738813 at x=15 is the spec's vector; final and its x were computed
// independently with Python's hashlib:
//   h = lambda x: int.from_bytes(hashlib.sha256(f"abc {x}".encode()).digest()[:8], "big")
//   min((h(x), x) for x in range(5, 100))   -> (60570345165277511, 70)
ReadResult ReferenceRead() {
  ReadResult r;
  r.id = "1";
  r.ts = 3;
  r.defined = true;
  r.name = "abc";
  r.low = 5;
  r.mid = 25;
  r.high = 100;
  r.partial = 902613196918738813u;
  r.partial_x = 15;
  r.final = 60570345165277511u;
  r.final_x = 70;
  r.node = "127.0.0.1:50052";
  r.fast_path = true;
  return r;
}

TEST(Output, WritePlainAndJson) {
  WriteResult w{"1", 3, 902613196918738813u, 15, "127.0.0.1:50051"};
  EXPECT_EQ(FormatWrite(w, false),
            "token 1: partial 902613196918738813 at x=15 (ts 3, node 127.0.0.1:50051)");
  EXPECT_EQ(FormatWrite(w, true),
            "{\"op\":\"write\",\"id\":\"1\",\"ts\":\"3\",\"partial\":\"902613196918738813\","
            "\"partial_x\":\"15\",\"node\":\"127.0.0.1:50051\"}");
}

TEST(Output, WriteWithEmptyPartialRangeIsNull) {
  WriteResult w{"1", 4, std::nullopt, 0, "n:1"};
  EXPECT_EQ(FormatWrite(w, true),
            "{\"op\":\"write\",\"id\":\"1\",\"ts\":\"4\",\"partial\":null,\"partial_x\":null,"
            "\"node\":\"n:1\"}");
  EXPECT_NE(FormatWrite(w, false).find("partial undefined"), std::string::npos);
}

// 64-bit integers are decimal strings (SPEC section 8, protobuf's JSON mapping): jq 1.6 reads
// the number 60570345165277511 as 60570345165277510.
TEST(Output, ReadJsonHasEveryFieldWithSixtyFourBitIntegersAsStrings) {
  EXPECT_EQ(FormatRead(ReferenceRead(), true),
            "{\"op\":\"read\",\"id\":\"1\",\"ts\":\"3\",\"defined\":true,\"name\":\"abc\","
            "\"low\":\"5\",\"mid\":\"25\",\"high\":\"100\",\"partial\":\"902613196918738813\","
            "\"partial_x\":\"15\",\"final\":\"60570345165277511\",\"final_x\":\"70\","
            "\"fast_path\":true,\"node\":\"127.0.0.1:50052\"}");
  ReadResult max = ReferenceRead();
  max.high = UINT64_MAX;
  EXPECT_NE(FormatRead(max, true).find("\"high\":\"18446744073709551615\""), std::string::npos);
}

TEST(Output, ReadPlainShowsNameDomainPartialFinal) {
  EXPECT_EQ(FormatRead(ReferenceRead(), false),
            "token 1 (ts 3, node 127.0.0.1:50052)\n"
            "  name:    \"abc\"\n"
            "  domain:  low 5, mid 25, high 100\n"
            "  partial: 902613196918738813 at x=15\n"
            "  final:   60570345165277511 at x=70");
}

TEST(Output, UndefinedReadIsAllNulls) {
  ReadResult r;
  r.id = "2";
  r.ts = 0;
  r.node = "n:1";
  EXPECT_EQ(
      FormatRead(r, true),
      "{\"op\":\"read\",\"id\":\"2\",\"ts\":\"0\",\"defined\":false,\"name\":null,\"low\":null,"
      "\"mid\":null,\"high\":null,\"partial\":null,\"partial_x\":null,\"final\":null,"
      "\"final_x\":null,\"fast_path\":false,\"node\":\"n:1\"}");
  EXPECT_EQ(FormatRead(r, false),
            "token 2: undefined (never written, or reset by create) (ts 0, node n:1)");
}

TEST(Output, NamesAndIdsAreEscapedInJsonAndPlain) {
  ReadResult r = ReferenceRead();
  r.id = "a\"b";
  r.name = "x\"y\\z\n\x01";
  const std::string json = FormatRead(r, true);
  EXPECT_NE(json.find("\"id\":\"a\\\"b\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"name\":\"x\\\"y\\\\z\\n\\u0001\""), std::string::npos) << json;
  EXPECT_EQ(json.find('\n'), std::string::npos) << "one object per line";
  EXPECT_NE(FormatRead(r, false).find("name:    \"x\\\"y\\\\z\\n\\u0001\""), std::string::npos);
}

TEST(Output, CreateAndDrop) {
  AckResult a{"1", 9, "127.0.0.1:50051"};
  EXPECT_EQ(FormatAck("create", a, true),
            "{\"op\":\"create\",\"id\":\"1\",\"ts\":\"9\",\"node\":\"127.0.0.1:50051\"}");
  EXPECT_EQ(FormatAck("create", a, false),
            "token 1: created (reset to undefined) (ts 9, node 127.0.0.1:50051)");
  EXPECT_NE(FormatAck("drop", a, false).find("dropped"), std::string::npos);
}

}  // namespace
}  // namespace tokenstore
