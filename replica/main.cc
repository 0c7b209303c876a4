// token-replica: one replica server of the token store.
//
//   token-replica --config cluster.yaml --listen 127.0.0.1:50051 --data-dir data/n1
#include <CLI/CLI.hpp>
#include <absl/synchronization/mutex.h>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "config/cluster_config.h"
#include "replica/replica_server.h"

using namespace tokenstore;

int main(int argc, char** argv) {
  // Debian's abseil is built with its debug-mode lock-order checking on: every absl::Mutex
  // operation inside gRPC then updates a global lock graph (a few % of a replica's CPU).
  // It reports deadlocks in gRPC's own locking only; turn it off in the server.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"token-replica: a replica server of the replicated token store"};
  std::string config_path, listen, data_dir;
  uint64_t max_range = 100'000'000;
  double max_op_seconds = 60;
  bool no_op_log = false;
  unsigned hash_threads = 0;
  app.add_option("--config", config_path, "replication scheme (YAML)")->required();
  app.add_option("--listen", listen, "this node's access point, as named in the config")
      ->required();
  app.add_option("--data-dir", data_dir, "RocksDB directory (created on first start)")
      ->required();
  app.add_option("--max-range", max_range,
                 "most values (high - low) one write may span; larger requests are refused")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1'000'000'000'000}))
      ->capture_default_str();
  app.add_option("--max-op-seconds", max_op_seconds,
                 "cap on any operation's deadline, also when the client sets none")
      ->check(CLI::Range(0.001, 86400.0))
      ->capture_default_str();
  // The ranges also catch negative numbers, which CLI11 2.1 wraps around for unsigned options.
  app.add_option("--hash-threads", hash_threads, "threads for hashing (0: one per core)")
      ->check(CLI::Range(0u, 256u))
      ->capture_default_str();
  // Hidden: a deliberate protocol break, so the fault tests can show they catch one.
  std::string unsafe_bug = "none";
  app.add_option("--unsafe-bug", unsafe_bug)
      ->check(CLI::IsMember({"none", "skip-write-back", "read-local"}))
      ->group("");
  // Hidden: one unary RPC per peer call instead of batches, to measure what batching gives.
  bool no_peer_batching = false;
  app.add_flag("--no-peer-batching", no_peer_batching)->group("");
  app.add_flag("--no-op-log", no_op_log, "do not print a line per completed client operation");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is success; any other parse error is usage (2)
  }

  StatusOr<ClusterConfig> config = LoadClusterConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "token-replica: %s\n", config.status().message().c_str());
    return 2;
  }
  StatusOr<std::string> self = ParseAccessPoint(listen);
  if (!self.ok()) {
    std::fprintf(stderr, "token-replica: --listen: %s\n", self.status().message().c_str());
    return 2;
  }

  // Block the stop signals in every thread (gRPC's included); main waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  ReplicaServerOptions options;
  options.listen = *self;
  options.data_dir = data_dir;
  options.core.max_range = max_range;
  options.core.max_op_time = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(max_op_seconds));
  options.op_log = !no_op_log;
  options.hash_threads = hash_threads;
  options.peer_batching = !no_peer_batching;
  if (unsafe_bug != "none") {
    options.core.unsafe_bug =
        unsafe_bug == "read-local" ? UnsafeBug::kReadLocal : UnsafeBug::kSkipWriteBack;
    std::fprintf(stderr, "token-replica: WARNING: --unsafe-bug %s breaks atomicity on purpose\n",
                 unsafe_bug.c_str());
  }
  ReplicaServer server(std::move(config).value(), options);
  if (Status st = server.Start(); !st.ok()) {
    std::fprintf(stderr, "token-replica: %s\n", st.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "token-replica: serving %zu token(s) on %s, data in %s\n",
               server.core().token_ids().size(), options.listen.c_str(), data_dir.c_str());

  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::fprintf(stderr, "token-replica: %s received; finishing in-flight calls\n",
               sig == SIGINT ? "SIGINT" : "SIGTERM");
  server.Shutdown();
  std::fprintf(stderr, "token-replica: stopped cleanly\n");
  return 0;
}
