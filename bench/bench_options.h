// token-bench's command line, parsed and validated without side effects (tested without a
// cluster). main() runs what it returns.
//
//   token-bench (--config FILE | --etcd HOST:PORT[,HOST:PORT...]) [--clients N] [--conns C]
//               [--duration S | --ops N] [--warmup S] [--workload write|read|mixed]
//               [--read-ratio F] [--tokens K] [--cold-tokens C | --zipf THETA]
//               [--no-initial-writes] [--range R] [--timeout S]
//               [--seed N] [--json]
//   token-bench hash [--threads 1,2] [--seconds S] [--json]
//   token-bench floor [--seconds S] [--json]
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "common/cli_exit.h"

namespace tokenstore::bench {

enum class Workload { kWrite, kRead, kMixed };
const char* WorkloadName(Workload w);  // "write", "read", "mixed"

struct LoadOptions {
  std::string config_path;                  // token store: the cluster's YAML
  std::vector<std::string> etcd_endpoints;  // etcd: host:port of each member
  int clients = 1;        // closed-loop client threads
  int conns = 0;          // connections per node; 0: one per client (no sharing)
  double duration_s = 10;
  uint64_t ops = 0;       // > 0: measure this many operations instead of a duration
  double warmup_s = 1;
  Workload workload = Workload::kMixed;
  double read_ratio = 0.9;  // effective: 1 for read, 0 for write
  size_t tokens = 0;        // 0: every token of the config (etcd: 16 keys)
  // > 0: the last `cold_tokens` of the tokens are only read (written once, before the
  // warm-up, and never since) and the others only written, so every read finds a value
  // written long ago. 0: every token both read and written.
  size_t cold_tokens = 0;
  // > 0: tokens chosen by a Zipfian law of this exponent (bench/zipf.h, e.g. 0.99 as YCSB)
  // instead of uniformly. Not with cold_tokens.
  double zipf = 0;
  // false: no write of every token before the warm-up (the cluster was filled already, e.g.
  // by scripts/scale.sh: a million initial writes one at a time would take minutes).
  bool initial_writes = true;
  uint64_t range = 16;      // high - low of each write
  double timeout_s = 10;    // deadline of each operation
  uint64_t seed = 0;        // 0: random
  bool json = false;

  // Token store only: how operations travel. kUnary: one gRPC call per operation with the
  // raw stubs; kSession: the client library (TokenClient) with its session transport, one
  // stream per node and TokenClient, shared by the clients that share the connection.
  enum class Api { kUnary, kSession };
  Api api = Api::kUnary;

  bool etcd() const { return !etcd_endpoints.empty(); }
  const char* system() const { return etcd() ? "etcd" : "tokenstore"; }
};

struct HashOptions {
  std::vector<unsigned> threads{1};
  double seconds = 2;
  bool json = false;
};

// token-bench floor: what this machine's disk and loopback gRPC cost at least (bench/floor.h).
struct FloorOptions {
  double seconds = 2;  // measured per measure, after a short warm-up
  bool json = false;
};

// Parsing ended the program: print `out` to stdout and `err` to stderr, exit with `code`
// (0 after --help, 2 for a bad command line).
using BenchCommand = std::variant<LoadOptions, HashOptions, FloorOptions, CliExit>;
BenchCommand ParseBenchCommandLine(int argc, const char* const* argv);

}  // namespace tokenstore::bench
