// A latency histogram with log-linear buckets, in the manner of HdrHistogram: values below
// 2 * 2^P are counted exactly; above that, every power-of-two range [2^k, 2^(k+1)) is cut
// into 2^P equal buckets. A percentile is reported as the largest value its bucket can hold
// (clamped to the largest value recorded), so it is never below the true percentile and at
// most a factor (1 + 2^-P) above it. With the default P = 7 that is 0.79 %, over the whole
// uint64 range, in (65 - P) * 2^P counters (about 59 KB).
//
// Percentile definition: the value of rank ceil(q * count) (1-based) in sorted order, i.e.
// the smallest recorded value v such that at least a fraction q of the values are <= v.
//
// Thread-safety: a plain value; one per thread, Merge() at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tokenstore::bench {

class Histogram {
 public:
  // precision_bits: P above, 1..16.
  explicit Histogram(int precision_bits = 7);

  void Record(uint64_t value) { RecordN(value, 1); }
  void RecordN(uint64_t value, uint64_t n);
  // Adds `other`'s counts; both must have the same precision.
  void Merge(const Histogram& other);
  void Reset();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0; }
  int precision_bits() const { return precision_bits_; }

  // q in [0, 1]; 0 for an empty histogram. Percentile(1) is max().
  uint64_t Percentile(double q) const;

  // The largest relative error of Percentile(): 2^-P.
  double RelativeError() const { return 1.0 / static_cast<double>(sub_buckets_); }

  // Bucket arithmetic, public for tests.
  size_t BucketIndex(uint64_t value) const;
  uint64_t BucketLow(size_t index) const;
  uint64_t BucketHigh(size_t index) const;  // inclusive

 private:
  int precision_bits_;
  uint64_t sub_buckets_;  // 2^P
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  // Sum of values, for the mean; wraps only after 2^64 ns (584 years) of total latency.
  uint64_t sum_ = 0;
};

}  // namespace tokenstore::bench
