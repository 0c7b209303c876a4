// The /proc parsers behind the process_* metrics, on recorded text, and a live read.
#include "replica/process_metrics.h"

#include <gtest/gtest.h>

#include <ctime>
#include <thread>

namespace tokenstore {
namespace {

// A real /proc/<pid>/stat line, with a command name holding a space and a parenthesis.
constexpr const char* kStat =
    "21678 (my (odd) cmd) R 21676 21676 18962 0 -1 4194304 102 0 0 0 250 50 0 0 20 0 7 0 "
    "3260645 3133440 410 18446744073709551615 94783186063360 94783186083241 140725133517248 "
    "0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";

TEST(ProcessMetrics, ParsesProcStatFields) {
  const std::optional<ProcStat> p = ParseProcStat(kStat, 100, 4096);
  ASSERT_TRUE(p.has_value());
  EXPECT_DOUBLE_EQ(p->cpu_seconds, 3.0);  // (250 + 50) ticks at 100 per second
  EXPECT_DOUBLE_EQ(p->threads, 7);
  EXPECT_DOUBLE_EQ(p->start_ticks, 3260645);
  EXPECT_DOUBLE_EQ(p->virtual_bytes, 3133440);
  EXPECT_DOUBLE_EQ(p->resident_bytes, 410.0 * 4096);
  EXPECT_FALSE(ParseProcStat("123 (x) R 1 2 3", 100, 4096).has_value());
  EXPECT_FALSE(ParseProcStat("no parenthesis", 100, 4096).has_value());
}

TEST(ProcessMetrics, ParsesBootTimeAndOpenFileLimit) {
  EXPECT_EQ(ParseBootTime("cpu  1 2 3\nintr 5\nbtime 1764460000\nprocesses 9\n"), 1764460000.0);
  EXPECT_EQ(ParseBootTime("cpu 1 2\n"), std::nullopt);
  const char* limits =
      "Limit                     Soft Limit           Hard Limit           Units     \n"
      "Max processes             unlimited            unlimited            processes \n"
      "Max open files            20000                524288               files     \n";
  EXPECT_EQ(ParseMaxOpenFiles(limits), 20000.0);
  EXPECT_EQ(ParseMaxOpenFiles("Max open files            unlimited            unlimited   files\n"),
            0.0);
  EXPECT_EQ(ParseMaxOpenFiles("Max processes 5 5\n"), std::nullopt);
}

TEST(ProcessMetrics, ReadsThisProcess) {
  std::thread extra([] { std::this_thread::sleep_for(std::chrono::milliseconds(200)); });
  const std::optional<ProcessStats> s = ReadProcessStats();
  extra.join();
  ASSERT_TRUE(s.has_value());
  EXPECT_GT(s->resident_bytes, 1 << 20);
  EXPECT_GE(s->threads, 2);
  EXPECT_GE(s->open_fds, 3);  // stdin, stdout, stderr at least
  EXPECT_GE(s->cpu_seconds, 0);
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(s->start_time_seconds, now + 1);
  EXPECT_GT(s->start_time_seconds, now - 24 * 3600);  // a test process is not that old
}

}  // namespace
}  // namespace tokenstore
