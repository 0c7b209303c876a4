#include "bench/histogram.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>

namespace tokenstore::bench {

// Index layout: with M = 2^P and e = max(0, msb(v) - P), index = e * M + (v >> e).
// e = 0 covers [0, 2M) one value per bucket; each further e covers [M 2^e, 2M 2^e) in M
// buckets of width 2^e, continuing the indexes of the previous e without a gap.

Histogram::Histogram(int precision_bits)
    : precision_bits_(std::clamp(precision_bits, 1, 16)),
      sub_buckets_(uint64_t{1} << precision_bits_),
      counts_(static_cast<size_t>(64 - precision_bits_ + 1) * sub_buckets_, 0) {}

size_t Histogram::BucketIndex(uint64_t value) const {
  const int msb = 63 - std::countl_zero(value | 1);
  const int e = std::max(0, msb - precision_bits_);
  return static_cast<size_t>(e) * sub_buckets_ + static_cast<size_t>(value >> e);
}

uint64_t Histogram::BucketLow(size_t index) const {
  if (index < 2 * sub_buckets_) return index;
  const uint64_t e = index / sub_buckets_ - 1;
  const uint64_t sub = index - e * sub_buckets_;  // in [M, 2M)
  return sub << e;
}

uint64_t Histogram::BucketHigh(size_t index) const {
  if (index < 2 * sub_buckets_) return index;
  const uint64_t e = index / sub_buckets_ - 1;
  return BucketLow(index) + ((uint64_t{1} << e) - 1);
}

void Histogram::RecordN(uint64_t value, uint64_t n) {
  if (n == 0) return;
  counts_[BucketIndex(value)] += n;
  count_ += n;
  sum_ += value * n;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void Histogram::Merge(const Histogram& other) {
  assert(other.precision_bits_ == precision_bits_);
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::Reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  sum_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
}

uint64_t Histogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(BucketHigh(i), min_, max_);
  }
  return max_;
}

}  // namespace tokenstore::bench
