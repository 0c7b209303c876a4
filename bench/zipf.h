// Skewed choice of tokens for token-bench --zipf: a Zipfian distribution over ranks 0..n-1
// (rank r drawn with probability proportional to 1 / (r + 1)^theta), computed as in YCSB's
// ZipfianGenerator (Gray et al., "Quickly generating billion-record synthetic databases",
// SIGMOD 1994), then scrambled by a hash so that the hot tokens are spread over the config's
// entries (and their writers) instead of being its first ones.
//
// Thread-safety: immutable after construction; Next() takes the caller's generator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>

namespace tokenstore::bench {

class ZipfianChooser {
 public:
  // REQUIRES: n >= 1, 0 < theta < 1. O(n) to construct (the normalizing sum).
  ZipfianChooser(uint64_t n, double theta);

  // The rank drawn, before scrambling (0 is the most frequent).
  uint64_t NextRank(std::mt19937_64& rng) const;
  // The token index drawn: the rank scrambled by a 64-bit hash, modulo n.
  uint64_t Next(std::mt19937_64& rng) const { return Scramble(NextRank(rng)); }
  uint64_t Scramble(uint64_t rank) const;

 private:
  uint64_t n_;
  double theta_;
  double alpha_;
  double zetan_;
  double eta_;
};

}  // namespace tokenstore::bench
