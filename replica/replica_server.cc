#include "replica/replica_server.h"

#include <grpc/grpc.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <thread>

#include "common/log.h"

#include "replica/executor.h"
#include "replica/grpc_peer_transport.h"
#include "replica/metrics_exporter.h"
#include "replica/op_log.h"
#include "replica/services.h"
#include "storage/rocksdb_register_store.h"

namespace tokenstore {

namespace {

// The errno of binding a TCP socket to `listen` ("host:port" or "[v6]:port") the way gRPC
// does (SO_REUSEADDR, no SO_REUSEPORT); 0 when it binds, or when the address does not parse
// or resolve (gRPC's own bind then reports it).
int BindErrno(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return 0;
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found) != 0) {
    return 0;
  }
  int error = 0;
  for (addrinfo* a = found; a != nullptr && error == 0; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0) error = errno;
    close(fd);  // never listened: the port is free again at once
  }
  freeaddrinfo(found);
  return error;
}

// ALREADY_EXISTS when another socket holds the address (token-replica exits
// kReplicaExitAddressInUse: a harness can pick another port and retry); UNAVAILABLE otherwise.
// `flag` is the option that named the address.
Status CannotListen(const std::string& listen, int error, const char* flag) {
  std::string why;
  switch (error) {
    case EADDRINUSE:
      return Status::AlreadyExists("cannot listen on " + listen +
                                   ": another process already serves this address (a running "
                                   "token-replica?); stop it or pick another " +
                                   flag);
    case EADDRNOTAVAIL:
      why = "the address is not local to this machine";
      break;
    case 0:
      why = "the address is in use or not local to this machine";
      break;
    default:
      why = std::strerror(error);
  }
  return Status::Unavailable("cannot listen on " + listen + ": " + why);
}

}  // namespace

StatusOr<std::string> BindAddressFor(const std::string& listen, std::string_view bind) {
  if (bind.empty()) return listen;
  StatusOr<std::string> parsed = ParseAccessPoint(bind);
  if (!parsed.ok()) {
    return Status::InvalidArgument("--bind " + parsed.status().message() +
                                   " (expected <ip>:<port>, e.g. 0.0.0.0:50051)");
  }
  return parsed;
}

ReplicaServer::ReplicaServer(ClusterConfig config, ReplicaServerOptions options)
    : config_(std::move(config)), options_(std::move(options)) {
  options_.core.self = options_.listen;
}

ReplicaServer::~ReplicaServer() { Shutdown(); }

