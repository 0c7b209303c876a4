// History events: JSON round trips, strict rejection of malformed lines (with line numbers),
// whole files, and the writer.
#include "checker/history.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

namespace tokenstore::checker {
namespace {

Event WriteEvent(EventType type) {
  Event e;
  e.process = 3;
  e.type = type;
  e.f = OpFunction::kWrite;
  e.token = "1";
  e.name = "w-17";
  e.low = 0;
  e.mid = 5;
  e.high = UINT64_MAX;
  e.time = 1234567;
  return e;
}

void ExpectSame(const Event& a, const Event& b) {
  EXPECT_EQ(a.process, b.process);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.f, b.f);
  EXPECT_EQ(a.token, b.token);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.low, b.low);
  EXPECT_EQ(a.mid, b.mid);
  EXPECT_EQ(a.high, b.high);
  EXPECT_EQ(a.final_value, b.final_value);
  EXPECT_EQ(a.full_value, b.full_value);
  EXPECT_EQ(a.partial_value, b.partial_value);
  EXPECT_EQ(a.time, b.time);
}

TEST(HistoryJsonTest, WriteRoundTrips) {
  for (EventType t : {EventType::kInvoke, EventType::kOk, EventType::kFail, EventType::kInfo}) {
    const Event e = WriteEvent(t);
    const std::string line = ToJsonLine(e);
    auto back = ParseJsonLine(line, 7);
    ASSERT_TRUE(back.ok()) << back.status().ToString() << " for " << line;
    ExpectSame(e, *back);
    EXPECT_EQ(back->line, 7);
  }
  EXPECT_EQ(ToJsonLine(WriteEvent(EventType::kInvoke)),
            R"({"process":3,"type":"invoke","f":"write","token":"1",)"
            R"("value":{"name":"w-17","low":0,"mid":5,"high":18446744073709551615},"time":1234567})");
}

TEST(HistoryJsonTest, ReadRoundTrips) {
  Event e;
  e.process = 4;
  e.type = EventType::kOk;
  e.f = OpFunction::kRead;
  e.token = "tok \"quoted\" \\ \n\t";
  e.name = "w-\x01/x";
  e.final_value = 60570345165277511u;
  e.time = -5;
  auto back = ParseJsonLine(ToJsonLine(e), 1);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSame(e, *back);

  e.name.reset();
  e.final_value.reset();
  EXPECT_NE(ToJsonLine(e).find(R"("value":{"name":null,"final":null})"), std::string::npos);
  back = ParseJsonLine(ToJsonLine(e), 1);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSame(e, *back);

  e.type = EventType::kInvoke;
  EXPECT_NE(ToJsonLine(e).find(R"("value":null)"), std::string::npos);
  back = ParseJsonLine(ToJsonLine(e), 1);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSame(e, *back);
}

// What token-chaos records beyond SPEC section 9, for checker/value_check.h.
TEST(HistoryJsonTest, FullReturnedValuesRoundTrip) {
  Event w = WriteEvent(EventType::kOk);
  w.full_value = true;
  w.partial_value = 902613196918738813u;
  EXPECT_NE(ToJsonLine(w).find(R"("high":18446744073709551615,"partial":902613196918738813})"),
            std::string::npos);
  auto back = ParseJsonLine(ToJsonLine(w), 1);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSame(w, *back);
  w.partial_value.reset();  // undefined (low == mid): recorded as null
  EXPECT_NE(ToJsonLine(w).find(R"("partial":null)"), std::string::npos);
  back = ParseJsonLine(ToJsonLine(w), 1);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSame(w, *back);

  Event r = WriteEvent(EventType::kOk);
  r.f = OpFunction::kRead;
  r.final_value = 7;
  r.full_value = true;
  r.partial_value = 8;
  EXPECT_NE(ToJsonLine(r).find(R"("value":{"name":"w-17","final":7,"low":0,"mid":5,)"
                               R"("high":18446744073709551615,"partial":8})"),
            std::string::npos)
      << ToJsonLine(r);
  back = ParseJsonLine(ToJsonLine(r), 1);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSame(r, *back);

  // All four or none: a read's range without its partial is malformed.
  auto bad = ParseJsonLine(R"({"process":1,"type":"ok","f":"read","token":"1",)"
                           R"("value":{"name":"abc","final":1,"low":5,"mid":25,"high":100},)"
                           R"("time":0})",
                           4);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("partial"), std::string::npos) << bad.status().ToString();
}

TEST(HistoryJsonTest, AcceptsSpecSpellingWithSpacesEscapesAndUnknownKeys) {
  auto e = ParseJsonLine(
      R"( {"process": 4, "type": "ok", "f": "read", "token": "1", "extra": {"a": true},)"
      R"( "value": {"name": "w\u002d\u00e9\ud83d\ude00", "final": 0, "more": false}, "time": 9} )",
      3);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(*e->name, "w-\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(e->final_value, 0u);
  // Read invokes need no value at all.
  EXPECT_TRUE(ParseJsonLine(R"({"process":1,"type":"invoke","f":"read","token":"1","time":0})", 1)
                  .ok());
}

// 64-bit values as decimal strings, as token-client --json and protobuf's JSON mapping write
// them (a history passed through jq keeps every digit that way).
TEST(HistoryJsonTest, AcceptsSixtyFourBitIntegersAsDecimalStrings) {
  auto r = ParseJsonLine(
      R"({"process":4,"type":"ok","f":"read","token":"1","value":{"name":"abc",)"
      R"("final":"60570345165277511","low":"5","mid":"25","high":"100",)"
      R"("partial":"902613196918738813"},"time":9})",
      1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->final_value, 60570345165277511u);
  EXPECT_EQ(r->low, 5u);
  EXPECT_EQ(r->high, 100u);
  EXPECT_EQ(r->partial_value, 902613196918738813u);
  auto w = ParseJsonLine(
      R"({"process":1,"type":"invoke","f":"write","token":"1","value":{"name":"a","low":"0",)"
      R"("mid":5,"high":"18446744073709551615"},"time":1})",
      1);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->high, UINT64_MAX);
  for (const char* bad : {"\"\"", "\"-1\"", "\"007\"", "\"1.5\"", "\"18446744073709551616\"",
                          "\" 1\""}) {
    auto e = ParseJsonLine(std::string(R"({"process":4,"type":"ok","f":"read","token":"1",)") +
                               R"("value":{"name":"a","final":)" + bad + R"(},"time":9})",
                           1);
    EXPECT_FALSE(e.ok()) << bad;
    EXPECT_NE(e.status().message().find("value.final"), std::string::npos)
        << e.status().message();
  }
}

