// The composition root of a replica node: opens the store, wires the protocol core to gRPC
// and runs the server. token-replica's main() and the in-process cluster tests both use it.
//
// Thread-safety: Start() and Shutdown() from one thread; the running server is concurrent.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "common/mutex.h"
#include "common/status.h"
#include "config/cluster_config.h"
#include "proto/security.h"
#include "replica/authorizer.h"
#include "replica/call_stats.h"
#include "replica/replica_core.h"

namespace tokenstore {

class GrpcPeerTransport;
class MetricsEndpoint;
struct Readiness;
class OpLog;
class RegisterStore;
class ThreadPool;
class TokenServiceImpl;
class ReplicaServiceImpl;
class AdminServiceImpl;

// The address a node binds: `bind` ("<ip>:<port>", e.g. 0.0.0.0:50051) in canonical form,
// or `listen` (its identity in the configuration) when `bind` is empty. INVALID_ARGUMENT
// names --bind when it is not an access point.
StatusOr<std::string> BindAddressFor(const std::string& listen, std::string_view bind);

struct ReplicaServerOptions {
  std::string listen;    // canonical access point, as in the configuration: the identity
  // The address the gRPC server binds (canonical); empty: `listen`. It may differ from
  // `listen` (a wildcard, or the machine's own address behind a forwarded one); peers and
  // clients still reach the node at `listen`.
  std::string bind;
  std::string data_dir;  // RocksDB directory; created on first start
  ReplicaOptions core;   // core.self is set from `listen`
  bool op_log = true;    // one JSON line per completed client operation on stdout
  unsigned storage_threads = 16;  // concurrent synced stores (RocksDB groups their commits)
  unsigned hash_threads = 0;      // threads hashing at once, all operations together; 0: one per core
  bool peer_batching = true;      // false: one unary RPC per peer call (for comparisons)
  std::chrono::milliseconds shutdown_grace{3000};  // in-flight calls get this long to finish
  // Plaintext, or mutual TLS with this node's certificate (its common name must be
  // node:<listen>); with TLS, calls are authorized by Authorizer.
  Security security;
  // Largest request a client or peer may send; larger ones are refused (RESOURCE_EXHAUSTED)
  // without being read.
  int max_message_bytes = 1 << 20;
  // "<ipv4>:<port>" to serve Prometheus metrics at http://ADDR/metrics (port 0: any free
  // one); empty: no metrics endpoint.
  std::string metrics_listen;
  // Called (from the lifecycle thread) when the node must stop: its data dir cannot be
  // rebuilt safely (replica/node_lifecycle.h). The server keeps running until Shutdown().
  std::function<void(const Status&)> on_fatal;
};

class ReplicaServer {
 public:
  ReplicaServer(ClusterConfig config, ReplicaServerOptions options);
  ~ReplicaServer();

  // Opens the data directory, starts serving on options.bind, or options.listen when that is
  // empty (with gRPC health checking
  // and server reflection) and, when asked, metrics on options.metrics_listen. On error
  // nothing is left running and the message says what and where; ALREADY_EXISTS means
  // another socket holds options.listen or options.metrics_listen (never shared: port reuse
  // is off), so a caller that chose the port may choose another and retry.
  // Health reports SERVING once the node's lifecycle allows (replica/node_lifecycle.h): at
  // once on a current data dir whose peers confirm it, after the rebuild on an empty or
  // restored one. A thread drives the lifecycle until then and logs its progress.
  Status Start();
  // Waits until the node serves, at most `timeout`; false if it did not (or stopped).
  bool WaitServing(std::chrono::milliseconds timeout);
  // The refusal that stopped the lifecycle (OK while none).
  Status fatal() const;
  // Reports NOT_SERVING to health checks, stops accepting, lets in-flight calls finish
  // within the grace period (then cancels them), stops the metrics endpoint, waits for
  // every outgoing call and background task, and closes the store.
  void Shutdown();

  ReplicaCore& core() { return *core_; }
  const CallStats& call_stats() const { return call_stats_; }
  // The port metrics are served on; 0 when there is no metrics endpoint.
  int metrics_port() const;
  // What the metrics endpoint's /readyz says: ready while the node serves (not starting,
  // rebuilding, refused or stopping).
  struct Readiness ReadinessNow() const;

 private:
  ClusterConfig config_;
  ReplicaServerOptions options_;
  std::unique_ptr<RegisterStore> store_;
  const LatencyHistogram* storage_sync_ = nullptr;  // the RocksDB store's, while it is open
  std::unique_ptr<GrpcPeerTransport> transport_;
  std::unique_ptr<ThreadPool> storage_pool_;
  std::unique_ptr<HashThreadBudget> hash_budget_;  // hash_threads: shared by every hash
  std::unique_ptr<ThreadPool> hash_pool_;
  std::unique_ptr<ReplicaCore> core_;
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<OpLog> op_log_;
  std::unique_ptr<TokenServiceImpl> token_service_;
  std::unique_ptr<ReplicaServiceImpl> replica_service_;
  std::unique_ptr<AdminServiceImpl> admin_service_;
  CallStats call_stats_;  // filled by the server's interceptors: outlives server_
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<MetricsEndpoint> metrics_;
  bool running_ = false;

  // The lifecycle driver (DriveLifecycle), until the node serves or stops.
  void DriveLifecycle();
  std::thread lifecycle_thread_;
  mutable Mutex lifecycle_mu_;
  CondVar lifecycle_cv_;
  bool stopping_ GUARDED_BY(lifecycle_mu_) = false;
  Status fatal_ GUARDED_BY(lifecycle_mu_);
};

}  // namespace tokenstore
