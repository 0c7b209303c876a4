// token-replica: one replica server of the token store.
//
//   token-replica --config cluster.yaml --listen 127.0.0.1:50051 --data-dir data/n1
//   TOKENSTORE_CONFIG=cluster.yaml token-replica --listen 127.0.0.1:50051 --data-dir data/n1
#include <CLI/CLI.hpp>
#include <absl/synchronization/mutex.h>
#include <csignal>
#include <signal.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/log.h"
#include "config/cluster_config.h"
#include "config/config_location.h"
#include "proto/security_cli.h"
#include "replica/exit_codes.h"
#include "replica/replica_server.h"
#include "replica/unsafe_bug.h"

using namespace tokenstore;

int main(int argc, char** argv) {
  // Debian's abseil is built with its debug-mode lock-order checking on: every absl::Mutex
  // operation inside gRPC then updates a global lock graph (a few % of a replica's CPU).
  // It reports deadlocks in gRPC's own locking only; turn it off in the server.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"token-replica: a replica server of the replicated token store"};
  AddVersionFlag(app, "token-replica");
  std::optional<std::string> config_flag;
  std::string listen, data_dir;
  uint64_t max_range = 100'000'000;
  double max_op_seconds = 60;
  bool no_op_log = false;
  unsigned hash_threads = 0;
  ReplicaServerOptions options;
  TlsFiles tls;
  // No default path: a server is told which cluster it serves (config/config_location.h).
  app.add_option("--config", config_flag,
                 "replication scheme (YAML); default: $TOKENSTORE_CONFIG (no default path)");
  app.add_option("--listen", listen, "this node's access point, as named in the config")
      ->required();
  std::string bind;
  app.add_option("--bind", bind,
                 "address to bind, <ip>:<port> (e.g. 0.0.0.0:50051) when it differs from the "
                 "--listen address that peers and clients use (default: --listen)");
  app.add_option("--data-dir", data_dir, "RocksDB directory (created on first start)")
      ->required();
  app.add_option("--max-range", max_range,
                 "most values (high - low) one write may span; larger requests are refused")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1'000'000'000'000}))
      ->capture_default_str();
  app.add_option("--max-op-seconds", max_op_seconds,
                 "cap on any operation's deadline, also when the client sets none: a duration "
                 "(500ms, 5s, 1m; a bare number is seconds)")
      ->transform(DurationSeconds())
      ->type_name("DURATION")
      ->check(CLI::Range(0.001, 86400.0))
      ->capture_default_str();
  // The ranges also catch negative numbers, which CLI11 2.1 wraps around for unsigned options.
  app.add_option("--hash-threads", hash_threads, "threads hashing at once, all requests together (0: one per core)")
      ->check(CLI::Range(0u, 256u))
      ->capture_default_str();
  // Hidden: a deliberate protocol break, so the fault tests can show they catch one.
  std::string unsafe_bug = "none";
  const std::vector<std::string_view> bug_names = UnsafeBugNames();
  app.add_option("--unsafe-bug", unsafe_bug)
      ->check(CLI::IsMember(std::vector<std::string>(bug_names.begin(), bug_names.end())))
      ->group("");
  const char* lifecycle = "Start (docs/operations.md)";
  app.add_flag("--rebuild", options.core.lifecycle.force_rebuild,
               "rebuild this node's registers from the other replicas before serving (after "
               "restoring its data dir from a copy; an empty or detected older dir rebuilds "
               "without it)")
      ->group(lifecycle);
  app.add_flag("--new-cluster", options.core.lifecycle.new_cluster,
               "creating a new cluster: an empty data dir serves without waiting for every "
               "peer to answer (by default it waits for all of them, so that a majority that "
               "lost its disks never silently starts a new cluster)")
      ->group(lifecycle);
  app.add_flag("--accept-data-loss", options.core.lifecycle.accept_data_loss,
               "UNSAFE: complete a rebuild that more than a minority of a token's replicas "
               "cannot support, from whatever they hold; acknowledged writes may be lost")
      ->group(lifecycle);
  // Hidden: one unary RPC per peer call instead of batches, to measure what batching gives.
  bool no_peer_batching = false;
  app.add_flag("--no-peer-batching", no_peer_batching)->group("");
  app.add_flag("--no-op-log", no_op_log, "do not print a line per completed client operation");
  AddTlsOptions(app, tls);
  const char* limits = "Limits (every refusal is a gRPC status; other work carries on)";
  app.add_option("--max-inflight", options.core.admission.max_per_node,
                 "client operations this node runs at once")
      ->check(CLI::Range(size_t{1}, size_t{1} << 24))
      ->capture_default_str()
      ->group(limits);
  app.add_option("--max-inflight-per-token", options.core.admission.max_per_token,
                 "of those, on one token")
      ->check(CLI::Range(size_t{1}, size_t{1} << 24))
      ->capture_default_str()
      ->group(limits);
  app.add_option("--max-name-bytes", options.core.limits.max_name_bytes,
                 "longest token name a write may carry")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->capture_default_str()
      ->group(limits);
  app.add_option("--max-message-bytes", options.max_message_bytes,
                 "largest request a client or peer may send")
      ->check(CLI::Range(4096, 64 << 20))
      ->capture_default_str()
      ->group(limits);
  std::string metrics_listen;
  app.add_option("--metrics-listen", metrics_listen,
                 "serve Prometheus metrics at http://ADDR/metrics (<ipv4>:<port>; off when not "
                 "given)");
  std::string log_level = "info", log_format = "logfmt";
  app.add_option("--log-level", log_level, "least severe event logged on stderr")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--log-format", log_format, "event log lines: logfmt or json")
      ->check(CLI::IsMember({"logfmt", "json"}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;  // --help is success; any other error is usage
  }
  ConfigureLog({*ParseLogLevel(log_level), *ParseLogFormat(log_format), stderr});

  StatusOr<ConfigLocation> where =
      FindConfigFile(ConfigLookupFromEnvironment(config_flag, /*default_paths=*/false));
  if (!where.ok()) {
    LogError("invalid configuration", {{"problem", where.status().message()}});
    return kExitUsage;
  }
  const std::string config_path = where->path;
  StatusOr<ClusterConfig> config = LoadClusterConfig(config_path);
  if (!config.ok()) {
    // One event per problem: the loader reports all of them, one a line.
    const std::string& all = config.status().message();
    for (size_t begin = 0; begin < all.size();) {
      size_t end = all.find('\n', begin);
      if (end == std::string::npos) end = all.size();
      if (end > begin) {
        LogError("invalid configuration", {{"problem", all.substr(begin, end - begin)}});
      }
      begin = end + 1;
    }
    return kExitUsage;
  }
  LogDebug("configuration loaded", {{"config", Describe(*where)},
                                    {"tokens", config->size()},
                                    {"nodes", config->Nodes().size()}});
  StatusOr<std::string> self = ParseAccessPoint(listen);
  if (!self.ok()) {
    LogError("invalid --listen", {{"error", self.status().message()}});
    return kExitUsage;
  }
  StatusOr<std::string> bind_address = BindAddressFor(*self, bind);
  if (!bind_address.ok()) {
    LogError("invalid --bind", {{"error", bind_address.status().message()}});
    return kExitUsage;
  }
  std::string metrics;
  if (!metrics_listen.empty()) {
    StatusOr<std::string> parsed = ParseAccessPoint(metrics_listen);
    if (!parsed.ok()) {
      LogError("invalid --metrics-listen", {{"error", parsed.status().message()}});
      return kExitUsage;
    }
    metrics = *parsed;
  }

  // Block the stop signals in every thread (gRPC's included); main waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  StatusOr<Security> security = Security::FromFiles(tls);
  if (!security.ok()) {
    LogError("invalid TLS files", {{"error", security.status().message()}});
    return kExitUsage;
  }
  options.security = *security;
  options.listen = *self;
  if (!bind.empty()) options.bind = *bind_address;
  options.data_dir = data_dir;
  options.core.limits.max_range = max_range;
  options.core.max_op_time = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(max_op_seconds));
  options.op_log = !no_op_log;
  options.hash_threads = hash_threads;
  options.metrics_listen = metrics;
  options.peer_batching = !no_peer_batching;
  if (unsafe_bug != "none") {
    options.core.unsafe_bug = ParseUnsafeBug(unsafe_bug).value_or(UnsafeBug::kNone);
    LogWarn("--unsafe-bug breaks atomicity on purpose", {{"unsafe_bug", unsafe_bug}});
  }
  if (!options.security.tls()) {
    LogWarn("plaintext without authentication: any process that can reach this node can read, "
            "write, impose values and crash-stop tokens; use --tls-ca/--tls-cert/--tls-key "
            "(scripts/gen-certs.sh) outside local demos",
            {{"listen", options.listen}});
  } else {
    LogInfo("mutual TLS", {{"identity", options.security.identity()->ToString()}});
  }
  // A refusal found after the start (a data dir that cannot be rebuilt safely) stops the
  // process like a signal would, then exits kReplicaExitUnsafe.
  options.on_fatal = [](const Status&) { kill(getpid(), SIGTERM); };
  ReplicaServer server(std::move(config).value(), options);
  if (Status st = server.Start(); !st.ok()) {
    LogError("cannot start", {{"code", StatusCodeName(st.code())}, {"error", st.message()}});
    return ReplicaExitCodeForStart(st);
  }
  const char* started = server.core().lifecycle().state() == NodeState::kServing
                            ? "serving"
                            : "listening, not serving yet";
  const std::string metrics_url = metrics.empty() ? "off" : "http://" + metrics + "/metrics";
  if (options.bind.empty()) {
    LogInfo(started, {{"listen", options.listen},
                      {"tokens", server.core().token_ids().size()},
                      {"data_dir", data_dir},
                      {"metrics", metrics_url}});
  } else {
    LogInfo(started, {{"listen", options.listen},
                      {"bind", options.bind},
                      {"tokens", server.core().token_ids().size()},
                      {"data_dir", data_dir},
                      {"metrics", metrics_url}});
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);
  if (Status fatal = server.fatal(); !fatal.ok()) {
    server.Shutdown();
    // The exact command that would accept the loss, for an operator who decides to.
    std::string command;
    for (int i = 0; i < argc; ++i) command += std::string(i ? " " : "") + argv[i];
    LogError("stopped: this node cannot serve safely",
             {{"error", fatal.message()},
              {"to_accept_the_loss", command + " --accept-data-loss"}});
    return kReplicaExitUnsafe;
  }
  LogInfo("stopping: finishing in-flight calls", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  server.Shutdown();
  LogInfo("stopped cleanly");
  return kReplicaExitStopped;
}
