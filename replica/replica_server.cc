#include "replica/replica_server.h"

#include <thread>

#include "replica/executor.h"
#include "replica/grpc_peer_transport.h"
#include "replica/op_log.h"
#include "replica/services.h"
#include "storage/rocksdb_register_store.h"

namespace tokenstore {

ReplicaServer::ReplicaServer(ClusterConfig config, ReplicaServerOptions options)
    : config_(std::move(config)), options_(std::move(options)) {
  options_.core.self = options_.listen;
}

ReplicaServer::~ReplicaServer() { Shutdown(); }

Status ReplicaServer::Start() {
  if (config_.TokensOf(options_.listen).empty()) {
    return Status::FailedPrecondition(
        "--listen " + options_.listen + " is not named in " + config_.source +
        " as the writer or a reader of any token; nodes in the file: " + [&] {
          std::string all;
          for (const auto& n : config_.Nodes()) all += (all.empty() ? "" : ", ") + n;
          return all;
        }());
  }
  RocksDbOptions db_options;
  db_options.create_if_missing = true;
  StatusOr<std::unique_ptr<RocksDbRegisterStore>> store =
      RocksDbRegisterStore::Open(options_.data_dir, db_options);
  if (!store.ok()) return store.status();
  store_ = std::move(store).value();

  GrpcPeerTransportOptions transport_options;
  transport_options.batch = options_.peer_batching;
  transport_ = std::make_unique<GrpcPeerTransport>(grpc::InsecureChannelCredentials(),
                                                   transport_options);
  storage_pool_ = std::make_unique<ThreadPool>(options_.storage_threads, "ts-storage");
  const unsigned hash_threads =
      options_.hash_threads ? options_.hash_threads : std::max(1u, std::thread::hardware_concurrency());
  hash_pool_ = std::make_unique<ThreadPool>(hash_threads, "ts-hash");
  core_ = std::make_unique<ReplicaCore>(config_, options_.core, *store_, *transport_,
                                        *storage_pool_, *hash_pool_);
  if (Status st = core_->Start(); !st.ok()) {
    Shutdown();
    return st;
  }
  op_log_ = std::make_unique<OpLog>(options_.op_log, options_.listen, core_->token_ids());
  token_service_ = std::make_unique<TokenServiceImpl>(*core_, *op_log_);
  replica_service_ = std::make_unique<ReplicaServiceImpl>(*core_, *storage_pool_);
  admin_service_ = std::make_unique<AdminServiceImpl>(*core_, *store_, *storage_pool_);

  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(options_.listen, grpc::InsecureServerCredentials(), &bound_port);
  builder.RegisterService(token_service_.get());
  builder.RegisterService(replica_service_.get());
  builder.RegisterService(admin_service_.get());
  server_ = builder.BuildAndStart();
  if (!server_ || bound_port == 0) {
    server_.reset();
    Shutdown();
    return Status::Unavailable("cannot listen on " + options_.listen +
                               ": the address is in use or not local to this machine");
  }
  running_ = true;
  return Status::Ok();
}

void ReplicaServer::Shutdown() {
  if (server_) {
    // Stop accepting; give in-flight calls the grace period, then cancel the rest (parked
    // calls are cancelled too, which releases them).
    server_->Shutdown(std::chrono::system_clock::now() + options_.shutdown_grace);
    server_->Wait();
    server_.reset();
  }
  // Outgoing calls fail from here on; the running ones are cancelled and waited for.
  if (transport_) transport_->Shutdown();
  // Drain background work (it may still touch the core and the store).
  storage_pool_.reset();
  hash_pool_.reset();
  if (transport_) transport_->Shutdown();  // calls started by drained tasks
  admin_service_.reset();
  replica_service_.reset();
  token_service_.reset();
  core_.reset();
  transport_.reset();
  op_log_.reset();
  store_.reset();  // closes RocksDB: everything acknowledged was already synced
  running_ = false;
}

}  // namespace tokenstore
