// Throughput of the token hash engine.
//
//   BM_HashRate/<impl>/<name length>  hashes per second on one thread (items_per_second),
//                                      SHA-NI and portable. Name length 8 keeps the tail in
//                                      one block; 50 needs two blocks per hash.
//   BM_MinHashThreads/<threads>        MinHash over a large range with 1 and 2 threads
//                                      (wall-clock time), for the scaling figure.
//   BM_TokenHashSingle                 the per-call slow path, for comparison.
//
// Set TOKENSTORE_SHA256=portable to make MinHash()/TokenHash() (the last two) use the
// portable code; BM_HashRate picks its implementation explicitly.
#include <cstdint>
#include <string>

#include "benchmark/benchmark.h"
#include "hash/sha256.h"
#include "hash/token_hash.h"
#include "hash/token_hash_internal.h"

namespace tokenstore {
namespace {

using hash_internal::Sha256Impl;

// Ten-digit x values: a realistic size for counters, and constant across a run.
constexpr uint64_t kFirstX = 1'000'000'000;

void BM_HashRate(benchmark::State& state, Sha256Impl impl) {
  if (hash_internal::ResolveSha256Impl(impl) != impl) {
    state.SkipWithError("this CPU has no SHA extensions");
    return;
  }
  const std::string name(static_cast<size_t>(state.range(0)), 't');
  constexpr uint64_t kRange = uint64_t{1} << 20;
  MinHashOptions options;
  options.max_threads = 1;
  uint64_t begin = kFirstX;
  for (auto _ : state) {
    auto result = hash_internal::MinHashWith(impl, name, begin, begin + kRange, {}, options);
    benchmark::DoNotOptimize(result);
    begin += kRange;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRange));
  state.SetLabel(hash_internal::Sha256ImplName(impl));
}
BENCHMARK_CAPTURE(BM_HashRate, sha_ni, Sha256Impl::kShaNi)->Arg(8)->Arg(50);
BENCHMARK_CAPTURE(BM_HashRate, portable, Sha256Impl::kPortable)->Arg(8)->Arg(50);

void BM_MinHashThreads(benchmark::State& state) {
  constexpr uint64_t kRange = uint64_t{1} << 25;
  MinHashOptions options;
  options.max_threads = static_cast<unsigned>(state.range(0));
  options.parallel_threshold = 0;
  uint64_t begin = kFirstX;
  for (auto _ : state) {
    auto result = MinHash("tokenname", begin, begin + kRange, {}, options);
    benchmark::DoNotOptimize(result);
    begin += kRange;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRange));
  state.SetLabel(Sha256ImplementationName());
}
BENCHMARK(BM_MinHashThreads)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_TokenHashSingle(benchmark::State& state) {
  uint64_t x = kFirstX;
  for (auto _ : state) {
    benchmark::DoNotOptimize(TokenHash("tokenname", x++));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_TokenHashSingle);

}  // namespace
}  // namespace tokenstore

BENCHMARK_MAIN();
