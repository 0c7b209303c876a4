// A fixed-bucket latency histogram that any number of threads record into without locks,
// for the protocol core and the store to expose what they measure. It knows nothing of any
// metrics library: an exporter reads a Snapshot and turns it into whatever it serves.
//
// The buckets are the same for every histogram (kBoundsSeconds, 100 µs to 60 s, about
// 2.5x apart) plus one for everything above the last bound; a value is counted in the first
// bucket whose upper bound is >= the value.
//
// Thread-safety: Record() from any threads; Read() concurrently with them. A snapshot's
// counts are each exact at some instant during Read(); `sum_seconds` may lag them by the
// recordings that raced with the read.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace tokenstore {

class LatencyHistogram {
 public:
  static constexpr std::array<double, 18> kBoundsSeconds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
      0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
  static constexpr size_t kBuckets = kBoundsSeconds.size() + 1;  // the last is "above 60 s"

  struct Snapshot {
    std::array<uint64_t, kBuckets> counts{};  // per bucket, not cumulative
    uint64_t count = 0;                       // sum of counts
    double sum_seconds = 0;
  };

  // Negative durations count as zero.
  void Record(std::chrono::nanoseconds d);
  Snapshot Read() const;

 private:
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace tokenstore