Status ReplicaServer::Start() {
  if (config_.CountOf(options_.listen) == 0) {
    return Status::FailedPrecondition(
        "--listen " + options_.listen + " is not named in " + config_.source +
        " as the writer or a reader of any token; nodes in the file: " + [&] {
          std::string all;
          for (const auto& n : config_.Nodes()) all += (all.empty() ? "" : ", ") + n;
          return all;
        }());
  }
  if (std::optional<PeerIdentity> id = options_.security.identity();
      id && !(id->role == PeerRole::kNode && id->name == options_.listen)) {
    return Status::InvalidArgument(
        "--tls-cert is issued to " + id->ToString() + ", but this replica listens as " +
        options_.listen + "; a replica's certificate must name it node:" + options_.listen +
        " (scripts/gen-certs.sh makes one per node)");
  }
  // Refuse a taken address before the data dir is touched (the binds below still decide:
  // another process may take the address in between).
  const std::string bind = options_.bind.empty() ? options_.listen : options_.bind;
  const char* bind_flag = options_.bind.empty() ? "--listen" : "--bind";
  if (int error = BindErrno(bind); error != 0) return CannotListen(bind, error, bind_flag);
  if (int error = options_.metrics_listen.empty() ? 0 : BindErrno(options_.metrics_listen);
      error != 0) {
    return CannotListen(options_.metrics_listen, error, "--metrics-listen");
  }
  RocksDbOptions db_options;
  db_options.create_if_missing = true;
  StatusOr<std::unique_ptr<RocksDbRegisterStore>> store =
      RocksDbRegisterStore::Open(options_.data_dir, db_options);
  if (!store.ok()) return store.status();
  storage_sync_ = &(*store)->sync_latency();
  store_ = std::move(store).value();

  GrpcPeerTransportOptions transport_options;
  transport_options.self = options_.listen;
  transport_options.batch = options_.peer_batching;
  transport_ = std::make_unique<GrpcPeerTransport>(options_.security, transport_options);
  storage_pool_ = std::make_unique<ThreadPool>(options_.storage_threads, "ts-storage");
  const unsigned hash_threads =
      options_.hash_threads ? options_.hash_threads : std::max(1u, std::thread::hardware_concurrency());
  // The pool's threads run one hash each; the budget bounds them and their helper threads
  // together, so --hash-threads is the number of threads hashing at once.
  hash_budget_ = std::make_unique<HashThreadBudget>(hash_threads);
  hash_pool_ = std::make_unique<ThreadPool>(hash_threads, "ts-hash");
  ReplicaOptions core_options = options_.core;
  core_options.hash_options.budget = hash_budget_.get();
  core_ = std::make_unique<ReplicaCore>(config_, core_options, *store_, *transport_,
                                        *storage_pool_, *hash_pool_, CoreClock::Real());
  if (Status st = core_->Start(); !st.ok()) {
    Shutdown();
    return st;
  }
  op_log_ = std::make_unique<OpLog>(options_.op_log, options_.listen, core_->token_ids().size());
  authorizer_ = std::make_unique<Authorizer>(config_, options_.security.tls());
  token_service_ = std::make_unique<TokenServiceImpl>(*core_, *op_log_, *authorizer_);
  replica_service_ = std::make_unique<ReplicaServiceImpl>(*core_, *storage_pool_, *authorizer_);
  admin_service_ =
      std::make_unique<AdminServiceImpl>(*core_, *store_, *storage_pool_, *authorizer_);

  // Both are process-wide settings that take effect for servers built from here on.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(bind, options_.security.ServerCredentials(), &bound_port);
  // gRPC sets SO_REUSEPORT by default on Linux: a second replica started on this address
  // would listen next to this one, and clients would reach either. One process per address.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  builder.RegisterService(token_service_.get());
  builder.RegisterService(replica_service_.get());
  builder.RegisterService(admin_service_.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(call_stats_.InterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server_ = builder.BuildAndStart();
  if (!server_ || bound_port == 0) {
    server_.reset();
    Shutdown();
    return CannotListen(bind, BindErrno(bind), bind_flag);
  }
  // The server as a whole (service "") and each of our services answer SERVING once the
  // lifecycle allows; until then NOT_SERVING, and a thread drives the lifecycle.
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  const bool serving = core_->lifecycle().state() == NodeState::kServing;
  for (const char* service :
       {v1::TokenService::service_full_name(), v1::ReplicaService::service_full_name(),
        v1::AdminService::service_full_name()}) {
    health->SetServingStatus(service, serving);
  }
  health->SetServingStatus(serving);
  {
    MutexLock lock(&lifecycle_mu_);
    stopping_ = false;
    fatal_ = Status::Ok();
  }
  if (!serving) {
    LogInfo("not serving yet", {{"state", NodeStateName(core_->lifecycle().state())},
                                {"identity", core_->lifecycle().identity_string()},
                                {"peers", core_->lifecycle().peers().size()}});
    lifecycle_thread_ = std::thread([this] { DriveLifecycle(); });
  }

  if (!options_.metrics_listen.empty()) {
    MetricsSources sources{core_.get(), &call_stats_, storage_sync_};
    sources.peers = &transport_->peer_stats();
    auto exporter = std::make_shared<MetricsExporter>(sources);
    StatusOr<std::unique_ptr<MetricsEndpoint>> metrics = MetricsEndpoint::Start(
        options_.metrics_listen, std::move(exporter), [this] { return ReadinessNow(); });
    if (!metrics.ok()) {
      Shutdown();
      // Taken since the check above: the same refusal as a taken gRPC address.
      return BindErrno(options_.metrics_listen) == EADDRINUSE
                 ? CannotListen(options_.metrics_listen, EADDRINUSE, "--metrics-listen")
                 : metrics.status();
    }
    metrics_ = std::move(metrics).value();
  }
  running_ = true;
  return Status::Ok();
}

int ReplicaServer::metrics_port() const { return metrics_ ? metrics_->port() : 0; }

Readiness ReplicaServer::ReadinessNow() const {
  {
    MutexLock lock(&lifecycle_mu_);
    if (stopping_) return {false, "stopping"};
    if (!fatal_.ok()) return {false, "refused: " + fatal_.message()};
  }
  const NodeState state = core_->lifecycle().state();
  return {state == NodeState::kServing, NodeStateName(state)};
}

void ReplicaServer::DriveLifecycle() {
  NodeLifecycle& lifecycle = core_->lifecycle();
  std::string last_wait, last_event;
  size_t last_ready = 0;
  // The rebuild's start and end are events of their own (with its duration), whatever
  // the lifecycle's own event text says.
  NodeState last_state = lifecycle.state();
  Clock::time_point rebuild_start = Clock::now();
  auto rebuild_seconds = [&] {
    return std::chrono::duration<double>(Clock::now() - rebuild_start).count();
  };
  for (;;) {
    std::promise<LifecycleProgress> promise;
    std::future<LifecycleProgress> future = promise.get_future();
    lifecycle.Advance([&promise](LifecycleProgress p) { promise.set_value(std::move(p)); });
    LifecycleProgress p = future.get();  // every call of a step is bounded by its deadline
    if (p.state == NodeState::kRebuilding && last_state != NodeState::kRebuilding) {
      rebuild_start = Clock::now();
      LogInfo("rebuild started", {{"tokens", p.tokens}, {"tokens_ready", p.tokens_ready}});
    } else if (p.state == NodeState::kServing && last_state == NodeState::kRebuilding) {
      LogInfo("rebuild finished", {{"tokens", p.tokens}, {"seconds", rebuild_seconds()}});
    } else if (!p.fatal.ok() && last_state == NodeState::kRebuilding) {
      LogError("rebuild failed", {{"tokens_ready", p.tokens_ready},
                                  {"tokens", p.tokens},
                                  {"seconds", rebuild_seconds()}});
    }
    last_state = p.state;
    if (!p.event.empty() && p.event != last_event) {  // a refusal repeats every round
      last_event = p.event;
      LogInfo(p.event, {{"state", NodeStateName(p.state)},
                        {"tokens_ready", p.tokens_ready},
                        {"tokens", p.tokens}});
    }
    if (p.state == NodeState::kRebuilding && p.tokens_ready != last_ready &&
        p.tokens_ready < p.tokens) {
      last_ready = p.tokens_ready;
      LogInfo("rebuilding", {{"tokens_ready", p.tokens_ready}, {"tokens", p.tokens}});
    }
    if (!p.fatal.ok()) {
      LogError("cannot serve", {{"error", p.fatal.message()}});
      {
        MutexLock lock(&lifecycle_mu_);
        fatal_ = p.fatal;
      }
      lifecycle_cv_.SignalAll();
      if (options_.on_fatal) options_.on_fatal(p.fatal);
      return;
    }
    if (p.state == NodeState::kServing) {
      grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
      for (const char* service :
           {v1::TokenService::service_full_name(), v1::ReplicaService::service_full_name(),
            v1::AdminService::service_full_name()}) {
        health->SetServingStatus(service, true);
      }
      health->SetServingStatus(true);
      LogInfo("serving", {{"identity", lifecycle.identity_string()}});
      lifecycle_cv_.SignalAll();
      return;
    }
    std::string waiting;
    for (const auto& n : p.waiting_for) waiting += (waiting.empty() ? "" : " ") + n;
    if (!waiting.empty() && waiting != last_wait) {
      LogWarn("waiting for peers to answer before serving",
              {{"state", NodeStateName(p.state)}, {"waiting_for", waiting},
               {"tokens_ready", p.tokens_ready}, {"tokens", p.tokens}});
    }
    last_wait = waiting;
    if (p.again) continue;
    MutexLock lock(&lifecycle_mu_);
    if (lifecycle_cv_.WaitFor(&lifecycle_mu_, std::chrono::milliseconds(200),
                              [this]() REQUIRES(lifecycle_mu_) { return stopping_; })) {
      return;
    }
  }
}

bool ReplicaServer::WaitServing(std::chrono::milliseconds timeout) {
  if (!core_) return false;
  MutexLock lock(&lifecycle_mu_);
  return lifecycle_cv_.WaitFor(&lifecycle_mu_, timeout, [this]() REQUIRES(lifecycle_mu_) {
    return core_->lifecycle().state() == NodeState::kServing || !fatal_.ok() || stopping_;
  }) && core_->lifecycle().state() == NodeState::kServing;
}

Status ReplicaServer::fatal() const {
  MutexLock lock(&lifecycle_mu_);
  return fatal_;
}

void ReplicaServer::Shutdown() {
  {
    MutexLock lock(&lifecycle_mu_);
    stopping_ = true;
  }
  lifecycle_cv_.SignalAll();
  if (lifecycle_thread_.joinable()) lifecycle_thread_.join();
  if (server_) {
    // Health checks (watchers included) see NOT_SERVING before the server stops accepting.
    server_->GetHealthCheckService()->SetServingStatus(false);
    // Stop accepting; give in-flight calls the grace period, then cancel the rest (parked
    // calls are cancelled too, which releases them).
    server_->Shutdown(std::chrono::system_clock::now() + options_.shutdown_grace);
    server_->Wait();
    server_.reset();
  }
  metrics_.reset();  // reads the core and the store: goes before them
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
  authorizer_.reset();
  storage_sync_ = nullptr;
  store_.reset();  // closes RocksDB: everything acknowledged was already synced
  running_ = false;
}

}  // namespace tokenstore
