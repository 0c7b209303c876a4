// TokenClient: the client library of the token store (SPEC section 3). It knows the
// replication scheme and sends each operation where it belongs:
//   - write, create, drop go to the token's writer (or the pinned node), with the overall
//     timeout. A failure whose outcome may be unknown (timeout, broken connection, any error
//     but the two refusals below) is never retried: a write that timed out may still take
//     effect, and sending it again could apply it twice, around another client's write,
//     breaking linearizability.
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
// Online reconfiguration (docs/reconfiguration.md): two refusals mean the node started
// nothing for the operation, so it is sent again as it is, for every kind of operation:
//   - ABORTED: the node is sealed for the token (being reconfigured). Retried at the same
//     node after 100 ms, doubling to 1 s, until the timeout (a read may ask other readers
//     meanwhile); ABORTED if the token is still sealed then (nothing was done).
//   - FAILED_PRECONDITION with the node's configuration of the token attached, at an epoch
//     above this client's view of the token (the node has a newer one, or left the token for
//     it): the client adopts it for that token from then on (Lookup consults these overrides
//     before the file), calls ClientOptions::on_config_change once, and sends the operation
//     at once to the new writer or readers (the pinned node stays the target); at most 3
//     moves per operation.
// An attached configuration at a LOWER epoch is a node that missed the change: a read treats
// it as a failed reader and asks the others; a write (or pinned read) fails with
// FAILED_PRECONDITION saying the node has not learned the newer configuration yet. Equal
// epochs with other replicas are the files disagreeing (SPEC section 10): an error.
//
// Installed (`cmake --install`): #include <tokenstore/client/token_client.h> and link
// tokenstore::client (find_package(tokenstore)) or `pkg-config --cflags --libs tokenstore`;
// C++20. examples/client is a whole program.
//
//   StatusOr<ClusterConfig> config = LoadClusterConfig("cluster.yaml");  // the nodes' file
//   TokenClient client(*config, ClientOptions{});
//   StatusOr<WriteResult> w = client.Write("1", "abc", 5, 25, 100);
//   StatusOr<ReadResult> r = client.Read("1");
//   if (!r.ok()) { ... r.status().code() ... }
//
// Thread-safety: a TokenClient is safe for concurrent use from many threads; its channels
// (and, with ClientOptions::Transport::kSession, its streams) are shared between calls, and
// every member function may be called at once from any number of threads. Only the
// destructor must not run while an operation is still in progress on another thread. The
// result types and ClientOptions are plain values.
//
// What blocks, and for how long:
//   - The constructor does no network I/O and returns at once: channels connect on the
//     first operation that needs them (and reconnect on their own after a failure).
//   - Write, Create, Drop and Read block the calling thread until the operation has an
//     outcome, at most ClientOptions::timeout (default 10 s) and a few milliseconds more to
//     stop what is still running. A token that is not configured fails at once; so does an
//     operation at a node that refuses the connection, except a read without a pinned node,
//     which tries the other readers and then the failed ones again (pausing 100 ms, doubling
//     to 1 s, between tries of one reader) until the timeout. A node caps an operation's deadline at its
//     --max-op-seconds (default 60 s) whatever the client's timeout.
//   - With the session transport, operations of many threads are in flight at once on one
//     stream per node; each call still blocks only its own thread.
//   - The destructor of a client with the session transport waits until its streams have
//     ended (it cancels them first; this is quick).
//
// Errors: each operation returns its result or a Status whose code says what happened. The
// message names the token, the node(s) and what to do; it is for people, so decide on code():
//   NOT_FOUND           the token is not in this client's configuration (no network call)
//                       or not in the node's, or it was dropped (Create it before writing or
//                       reading it).
//   INVALID_ARGUMENT    the node refused the request: empty or too long id or name,
//                       low > mid, mid >= high, high - low above the node's --max-range.
//   FAILED_PRECONDITION the pinned node (ClientOptions::node) is not the token's writer (write,
//                       create, drop) or one of its readers (read); or this client's
//                       configuration gives the token other replicas than the node's ("the
//                       client's configuration differs"), or the token's replicas disagree:
//                       every node and client must use the same file; or the node "has not
//                       learned the newer configuration" of a reconfigured token yet.
//   DEADLINE_EXCEEDED   no outcome within ClientOptions::timeout: the writer, the readers or
//                       too many of the token's replicas are down, slow or crash-stopped for
//                       this token. A write, create or drop may still take effect.
//   UNAVAILABLE         the node(s) refused the connection or could not be reached, or the TLS
//                       handshake failed (for a read: every reader tried, until the timeout);
//                       or a node "does not serve ... yet": it is starting or rebuilding. Retry
//                       later. A write sent before its stream broke may still take effect.
//   RESOURCE_EXHAUSTED  the node runs as many operations as its --max-inflight (or per-token)
//                       limit allows, or the request exceeds its --max-message-bytes (a read
//                       asks another reader first); retry later.
//   UNAUTHENTICATED,    (TLS) this client presented no certificate with a tokenstore identity
//   PERMISSION_DENIED   / its certificate may not make this call.
//   CANCELLED           the call was cancelled, e.g. by a node that was shutting down.
//   INTERNAL, DATA_LOSS, UNKNOWN   a fault on the node (e.g. its store); see the node's log.
//   ABORTED             the token stayed sealed for a reconfiguration until the timeout
//                       (retried until then); nothing was done: retry later.
// A write whose outcome is unknown (DEADLINE_EXCEEDED, UNAVAILABLE) is not retried by the
// library: read the token to see whether it took effect before writing it again.
// token-client maps these to exit codes (client/exit_codes.h): 3 NOT_FOUND, 4
// DEADLINE_EXCEEDED or UNAVAILABLE, 1 the others.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

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
  // Called when a node told this client that a token moved to a configuration newer than
  // the client's (online reconfiguration, docs/reconfiguration.md) and the client adopted it:
  // once per token and newer epoch adopted, whatever the number of threads that learn it.
  // `newer` stays valid for the client's life. Runs on the thread of the operation that
  // learned it (possibly several threads at once for different tokens), holding none of the
  // locks that guard the client's shared state (a read's own answers wait for it, so it must
  // not block for long). token-client prints that its file is older.
  std::function<void(const std::string& token, const ReplicaSet& newer)> on_config_change;
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
  using Clock = std::chrono::steady_clock;

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

  // The token's replication: a newer configuration adopted for it (Adopt) if any, else the
  // entry of the configuration file; NOT_FOUND naming the file when it has none.
  StatusOr<TokenReplication> Lookup(std::string_view id) const;
  // What a node's refusal said about the token's configuration compared with `token`'s.
  enum class ViewCheck {
    kNone,    // no configuration attached, or one that is not the token's or not valid
    kNewer,   // adopted: `*token` is now the newer configuration
    kOlder,   // the node is behind (its epoch is lower): `*node_epoch` says which
    kSameEpoch,  // same epoch, other replicas: the files differ (SPEC section 10)
  };
  // Looks at the configuration `result` carries (FAILED_PRECONDITION refusals only). When
  // its epoch is above `token`'s, installs it as the token's override (unless another
  // thread installed one at least as new meanwhile, which is then used), reports it through
  // on_config_change if this call installed it, and points `*token` at it.
  ViewCheck Adopt(const grpc::Status& st, const v1::SessionResult& result,
                  TokenReplication* token, uint64_t* node_epoch);
  // An interned copy of `set`: equal sets share one, which is never freed before the client.
  const ReplicaSet* Intern(ReplicaSet set) REQUIRES(overrides_mu_);
  // Where writes, creates and drops of `token` go.
  const std::string& WriterOf(const TokenReplication& token) const;
  // Turns a failed writer-side call into a Status a person can act on.
  Status WriterError(std::string_view op, const TokenReplication& token, const std::string& node,
                     const grpc::Status& st) const;
  // A write, create or drop (`build` fills the request for a token's view) at the writer or
  // the pinned node, retried only when nothing was started: ABORTED (sealed), or a newer
  // configuration adopted. `finish` turns the answer into the result.
  template <typename Result, typename Build, typename Finish>
  StatusOr<Result> WriterOp(std::string_view op_name, std::string_view id, Build build,
                            Finish finish);
  StatusOr<ReadResult> ReadPinned(TokenReplication token, const std::string& node,
                                  Clock::time_point deadline);
  // One race among `token`'s readers until `deadline`. When a reader's refusal carried a
  // newer configuration, it is adopted and `*moved` is set: the caller reads again there.
  StatusOr<ReadResult> ReadWithFailover(const TokenReplication& token,
                                        Clock::time_point deadline, bool* moved);
  // Runs `op` at `node` until it has an outcome, at most until `deadline`.
  grpc::Status Call(const std::string& node, v1::SessionOp op, Clock::time_point deadline,
                    v1::SessionResult* result);

  const ClusterConfig config_;
  const ClientOptions options_;
  const std::unique_ptr<NodeTransport> transport_;

  Mutex rng_mu_;
  std::mt19937_64 rng_ GUARDED_BY(rng_mu_);

  // Newer configurations learned from nodes, by token. The sets are interned (many tokens
  // of one entry move together and share one) and live as long as the client: a
  // TokenReplication handed out by Lookup may point to one while another thread replaces
  // the token's override.
  mutable Mutex overrides_mu_;
  std::map<std::string, const ReplicaSet*, std::less<>> overrides_ GUARDED_BY(overrides_mu_);
  std::map<uint64_t, std::vector<std::unique_ptr<ReplicaSet>>> interned_
      GUARDED_BY(overrides_mu_);  // by fingerprint
};

// How long a read leaves a reader alone after its `failures`-th attempt that failed fast
// (refused, unreachable, busy): 100 ms, doubled per failure, at most 1 s, so that a cluster
// that is down is not hammered in a tight loop until the deadline. REQUIRES: failures >= 1.
std::chrono::milliseconds ReadRetryPause(int failures);

}  // namespace tokenstore
