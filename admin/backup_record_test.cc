#include "admin/backup_record.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace tokenstore {
namespace {

// SPEC section 2's reference token; final and final_x as README's op-log example shows them
// (H over x in [5, 100) of "abc x", computed with Python's hashlib for client/output_test.cc).
BackupRecord Abc() {
  BackupRecord r;
  r.id = "1";
  r.state = ValueKind::kDefined;
  r.ts = 3;
  r.name = "abc";
  r.low = 5;
  r.mid = 25;
  r.high = 100;
  r.partial = 902613196918738813u;
  r.partial_x = 15;
  r.final = 60570345165277511u;
  r.final_x = 70;
  return r;
}

BackupRecord ParseOk(const std::string& line, int n = 1) {
  StatusOr<BackupRecord> r = ParseBackupLine(line, "b.jsonl", n);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : BackupRecord{};
}

// The error for `line` parsed as line 7 of b.jsonl; it must name the file and line.
std::string ParseError(const std::string& line) {
  StatusOr<BackupRecord> r = ParseBackupLine(line, "b.jsonl", 7);
  if (r.ok()) {
    ADD_FAILURE() << "parsed: " << line;
    return "";
  }
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind("b.jsonl:7: ", 0), 0u) << r.status().message();
  return r.status().message();
}

TEST(BackupRecord, DefinedLineIsFixedWith64BitIntegersAsStrings) {
  EXPECT_EQ(FormatBackupLine(Abc()),
            R"({"id":"1","state":"defined","ts":"3","name":"abc","low":"5","mid":"25",)"
            R"("high":"100","partial":"902613196918738813","partial_x":"15",)"
            R"("final":"60570345165277511","final_x":"70"})");
}

TEST(BackupRecord, UndefinedAndDroppedLinesHoldNulls) {
  BackupRecord undefined;
  undefined.id = "u";
  undefined.ts = 0;
  EXPECT_EQ(FormatBackupLine(undefined),
            R"({"id":"u","state":"undefined","ts":"0","name":null,"low":null,"mid":null,)"
            R"("high":null,"partial":null,"partial_x":null,"final":null,"final_x":null})");
  BackupRecord dropped;
  dropped.id = "d";
  dropped.state = ValueKind::kDropped;
  EXPECT_EQ(FormatBackupLine(dropped).rfind(R"({"id":"d","state":"dropped","ts":null,)", 0), 0u);
}

TEST(BackupRecord, RoundTrips) {
  BackupRecord empty_partial = Abc();
  empty_partial.id = "empty partial";
  empty_partial.mid = 5;
  empty_partial.partial.reset();
  empty_partial.partial_x = 0;
  BackupRecord extremes = Abc();
  extremes.id = std::string(kMaxTokenIdBytes, 'i');
  extremes.ts = std::numeric_limits<uint64_t>::max();
  extremes.high = std::numeric_limits<uint64_t>::max();
  extremes.final = 0;
  // Names are bytes: quotes, backslashes, control bytes and bytes >= 0x80 come back unchanged.
  extremes.name = std::string("q\"\\\n\t\x01 \x7f\x80\xc3\xa9\xff", 13);
  BackupRecord undefined;
  undefined.id = "u";
  undefined.ts = 9;
  BackupRecord dropped;
  dropped.id = "d";
  dropped.state = ValueKind::kDropped;
  int line = 1;
  for (BackupRecord r : {Abc(), empty_partial, extremes, undefined, dropped}) {
    r.line = line;
    const std::string text = FormatBackupLine(r);
    EXPECT_EQ(text.find('\n'), std::string::npos);
    EXPECT_EQ(ParseOk(text, line), r) << text;
    ++line;
  }
}

