#include "common/duration.h"

#include <gtest/gtest.h>

#include "common/cli.h"

namespace tokenstore {
namespace {

double Seconds(std::string_view text) {
  StatusOr<double> s = ParseDurationSeconds(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s.status().ToString();
  return s.ok() ? *s : -1;
}

std::string Refusal(std::string_view text) {
  StatusOr<double> s = ParseDurationSeconds(text);
  EXPECT_FALSE(s.ok()) << text << " was accepted as " << (s.ok() ? *s : 0);
  return s.ok() ? "" : s.status().message();
}

TEST(Duration, UnitsAndBareSeconds) {
  EXPECT_EQ(Seconds("500ms"), 0.5);
  EXPECT_EQ(Seconds("5s"), 5);
  EXPECT_EQ(Seconds("1.5s"), 1.5);
  EXPECT_EQ(Seconds("1m"), 60);
  EXPECT_EQ(Seconds("2h"), 7200);
  EXPECT_EQ(Seconds("1m30s"), 90);
  EXPECT_EQ(Seconds("1h1m1s500ms"), 3661.5);
  EXPECT_EQ(Seconds(".5s"), 0.5);
  EXPECT_EQ(Seconds("5.s"), 5);
  EXPECT_EQ(Seconds("0"), 0);
  EXPECT_EQ(Seconds("0ms"), 0);
  // A bare number keeps meaning seconds, as before units existed.
  EXPECT_EQ(Seconds("5"), 5);
  EXPECT_EQ(Seconds("0.25"), 0.25);
  EXPECT_EQ(Seconds("1000000000"), kMaxDurationSeconds);
}

TEST(Duration, RefusesWithAReason) {
  EXPECT_NE(Refusal("5x").find("unknown unit \"x\""), std::string::npos);
  EXPECT_NE(Refusal("-1s").find("negative"), std::string::npos);
  EXPECT_NE(Refusal("").find("empty"), std::string::npos);
  EXPECT_NE(Refusal("s").find("expected a number"), std::string::npos);
  EXPECT_NE(Refusal("1m30").find("no unit"), std::string::npos);
  EXPECT_NE(Refusal("2000000000s").find("longer than"), std::string::npos);
  for (const char* bad : {"5 s", " 5s", "5s ", "+5s", "1e3", "inf", "nan", "5S", "5sec", "1..5s",
                          "ms", "5ms5", "0x10", "5,5s", "1s-1s"}) {
    const std::string why = Refusal(bad);
    EXPECT_NE(why.find(std::string("\"") + bad + "\" is not a duration"), std::string::npos)
        << bad << ": " << why;
    EXPECT_NE(why.find("500ms"), std::string::npos) << "the message shows the form: " << why;
  }
}

TEST(Duration, FormatReadsBack) {
  for (double s : {0.0, 0.001, 0.1, 0.5, 1.5, 10.0, 86400.0, 1e9}) {
    EXPECT_EQ(Seconds(FormatDurationSeconds(s)), s);
    EXPECT_EQ(Seconds(SecondsText(s)), s);
  }
  EXPECT_EQ(FormatDurationSeconds(0.5), "0.5s");
  EXPECT_EQ(SecondsText(1e9), "1000000000");
}

// The CLI11 transform every program puts on its duration flags.
TEST(Duration, CliTransformConvertsAndNamesTheFlag) {
  CLI::App app;
  double timeout = 10;
  app.add_option("--timeout", timeout)->transform(DurationSeconds());
  const char* ok[] = {"prog", "--timeout", "250ms"};
  app.parse(3, ok);
  EXPECT_EQ(timeout, 0.25);
  const char* bare[] = {"prog", "--timeout", "2"};
  app.parse(3, bare);
  EXPECT_EQ(timeout, 2);
  const char* bad[] = {"prog", "--timeout", "5x"};
  try {
    app.parse(3, bad);
    ADD_FAILURE() << "5x was accepted";
  } catch (const CLI::ParseError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("--timeout"), std::string::npos) << what;
    EXPECT_NE(what.find("unknown unit \"x\""), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace tokenstore