TEST(HistoryJsonTest, RejectsMalformedLinesNamingLineAndProblem) {
  const std::string read_ok = R"("type":"ok","f":"read","token":"1",)";
  const struct {
    std::string line;
    std::string expected;
  } cases[] = {
      {"", "empty line"},
      {"[1]", "expected '{'"},
      {R"({"process":1,)", "expected a quoted key"},
      {R"({"process":1} x)", "after the closing"},
      {R"({"process":1.5})", "only integers"},
      {R"({"process":1e3})", "only integers"},
      {R"({"process":007})", "leading zeros"},
      {R"({"process":18446744073709551616})", "does not fit"},
      {R"({"process":[1]})", "arrays are not allowed"},
      {R"({"process":1,"process":2})", "duplicate key \"process\""},
      {R"({"process":"1"})", "field \"process\": expected an integer, found \"1\""},
      {R"({"process":1,"type":"maybe"})", "field \"type\": expected invoke"},
      {R"({"process":1,"type":"ok","f":"cas"})", "field \"f\": expected write or read"},
      {R"({"process":1,"type":"ok","f":"read","token":"1"})", "field \"time\": missing"},
      {"{\"process\":1," + read_ok + "\"time\":1}", "a successful read needs"},
      {"{\"process\":1," + read_ok + R"("value":{"name":null},"time":1})", "\"final\": missing"},
      {"{\"process\":1," + read_ok + R"("value":{"name":1,"final":1},"time":1})",
       "value.name\": expected a string"},
      {"{\"process\":1," + read_ok + R"("value":{"name":"a","final":-1},"time":1})",
       "value.final\": expected a non-negative integer"},
      {"{\"process\":1," + read_ok + R"("value":{"name":"a","final":{"x":1}},"time":1})",
       "nested too deeply"},
      {R"({"process":1,"type":"invoke","f":"write","token":"1","time":1})",
       "a write invoke needs"},
      {R"({"process":1,"type":"invoke","f":"write","token":"1","value":{"name":"a","low":1,"mid":2},"time":1})",
       "\"high\": missing"},
      {R"({"process":1,"type":"invoke","f":"read","token":"","time":1})", "must not be empty"},
      {R"({"process":1,"type":"invoke","f":"read","token":"a\qb","time":1})", "unknown escape"},
      {R"({"process":1,"type":"invoke","f":"read","token":"\ud800","time":1})", "surrogate"},
      {"{\"process\":1,\"token\":\"a\tb\"}", "control character"},
      {R"({"process":1,"token":"abc)", "unterminated string"},
      {R"({"process":nul})", "expected a value"},
  };
  for (const auto& c : cases) {
    auto e = ParseJsonLine(c.line, 42);
    ASSERT_FALSE(e.ok()) << c.line;
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(e.status().message().find("line 42: "), std::string::npos) << e.status().message();
    EXPECT_NE(e.status().message().find(c.expected), std::string::npos)
        << c.line << " -> " << e.status().message();
  }
  // Columns point at the problem.
  EXPECT_NE(ParseJsonLine(R"({"process":1.5})", 1).status().message().find("column 12"),
            std::string::npos);
}

class HistoryFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("checker_history_test_" + std::to_string(::getpid()) + ".jsonl"))
                .string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::string path_;
};

TEST_F(HistoryFileTest, WriterAndReaderAgreeFromManyThreads) {
  {
    auto w = HistoryWriter::Open(path_);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i) {
          Event e = WriteEvent(EventType::kInvoke);
          e.process = t;
          e.name = "w-" + std::to_string(t) + "-" + std::to_string(i);
          (*w)->Append(e);
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_TRUE((*w)->status().ok());
  }
  auto events = ReadHistory(path_);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 200u);
  for (size_t i = 0; i < events->size(); ++i) EXPECT_EQ((*events)[i].line, static_cast<int>(i + 1));
}

TEST_F(HistoryFileTest, ErrorsNameFileAndLineAndBlankLinesAreSkipped) {
  {
    std::ofstream out(path_);
    out << ToJsonLine(WriteEvent(EventType::kInvoke)) << "\n\n"
        << ToJsonLine(WriteEvent(EventType::kOk)) << "\n"
        << R"({"process": 3, "type": "ok", "f": "write", "token": 1, "time": 5})" << "\n";
  }
  auto events = ReadHistory(path_);
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().message().rfind(path_ + ":4: field \"token\": expected a string", 0),
            0u)
      << events.status().message();

  {
    std::ofstream out(path_);
    out << ToJsonLine(WriteEvent(EventType::kInvoke)) << "\n\n"
        << ToJsonLine(WriteEvent(EventType::kOk)) << "\n";
  }
  events = ReadHistory(path_);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].line, 3);

  auto missing = ReadHistory(path_ + ".nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(path_ + ".nope"), std::string::npos);
}

}  // namespace
}  // namespace tokenstore::checker
