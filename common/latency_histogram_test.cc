#include "common/latency_histogram.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace tokenstore {
namespace {

using namespace std::chrono_literals;

TEST(LatencyHistogram, CountsEachValueInTheFirstBucketWhoseBoundHoldsIt) {
  LatencyHistogram h;
  h.Record(0ns);       // bucket 0 (<= 100 µs)
  h.Record(100us);     // bucket 0: the bound is inclusive
  h.Record(101us);     // bucket 1 (<= 250 µs)
  h.Record(1ms);       // bucket 3 (<= 1 ms)
  h.Record(2min);      // above the last bound
  h.Record(-5ms);      // counts as zero
  const auto s = h.Read();
  EXPECT_EQ(s.counts[0], 3u);
  EXPECT_EQ(s.counts[1], 1u);
  EXPECT_EQ(s.counts[2], 0u);
  EXPECT_EQ(s.counts[3], 1u);
  EXPECT_EQ(s.counts[LatencyHistogram::kBuckets - 1], 1u);
  EXPECT_EQ(s.count, 6u);
  EXPECT_NEAR(s.sum_seconds, 0.0001 + 0.000101 + 0.001 + 120, 1e-9);
}

TEST(LatencyHistogram, ConcurrentRecordsAreAllCounted) {
  LatencyHistogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h] {
      for (int i = 0; i < 10000; ++i) h.Record(std::chrono::microseconds(i % 3000));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(h.Read().count, 40000u);
}

}  // namespace
}  // namespace tokenstore
