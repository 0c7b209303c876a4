// The composition root of a replica node: opens the store, wires the protocol core to gRPC
// and runs the server. token-replica's main() and the in-process cluster tests both use it.
//
// Thread-safety: Start() and Shutdown() from one thread; the running server is concurrent.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "common/status.h"
#include "config/cluster_config.h"
#include "replica/replica_core.h"

namespace tokenstore {

class GrpcPeerTransport;
class OpLog;
class RegisterStore;
class ThreadPool;
class TokenServiceImpl;
class ReplicaServiceImpl;
class AdminServiceImpl;

struct ReplicaServerOptions {
  std::string listen;    // canonical access point, as in the configuration
  std::string data_dir;  // RocksDB directory; created on first start
  ReplicaOptions core;   // core.self is set from `listen`
  bool op_log = true;    // one JSON line per completed client operation on stdout
  unsigned storage_threads = 16;  // concurrent synced stores (RocksDB groups their commits)
  unsigned hash_threads = 0;      // 0: one per core
  bool peer_batching = true;      // false: one unary RPC per peer call (for comparisons)
  std::chrono::milliseconds shutdown_grace{3000};  // in-flight calls get this long to finish
};

class ReplicaServer {
 public:
  ReplicaServer(ClusterConfig config, ReplicaServerOptions options);
  ~ReplicaServer();

  // Opens the data directory, starts serving on options.listen. On error nothing is left
  // running and the message says what and where.
  Status Start();
  // Stops accepting, lets in-flight calls finish within the grace period (then cancels
  // them), waits for every outgoing call and background task, and closes the store.
  void Shutdown();

  ReplicaCore& core() { return *core_; }

 private:
  ClusterConfig config_;
  ReplicaServerOptions options_;
  std::unique_ptr<RegisterStore> store_;
  std::unique_ptr<GrpcPeerTransport> transport_;
  std::unique_ptr<ThreadPool> storage_pool_;
  std::unique_ptr<ThreadPool> hash_pool_;
  std::unique_ptr<ReplicaCore> core_;
  std::unique_ptr<OpLog> op_log_;
  std::unique_ptr<TokenServiceImpl> token_service_;
  std::unique_ptr<ReplicaServiceImpl> replica_service_;
  std::unique_ptr<AdminServiceImpl> admin_service_;
  std::unique_ptr<grpc::Server> server_;
  bool running_ = false;
};

}  // namespace tokenstore
