#include "bench/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace tokenstore::bench {
namespace {

// The reference: rank ceil(q * n) of the sorted values, as Histogram::Percentile defines it.
uint64_t Reference(const std::vector<uint64_t>& sorted, double q) {
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<uint64_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

void ExpectWithinError(const Histogram& h, std::vector<uint64_t> values) {
  std::sort(values.begin(), values.end());
  const double err = h.RelativeError();
  for (double q : {0.0, 0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1.0}) {
    const uint64_t want = Reference(values, q);
    const uint64_t got = h.Percentile(q);
    EXPECT_GE(got, want) << "q=" << q;
    EXPECT_LE(static_cast<double>(got - want), err * static_cast<double>(want))
        << "q=" << q << " want=" << want << " got=" << got;
  }
  EXPECT_EQ(h.Percentile(1.0), values.back());
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.count(), values.size());
}

TEST(HistogramTest, EmptyIsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(0.5), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h(7);
  std::vector<uint64_t> values;
  for (uint64_t v = 0; v < 256; ++v) {
    h.Record(v);
    values.push_back(v);
  }
  for (double q : {0.01, 0.5, 0.9, 1.0}) EXPECT_EQ(h.Percentile(q), Reference(values, q));
  EXPECT_DOUBLE_EQ(h.mean(), 127.5);
}

TEST(HistogramTest, BucketsTileTheRangeWithoutGaps) {
  for (int p : {1, 3, 7, 10}) {
    Histogram h(p);
    uint64_t expect_low = 0;
    for (size_t i = 0;; ++i) {
      ASSERT_EQ(h.BucketLow(i), expect_low) << "p=" << p << " i=" << i;
      const uint64_t high = h.BucketHigh(i);
      ASSERT_GE(high, h.BucketLow(i));
      // Width bounded by the relative error.
      ASSERT_LE(static_cast<double>(high - h.BucketLow(i)),
                h.RelativeError() * static_cast<double>(std::max<uint64_t>(h.BucketLow(i), 1)));
      ASSERT_EQ(h.BucketIndex(h.BucketLow(i)), i);
      ASSERT_EQ(h.BucketIndex(high), i);
      if (high == UINT64_MAX) break;
      expect_low = high + 1;
    }
  }
}

TEST(HistogramTest, ExtremeValues) {
  Histogram h;
  h.Record(0);
  h.Record(UINT64_MAX);
  EXPECT_EQ(h.Percentile(0.5), 0u);
  EXPECT_EQ(h.Percentile(1.0), UINT64_MAX);
}

TEST(HistogramTest, RandomLogUniformWithinRelativeError) {
  std::mt19937_64 rng(12345);
  for (int p : {3, 7, 10}) {
    Histogram h(p);
    std::vector<uint64_t> values;
    // Latency-like: log-uniform from 1 us to 10 s in nanoseconds.
    std::uniform_real_distribution<double> exp10(3, 10);
    for (int i = 0; i < 100000; ++i) {
      const uint64_t v = static_cast<uint64_t>(std::pow(10.0, exp10(rng)));
      h.Record(v);
      values.push_back(v);
    }
    ExpectWithinError(h, values);
  }
}

TEST(HistogramTest, RandomSkewedSmallSamples) {
  std::mt19937_64 rng(777);
  for (int n : {1, 2, 3, 10, 99, 1000}) {
    Histogram h;
    std::vector<uint64_t> values;
    std::lognormal_distribution<double> dist(13, 1.5);  // median ~0.44 ms in ns
    for (int i = 0; i < n; ++i) {
      const uint64_t v = static_cast<uint64_t>(dist(rng));
      h.Record(v);
      values.push_back(v);
    }
    ExpectWithinError(h, values);
  }
}

TEST(HistogramTest, MergeEqualsRecordingEverything) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<uint64_t> dist(0, 50'000'000);
  Histogram all, a, b;
  std::vector<uint64_t> values;
  for (int i = 0; i < 20000; ++i) {
    const uint64_t v = dist(rng);
    (i % 3 ? a : b).Record(v);
    all.Record(v);
    values.push_back(v);
  }
  a.Merge(b);
  for (double q : {0.5, 0.9, 0.99, 0.999, 1.0}) EXPECT_EQ(a.Percentile(q), all.Percentile(q));
  EXPECT_EQ(a.count(), all.count());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  ExpectWithinError(a, values);
  a.Reset();
  EXPECT_EQ(a.count(), 0u);
  EXPECT_EQ(a.Percentile(0.5), 0u);
}

TEST(HistogramTest, RecordNCountsMany) {
  Histogram h;
  h.RecordN(1000, 99);
  h.RecordN(5'000'000, 1);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_LE(h.Percentile(0.99), 1000u * 1.01);
  EXPECT_EQ(h.Percentile(1.0), 5'000'000u);
}

}  // namespace
}  // namespace tokenstore::bench
