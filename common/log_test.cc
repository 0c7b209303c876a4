#include "common/log.h"

#include <gtest/gtest.h>

#include "common/log_capture.h"

#include <cstdio>
#include <string>

namespace tokenstore {
namespace {

using std::chrono::milliseconds;

// 2024-05-01T12:00:00.123Z
const std::chrono::system_clock::time_point kTs{milliseconds(1714564800123)};

TEST(FormatLogLine, LogfmtWritesTsLevelMsgThenFieldsInOrder) {
  EXPECT_EQ(FormatLogLine(LogFormat::kLogfmt, kTs, LogLevel::kInfo, "serving",
                          {{"tokens", 3}, {"listen", "127.0.0.1:50051"}, {"ok", true},
                           {"seconds", 0.25}, {"big", uint64_t{18446744073709551615ull}},
                           {"neg", -7}}),
            "ts=2024-05-01T12:00:00.123Z level=info msg=\"serving\" tokens=3 "
            "listen=127.0.0.1:50051 ok=true seconds=0.25 big=18446744073709551615 neg=-7");
}

TEST(FormatLogLine, LogfmtQuotesAndEscapesWhatWouldBreakTheLine) {
  const std::string line = FormatLogLine(
      LogFormat::kLogfmt, kTs, LogLevel::kError, "bad \"config\"\nsecond line",
      {{"error", "a b"}, {"quote", "say \"hi\""}, {"eq", "k=v"}, {"nl", "one\ntwo\r"},
       {"empty", ""}, {"backslash", "c:\\x"}, {"tab", "a\tb"}});
  EXPECT_EQ(line,
            "ts=2024-05-01T12:00:00.123Z level=error msg=\"bad \\\"config\\\"\\nsecond line\" "
            "error=\"a b\" quote=\"say \\\"hi\\\"\" eq=\"k=v\" nl=\"one\\ntwo\\r\" empty=\"\" "
            "backslash=\"c:\\\\x\" tab=\"a\\tb\"");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(FormatLogLine, JsonHasTheSameKeysAsOneObject) {
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, kTs, LogLevel::kWarn, "say \"x\"\n",
                          {{"tokens", 3u}, {"node", "n1"}, {"ok", false}, {"neg", -1}}),
            "{\"ts\":\"2024-05-01T12:00:00.123Z\",\"level\":\"warn\",\"msg\":\"say "
            "\\\"x\\\"\\n\",\"tokens\":3,\"node\":\"n1\",\"ok\":false,\"neg\":-1}");
}

TEST(LogLevels, NamesParseBackAndUnknownOnesAreRefused) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    EXPECT_EQ(ParseLogLevel(LogLevelName(l)), l);
  }
  EXPECT_EQ(ParseLogLevel("warning"), std::nullopt);
  EXPECT_EQ(ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(ParseLogFormat("logfmt"), LogFormat::kLogfmt);
  EXPECT_EQ(ParseLogFormat("text"), std::nullopt);
}

class LogToFile : public ::testing::Test {
 protected:
  std::string Written() { return log_.Written(); }
  LogCapture log_;
};

TEST_F(LogToFile, LevelsBelowTheConfiguredOneAreDropped) {
  log_.Configure(LogLevel::kWarn, LogFormat::kLogfmt);
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kWarn));
  LogDebug("d");
  LogInfo("i");
  LogWarn("w", {{"k", 1}});
  LogError("e");
  const std::string out = Written();
  EXPECT_EQ(out.find("msg=\"d\""), std::string::npos) << out;
  EXPECT_EQ(out.find("msg=\"i\""), std::string::npos) << out;
  EXPECT_NE(out.find("level=warn msg=\"w\" k=1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("level=error msg=\"e\"\n"), std::string::npos) << out;
}

TEST_F(LogToFile, DebugLetsEverythingThroughInJsonWhenAsked) {
  log_.Configure(LogLevel::kDebug, LogFormat::kJson);
  LogDebug("d", {{"n", 2}});
  const std::string out = Written();
  EXPECT_NE(out.find("\"level\":\"debug\",\"msg\":\"d\",\"n\":2}\n"), std::string::npos) << out;
  EXPECT_EQ(out.front(), '{');
}

}  // namespace
}  // namespace tokenstore