TEST(BackupRecord, MalformedLinesNameFileAndLineAndProblem) {
  const std::string good = FormatBackupLine(Abc());
  auto with = [&](const std::string& key, const std::string& json) {
    const std::string needle = "\"" + key + "\":";
    const size_t at = good.find(needle) + needle.size();
    const size_t end = good.find_first_of(",}", good[at] == '"' ? good.find('"', at + 1) : at);
    return good.substr(0, at) + json + good.substr(end);
  };
  EXPECT_NE(ParseError("").find("not a backup line"), std::string::npos);
  EXPECT_NE(ParseError("[1]").find("not a backup line"), std::string::npos);
  EXPECT_NE(ParseError(good + "x").find("not a backup line"), std::string::npos);
  EXPECT_NE(ParseError(R"({"id":"1"})").find("\"state\" is missing"), std::string::npos);
  EXPECT_NE(ParseError(good.substr(0, good.size() - 1) + R"(,"extra":null})")
                .find("\"extra\" is not a backup field"),
            std::string::npos);
  EXPECT_NE(ParseError(with("low", "5")).find("\"low\" must be a decimal string"),
            std::string::npos);
  EXPECT_NE(ParseError(with("low", "\"05\"")).find("\"low\" must be a decimal integer"),
            std::string::npos);
  EXPECT_NE(ParseError(with("high", "\"18446744073709551616\"")).find("\"high\""),
            std::string::npos);
  EXPECT_NE(ParseError(with("ts", "\"-1\"")).find("\"ts\""), std::string::npos);
  EXPECT_NE(ParseError(with("ts", "null")).find("null only for dropped"), std::string::npos);
  EXPECT_NE(ParseError(with("state", "\"gone\"")).find("\"state\" must be"), std::string::npos);
  EXPECT_NE(ParseError(with("id", "\"\"")).find("\"id\" must be a string"), std::string::npos);
  EXPECT_NE(ParseError(with("name", "\"\"")).find("\"name\" must be a non-empty"),
            std::string::npos);
  EXPECT_NE(ParseError(with("name", "\"\\u0100\"")).find("above U+00FF"), std::string::npos);
  EXPECT_NE(ParseError(with("mid", "\"100\"")).find("low <= mid < high"), std::string::npos);
  EXPECT_NE(ParseError(with("final", "null")).find("\"final\""), std::string::npos);
  EXPECT_NE(ParseError(with("mid", "\"5\"")).find("\"partial\" must be null when low == mid"),
            std::string::npos);
  const std::string undefined =
      R"({"id":"u","state":"undefined","ts":"0","name":"abc","low":null,"mid":null,)"
      R"("high":null,"partial":null,"partial_x":null,"final":null,"final_x":null})";
  EXPECT_NE(ParseError(undefined).find("\"name\" must be null when state is \"undefined\""),
            std::string::npos);
}

TEST(BackupRecord, DroppedIsToldFromNotConfiguredByTheReplicaMessage) {
  // As TokenClient::Read reports them: its own words, then the replica's.
  const Status dropped = Status::NotFound(
      "read of token \"7\" at 127.0.0.1:50052: token \"7\" was dropped; create it to use it again");
  const Status not_configured = Status::NotFound(
      "read of token \"7\" at 127.0.0.1:50052: token \"7\" is not in the replication scheme "
      "cluster.yaml");
  EXPECT_TRUE(IsDroppedRead(dropped));
  EXPECT_FALSE(IsDroppedRead(not_configured));
  EXPECT_FALSE(IsDroppedRead(Status::Unavailable(dropped.message())));

  StatusOr<BackupRecord> r = RecordFromRead("7", StatusOr<ReadResult>(dropped));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, ValueKind::kDropped);
  EXPECT_FALSE(r->ts.has_value());
  StatusOr<BackupRecord> missing = RecordFromRead("7", StatusOr<ReadResult>(not_configured));
  EXPECT_EQ(missing.status(), not_configured);
}

TEST(BackupRecord, FromDefinedAndUndefinedReads) {
  ReadResult read;
  read.id = "1";
  read.ts = 4;
  StatusOr<BackupRecord> undefined = RecordFromRead("1", read);
  ASSERT_TRUE(undefined.ok());
  EXPECT_EQ(undefined->state, ValueKind::kUndefined);
  EXPECT_EQ(undefined->ts, 4u);

  read.ts = 3;
  read.defined = true;
  read.name = "abc";
  read.low = 5;
  read.mid = 25;
  read.high = 100;
  read.partial = 902613196918738813u;
  read.partial_x = 15;
  read.final = 60570345165277511u;
  read.final_x = 70;
  StatusOr<BackupRecord> defined = RecordFromRead("1", read);
  ASSERT_TRUE(defined.ok());
  EXPECT_EQ(*defined, Abc());
}

}  // namespace
}  // namespace tokenstore
