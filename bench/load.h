// The closed-loop load generator behind token-bench, and the hash engine measurement.
//
// Load: `clients` threads, each issuing one operation at a time with the synchronous gRPC
// stubs (no client library in between) and starting the next one as soon as the previous
// answered. Connections: `conns` gRPC channels per node, each its own TCP connection (a local
// subchannel pool, so gRPC does not fold equal channels into one); client i uses channel
// i % conns of every node; conns = 0 gives every client its own channels.
//
//   token store: a write goes to the token's writer (name unique per write, [low, high) of
//                size `range`, mid halfway); a read to one of the token's readers, chosen at
//                random per operation.
//   etcd:        a write is a Put of "token/<i>" with the value "<name> <low> <mid> <high>";
//                a read a linearizable Range of that key (serializable = false). Each
//                operation goes to a member chosen at random (as clientv3's round-robin
//                balancer spreads calls; followers forward writes to the leader).
//
// The token of each operation is drawn uniformly from the first `tokens` tokens (with
// `cold_tokens` C > 0: a read from the last C of them, a write from the others, so reads only
// see values written once before the warm-up). Before the warm-up every token is written
// once, so reads find a value. Only operations started after
// the warm-up are measured; errors are counted by status code and kept out of the latency
// histogram.
//
// Thread-safety: each function runs its own threads; call from one thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "bench/bench_options.h"
#include "bench/histogram.h"
#include "common/json.h"
#include "common/status.h"

namespace tokenstore::bench {

struct LoadResult {
  LoadOptions options;  // as run (tokens resolved, conns resolved)
  double seconds = 0;   // measured wall time
  Histogram all, reads, writes;  // latency in nanoseconds, successful operations only
  std::map<std::string, uint64_t> errors;  // status code name -> count
  std::map<std::string, std::string> error_examples;  // status code name -> first message
  uint64_t error_count() const;
  double ops_per_s() const;
};

StatusOr<LoadResult> RunLoad(const LoadOptions& options);

// A person's summary, several lines.
std::string FormatLoadResult(const LoadResult& r);
// One JSON object: system, workload, clients, ops_per_s, p50_ms, p90_ms, p99_ms, p999_ms,
// max_ms, mean_ms, ops, errors, ... and per-kind "read" and "write" objects.
JsonObject LoadResultJson(const LoadResult& r);

struct HashResult {
  unsigned threads = 0;
  double seconds = 0;
  uint64_t hashes = 0;
  double hashes_per_s() const { return seconds > 0 ? hashes / seconds : 0; }
};

// Hashes ranges of 2^22 values with MinHash (max_threads = t) for `seconds`, per thread count.
std::vector<HashResult> RunHashBench(const HashOptions& options);

}  // namespace tokenstore::bench
