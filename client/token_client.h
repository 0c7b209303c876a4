// TokenClient: the client library of the token store (SPEC section 3). It knows the
// replication scheme and sends each operation where it belongs:
//   - write, create, drop go to the token's writer (or the pinned node), one attempt with the
//     overall timeout. They are never retried: a write that timed out may still take effect,
//     and sending it again could apply it twice, around another client's write.
//   - read goes to a random reader (or the pinned node). When that reader has not answered
//     within the per-attempt timeout, refused the connection or was at its concurrency limit
//     (RESOURCE_EXHAUSTED), another reader not tried yet is asked too, then the ones that
//     failed again, until the overall timeout. An
//     attempt that is merely slow is not cancelled: a read of a large range may need longer
//     than one attempt to hash, and the first answer from any reader wins. Any other error
//     (not a reader, dropped token, ...) is returned at once.
// A token that is not in the configuration is NOT_FOUND before any network call. Every
// error names the token, the node(s) and what to do.
//
// Thread-safety: a TokenClient is safe for concurrent use from many threads; its channels
// (and, with ClientOptions::Transport::kSession, its streams) are shared between calls. Each
// operation blocks the calling thread until it has an outcome or its timeout passes; with the
// session transport, operations of many threads are in flight at once on one stream per node.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "common/mutex.h"
#include "common/status.h"
#include "config/cluster_config.h"
#include "proto/security.h"

// Declared only: the generated protobuf code (proto/client.proto) and the transports stay out
// of this header, so a program using the library needs neither.
namespace tokenstore::v1 {
class SessionOp;
class SessionResult;
}  // namespace tokenstore::v1

namespace tokenstore {

class NodeTransport;

struct ClientOptions {
  // Bound on a whole operation, failovers included.
  std::chrono::milliseconds timeout{10'000};
  // How long a read waits for one reader before it asks another one too.
  std::chrono::milliseconds attempt_timeout{3'000};
  // When set, every operation goes to this node (canonical access point) and nowhere else.
  std::optional<std::string> node;
  // Seeds the choice of reader; unset: a random seed.
  std::optional<uint64_t> seed;
  // Plaintext, or mutual TLS with this client's certificate.
  Security security;
  // How operations travel (client/node_transport.h): kSession shares one open stream per
  // node among all the threads using this client, and is cheaper per operation; kUnary
  // makes one gRPC call per operation.
  enum class Transport { kUnary, kSession };
  Transport transport = Transport::kUnary;
};

struct WriteResult {
  std::string id;
  uint64_t ts = 0;
  std::optional<uint64_t> partial;  // absent when low == mid
  uint64_t partial_x = 0;           // meaningful only with partial
  std::string node;                 // the node that answered
};

struct ReadResult {
  std::string id;
  uint64_t ts = 0;
  bool defined = false;  // false: never written or reset by create; the fields below are empty
  std::string name;
  uint64_t low = 0;
  uint64_t mid = 0;
  uint64_t high = 0;
  std::optional<uint64_t> partial;  // absent when low == mid (or undefined)
  uint64_t partial_x = 0;
  std::optional<uint64_t> final;  // absent only when undefined
  uint64_t final_x = 0;
  std::string node;        // the reader that answered
  bool fast_path = false;  // the reader's majority agreed; no write-back was needed
};

// Result of create and drop.
struct AckResult {
  std::string id;
  uint64_t ts = 0;
  std::string node;
};

class TokenClient {
 public:
  // Keeps a copy of `config`.
  TokenClient(const ClusterConfig& config, ClientOptions options);
  ~TokenClient();
  TokenClient(const TokenClient&) = delete;
  TokenClient& operator=(const TokenClient&) = delete;

  StatusOr<WriteResult> Write(std::string_view id, std::string_view name, uint64_t low,
                              uint64_t mid, uint64_t high);
  StatusOr<ReadResult> Read(std::string_view id);
  // Resets the token to undefined.
  StatusOr<AckResult> Create(std::string_view id);
  // Writes a tombstone: reads and writes then answer NOT_FOUND until Create.
  StatusOr<AckResult> Drop(std::string_view id);

  const ClientOptions& options() const { return options_; }

 private:
  struct ReadRace;

  // The token's replication entry, or NOT_FOUND naming the configuration.
  StatusOr<const TokenReplication*> Lookup(std::string_view id) const;
  // Where writes, creates and drops of `token` go.
  const std::string& WriterOf(const TokenReplication& token) const;
  // Turns a failed writer-side call into a Status a person can act on.
  Status WriterError(std::string_view op, const TokenReplication& token, const std::string& node,
                     const grpc::Status& st) const;
  StatusOr<ReadResult> ReadPinned(const TokenReplication& token, const std::string& node);
  StatusOr<ReadResult> ReadWithFailover(const TokenReplication& token);
  // Runs `op` at `node` until it has an outcome; the deadline is the client's timeout.
  grpc::Status Call(const std::string& node, v1::SessionOp op, v1::SessionResult* result);

  const ClusterConfig config_;
  const ClientOptions options_;
  const std::unique_ptr<NodeTransport> transport_;

  Mutex rng_mu_;
  std::mt19937_64 rng_ GUARDED_BY(rng_mu_);
};

// How long a read leaves a reader alone after its `failures`-th attempt that failed fast
// (refused, unreachable, busy): 100 ms, doubled per failure, at most 1 s, so that a cluster
// that is down is not hammered in a tight loop until the deadline. REQUIRES: failures >= 1.
std::chrono::milliseconds ReadRetryPause(int failures);

}  // namespace tokenstore
