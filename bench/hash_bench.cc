#include <chrono>

#include "bench/load.h"
#include "hash/token_hash.h"

namespace tokenstore::bench {

std::vector<HashResult> RunHashBench(const HashOptions& options) {
  using Clock = std::chrono::steady_clock;
  constexpr uint64_t kChunk = uint64_t{1} << 22;
  std::vector<HashResult> results;
  for (unsigned threads : options.threads) {
    MinHashOptions mh;
    mh.max_threads = threads;
    mh.parallel_threshold = threads > 1 ? uint64_t{1} << 16 : UINT64_MAX;
    HashResult r;
    r.threads = threads;
    const Clock::time_point start = Clock::now();
    const Clock::time_point end =
        start + std::chrono::duration_cast<Clock::duration>(
                    std::chrono::duration<double>(options.seconds));
    uint64_t begin = 0;
    uint64_t sink = 0;
    while (Clock::now() < end) {
      // A one-block name, as in hash_benchmark ("bench-token" + " " + x fits in 55 bytes).
      auto m = MinHash("bench-token", begin, begin + kChunk, {}, mh);
      if (m.ok() && *m) sink ^= (*m)->value;
      begin += kChunk;
      r.hashes += kChunk;
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (sink == 1) r.hashes += 0;  // keeps the result alive
    results.push_back(r);
  }
  return results;
}

}  // namespace tokenstore::bench
