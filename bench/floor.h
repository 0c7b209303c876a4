// token-bench floor: what one operation costs at least on this machine, measured.
//
// Each measure runs for FloorOptions::seconds after a short warm-up, in a closed loop (each
// thread starts its next operation when the previous one returns), and keeps the latency of
// every operation in a Histogram:
//
//   sync_write_N      a synced ~100-byte RocksDB write (WriteOptions::sync) with the register
//                     store's own options (storage/rocksdb_options.h), N = 1, 2, 8 concurrent
//                     writers, each its own key (RocksDB group-commits concurrent writers);
//                     a fresh database in a temporary directory under /tmp, removed after
//   unary_callback_N  an empty unary Ping from a synchronous stub over one channel to an
//                     in-process server on 127.0.0.1 (port 0, read back) using gRPC's
//                     callback API, N = 1 or 16 client threads sharing that channel
//   unary_async_N     the same against a server using the completion-queue async API (one
//                     completion queue and one thread per core, a CallData state machine
//                     per call)
//   stream_1          one empty message each way on an open bidirectional stream (ping-pong)
//                     to the callback server
//
// and derives the floor of an operation at one client from the p50s:
//
//   write = client round trip + peer round trip + one synced write (the peer's: the writer's
//           own sync runs while the peer round trip is under way)
//   read  = client round trip + peer round trip
//
// with the round trip of each transport: unary (callback and async server; "unary" is the
// lower of the two) and stream.
//
// Thread-safety: RunFloor runs its own threads and servers; call it from one thread.
#pragma once

#include <string>
#include <vector>

#include "bench/bench_options.h"
#include "bench/histogram.h"
#include "common/json.h"
#include "common/status.h"

namespace tokenstore::bench {

struct FloorMeasure {
  std::string name;     // e.g. "sync_write_1", "unary_async_16"
  std::string what;     // a person's description
  int concurrency = 1;  // closed-loop threads
  double seconds = 0;   // measured wall time
  Histogram latency;    // nanoseconds per operation
  double ops_per_s() const { return seconds > 0 ? latency.count() / seconds : 0; }
  double p50_us() const { return latency.Percentile(0.5) / 1e3; }
};

// The floor of a write and of a read at one client over one transport, in microseconds.
struct Floor {
  std::string transport;  // "unary_callback", "unary_async", "unary" (the lower), "stream"
  std::string api;        // the server API its round trip was measured with
  double round_trip_us = 0;
  double sync_write_us = 0;
  double write_us() const { return 2 * round_trip_us + sync_write_us; }
  double read_us() const { return 2 * round_trip_us; }
};

struct FloorResult {
  FloorOptions options;
  std::vector<FloorMeasure> measures;  // in the order of the list above
  std::vector<Floor> floors;           // unary_callback, unary_async, unary, stream

  const FloorMeasure* Find(const std::string& name) const;
};

StatusOr<FloorResult> RunFloor(const FloorOptions& options);

// Derives the floors from the measures (sync_write_1, unary_callback_1, unary_async_1,
// stream_1); public for tests.
std::vector<Floor> DeriveFloors(const FloorResult& r);

extern const char kWriteFloorFormula[];
extern const char kReadFloorFormula[];

// A person's summary, several lines: a table of the measures, the formulas, the floors.
std::string FormatFloorResult(const FloorResult& r);
// One JSON object: seconds, formulas, "measures" {name: {what, concurrency, ops, seconds,
// ops_per_s, p50_us, p99_us, mean_us}}, "floors" {transport: {api, round_trip_us,
// sync_write_us, write_us, read_us}}.
JsonObject FloorResultJson(const FloorResult& r);

}  // namespace tokenstore::bench
