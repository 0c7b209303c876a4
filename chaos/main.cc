// token-chaos: a fault run against real token-replica processes (SPEC sections 6, 8, 9).
//
// Starts N replicas (each in its own network namespace when run as root), runs concurrent
// client workers that record a Jepsen-style history, injects faults with a nemesis (crash-stop
// marks, kill -9, SIGSTOP, network partitions, wiped and restored data directories, online
// reconfigurations of a token's replica set), heals
// everything, stops everything, then checks the history for linearizability per token.
//
// Besides linearizability it checks every returned hash (a write's partial, a read's final)
// against the hash engine (checker/value_check.h), and that the run exercised what it was
// asked (chaos/exercise.h): minimum counts of ok writes and reads, over the run and per
// worker, and of each fault kind asked for, injected and healed.
//
// Exit codes (chaos/run_outcome.h decides): 0 linearizable, every hash right and exercised
// enough; 1 a violation (not linearizable, or a wrong hash; the history is kept); 2 setup
// error, a fault kind asked for that cannot run here (partitions without namespaces), or a
// run that exercised too little; 3 unknown: the checker's search budget ran out on some token
// and nothing is a violation (neither a pass nor a catch).
#include <algorithm>

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "chaos/exercise.h"
#include "common/cli.h"
#include "chaos/fault_model.h"
#include "chaos/nemesis.h"
#include "chaos/netns.h"
#include "chaos/replicas.h"
#include "chaos/run_outcome.h"
#include "replica/unsafe_bug.h"
#include "chaos/workload.h"
#include "checker/history.h"
#include "checker/linearizability.h"
#include "checker/value_check.h"
#include "config/cluster_config.h"
#include "tests/test_support.h"

namespace tokenstore::chaos {
namespace {

std::atomic<int> g_signal{0};

void OnSignal(int sig) { g_signal = sig; }

constexpr int kExitOk = 0, kExitViolation = 1, kExitSetup = 2, kExitUnknown = 3;

struct Args {
  std::string replica_bin;
  double duration_s = 60;
  std::optional<double> max_extra_s;  // unset: duration_s
  std::string history;
  uint64_t seed = 1;
  std::string unsafe_bug;
  int nodes = 3;
  int tokens = 3;
  int workers = 6;
  double write_fraction = 0.3;
  std::string faults = "crash-stop,kill,pause,partition,wipe,restore,reconfigure";
  std::string bias = "none";
  bool loopback = false;
  bool reconfigure_readd = false;
  std::string work_dir;
  // Unset: DefaultMinimums(duration_s).
  std::optional<uint64_t> min_ok_ops, min_ok_ops_per_worker;
  std::optional<int> min_faults_per_kind;
};

int SetupError(const std::string& msg) {
  std::fprintf(stderr, "token-chaos: setup error: %s\n", msg.c_str());
  return kExitSetup;
}

// Loopback fallback: `n` candidate ports on 127.0.0.1, below the kernel's ephemeral range so
// that neither port-0 binds nor outgoing connections take one while its replica restarts
// (tests/test_support.h); empty when there are none. Not reserved: a replica that finds its
// port taken never shares it, it exits (kReplicaExitAddressInUse) and its log names the port.
std::vector<std::string> LoopbackAddresses(int n) {
  try {
    return testing::CandidateLoopbackAddresses(n);
  } catch (const std::runtime_error&) {
    return {};
  }
}

std::string Percent(uint64_t part, uint64_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", whole ? 100.0 * part / whole : 0.0);
  return buf;
}

// Ok writes and reads over the run and their range over the workers, against the minimums.
void PrintOperations(const Exercise& e, const ExerciseMinimums& min) {
  const ClientCounts total = Sum(e.workers);
  std::printf("operations: %llu (ok at least %llu of each function, %llu per worker)\n",
              static_cast<unsigned long long>(total.writes.all() + total.reads.all()),
              static_cast<unsigned long long>(min.ok_ops),
              static_cast<unsigned long long>(min.ok_ops_per_worker));
  for (const bool write : {true, false}) {
    const OutcomeCounts& c = write ? total.writes : total.reads;
    uint64_t least = UINT64_MAX, most = 0;
    for (const ClientCounts& w : e.workers) {
      least = std::min(least, (write ? w.writes : w.reads).ok);
      most = std::max(most, (write ? w.writes : w.reads).ok);
    }
    std::printf("  %s ok %llu  fail %llu (%s)  info %llu; ok per worker %llu-%llu\n",
                write ? "write:" : "read: ", static_cast<unsigned long long>(c.ok),
                static_cast<unsigned long long>(c.fail), Percent(c.fail, c.all()).c_str(),
                static_cast<unsigned long long>(c.info),
                static_cast<unsigned long long>(e.workers.empty() ? 0 : least),
                static_cast<unsigned long long>(most));
  }
}

// Injected/healed by kind, against the minimum.
void PrintFaults(const Exercise& e, const ExerciseMinimums& min) {
  std::printf("faults injected/healed (at least %d of each kind asked for):", min.faults_per_kind);
  for (FaultKind k : kAllFaultKinds) {
    const auto it = e.faults.find(k);
    const FaultTally t = it == e.faults.end() ? FaultTally{} : it->second;
    std::printf("  %s %d/%d%s", FaultKindName(k), t.injected, t.healed,
                e.requested.count(k) ? "" : " (off)");
  }
  if (e.scenarios) std::printf("\nlag-then-lose-data scenarios completed: %d", *e.scenarios);
  std::printf("\n");
}

void PrintValues(const checker::ValueCheck& v) {
  std::printf(
      "returned hashes: %zu write partials, %zu read finals checked against the hash "
      "engine: %s\n",
      v.writes_checked, v.reads_checked,
      v.mismatches == 0 ? "all right" : (std::to_string(v.mismatches) + " WRONG").c_str());
  for (const std::string& e : v.explanations) std::printf("  %s\n", e.c_str());
  if (v.mismatches > v.explanations.size()) {
    std::printf("  ... and %zu more\n", v.mismatches - v.explanations.size());
  }
}

int Run(const Args& a) {
  // Bind the run to its parent: if the script or ctest that started it dies, stop cleanly.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::set<FaultKind> kinds;
  {
    std::stringstream ss(a.faults);
    std::string k;
    while (std::getline(ss, k, ',')) {
      if (k.empty() || k == "none") continue;
      const std::optional<FaultKind> kind = ParseFaultKind(k);
      if (!kind) {
        return SetupError("--faults: unknown kind \"" + k +
                          "\" (use crash-stop, kill, pause, partition, wipe, restore, reconfigure "
                          "or none)");
      }
      kinds.insert(*kind);
    }
  }
  // A restore goes back to the copy taken when the node was last stopped by kill or wipe.
  if (kinds.count(FaultKind::kRestore) && !kinds.count(FaultKind::kKill) &&
      !kinds.count(FaultKind::kWipe)) {
    return SetupError(
        "--faults: restore needs kill or wipe too (they take the copies it restores)");
  }
  const Bias bias = a.bias == "lag-then-lose-data" ? Bias::kLagThenLoseData : Bias::kNone;
  if (bias == Bias::kLagThenLoseData &&
      (!kinds.count(FaultKind::kKill) || !kinds.count(FaultKind::kPause) ||
       (!kinds.count(FaultKind::kWipe) && !kinds.count(FaultKind::kRestore)))) {
    return SetupError(
        "--bias lag-then-lose-data needs kill, pause, and wipe or restore in --faults");
  }
  if (access(a.replica_bin.c_str(), X_OK) != 0) {
    return SetupError("--replica-bin " + a.replica_bin + " is not an executable file");
  }

  // Namespaces are decided before any thread exists (EnterPrivateNamespace needs that).
  std::string no_netns_reason = "--loopback given";
  bool use_netns = !a.loopback && NamespacesUsable(&no_netns_reason);
  if (use_netns) {
    if (Status st = EnterPrivateNamespace(); !st.ok()) {
      use_netns = false;
      no_netns_reason = st.message();
    }
  }
  if (std::optional<std::string> why = CannotRun(kinds, use_netns, no_netns_reason)) {
    std::fprintf(stderr, "token-chaos: NOT TESTED: %s\n", why->c_str());
    return kExitSetup;
  }
  if (use_netns) CleanupStale();

  // The run's directory: configuration, data directories, replica logs, fault log.
  std::string dir = a.work_dir;
  if (dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "token-chaos-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) return SetupError("cannot create a temporary directory");
    dir = tmpl;
  } else {
    std::filesystem::create_directories(dir);
  }
  const std::string history_path = a.history.empty() ? dir + "/history.jsonl" : a.history;

  Network network;
  std::vector<ReplicaSpec> specs;
  if (use_netns) {
    if (Status st = network.Setup(a.nodes); !st.ok()) return SetupError(st.message());
    for (int i = 0; i < a.nodes; ++i) {
      specs.push_back({network.Address(i) + ":7000", network.NamespacePath(i), "", ""});
    }
  } else {
    const auto addrs = LoopbackAddresses(a.nodes);
    if (addrs.size() != static_cast<size_t>(a.nodes)) return SetupError("no free loopback ports");
    for (const auto& addr : addrs) specs.push_back({addr, "", "", ""});
  }
  for (int i = 0; i < a.nodes; ++i) {
    specs[i].data_dir = dir + "/data-n" + std::to_string(i + 1);
    specs[i].log_path = dir + "/replica-n" + std::to_string(i + 1) + ".log";
  }

  // Every token on every node; the writers spread over the nodes.
  std::string yaml;
  std::vector<TokenNodes> token_nodes = {{"", {}}};
  for (int i = 0; i < a.nodes; ++i) token_nodes[0].nodes.push_back(i);
  for (int t = 0; t < a.tokens; ++t) {
    yaml += "- token: " + std::to_string(t + 1) + "\n  writer: " + specs[t % a.nodes].address +
            "\n  readers: [";
    for (int i = 0; i < a.nodes; ++i) yaml += (i ? ", " : "") + specs[i].address;
    yaml += "]\n";
    token_nodes.push_back({std::to_string(t + 1), token_nodes[0].nodes});
  }
  const std::string config_path = dir + "/cluster.yaml";
  std::ofstream(config_path) << yaml;
  StatusOr<ClusterConfig> config = LoadClusterConfig(config_path);
  if (!config.ok()) return SetupError(config.status().message());

  std::vector<std::string> extra;
  if (!a.unsafe_bug.empty()) extra = {"--unsafe-bug", a.unsafe_bug};
  ReplicaSet replicas(a.replica_bin, config_path, specs, extra);

  std::printf("token-chaos: %d replicas, %d tokens, %d workers, %.0f s, seed %llu%s\n", a.nodes,
              a.tokens, a.workers, a.duration_s, static_cast<unsigned long long>(a.seed),
              a.unsafe_bug.empty() ? "" : (", --unsafe-bug " + a.unsafe_bug).c_str());
  if (use_netns) {
    std::printf("network: one namespace per replica (%s ... %s), partitions by %s\n",
                specs.front().address.c_str(), specs.back().address.c_str(),
                network.MethodName());
  } else {
    std::printf("network: loopback (%s); no partitions\n", no_netns_reason.c_str());
  }
  std::printf("run directory: %s\n", dir.c_str());
  std::fflush(stdout);

  for (int i = 0; i < a.nodes; ++i) {
    if (Status st = replicas.Start(i); !st.ok()) return SetupError(st.message());
  }
  for (int i = 0; i < a.nodes; ++i) {
    if (!replicas.WaitServing(i, std::chrono::seconds(20))) {
      return SetupError("replica " + specs[i].address + " did not report SERVING; see " +
                        specs[i].log_path);
    }
  }

  StatusOr<std::unique_ptr<checker::HistoryWriter>> writer =
      checker::HistoryWriter::Open(history_path);
  if (!writer.ok()) return SetupError(writer.status().message());
  std::FILE* fault_log = std::fopen((dir + "/faults.log").c_str(), "w");
  RunClock clock;
  HistoryRecorder recorder(**writer, clock);
  WorkloadOptions wopts;
  wopts.workers = a.workers;
  wopts.write_fraction = a.write_fraction;
  wopts.seed = a.seed;
  Workload workload(*config, recorder, wopts);

  // The nemesis logs to stdout; faults.log keeps a copy next to the history.
  NemesisOptions nopts;
  nopts.kinds = kinds;
  nopts.bias = bias;
  nopts.seed = a.seed;
  nopts.config = &*config;  // reconfigure: where each token starts
  nopts.config_path = config_path;  // reconfigure: rewritten after each move
  nopts.reconfigure_readd = a.reconfigure_readd;
  Nemesis nemesis(nopts, replicas, use_netns ? &network : nullptr, token_nodes, clock,
                  fault_log ? std::vector<std::FILE*>{stdout, fault_log}
                            : std::vector<std::FILE*>{stdout},
                  &workload);

  ExerciseMinimums minimums = DefaultMinimums(a.duration_s);
  if (a.min_ok_ops) minimums.ok_ops = *a.min_ok_ops;
  if (a.min_ok_ops_per_worker) minimums.ok_ops_per_worker = *a.min_ok_ops_per_worker;
  if (a.min_faults_per_kind) minimums.faults_per_kind = *a.min_faults_per_kind;

  const auto start = std::chrono::steady_clock::now();
  workload.Start();
  const auto after = [&start](double seconds) {
    return start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       std::chrono::duration<double>(seconds));
  };
  const auto end = after(a.duration_s);
  const double max_extra = a.max_extra_s.value_or(a.duration_s);
  const auto last = after(a.duration_s + max_extra);
  bool extended = false;
  // The planned duration, then (at most --max-extra more) until each fault kind asked for was
  // injected and healed often enough: on a slow or busy machine node faults take longer to
  // heal (a restart, a rebuild), and a clean run should not fail for the machine's speed.
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (g_signal != 0 || now >= last) break;
    if (now >= end) {
      const std::vector<std::string> short_now =
          FaultShortfalls(kinds, nemesis.faults(),
                          bias == Bias::kLagThenLoseData ? std::optional(nemesis.scenarios())
                                                         : std::nullopt,
                          minimums);
      if (short_now.empty()) break;
      if (!extended) {
        std::printf("token-chaos: %.0f s done; going on (at most %.0f s more) for: %s\n",
                    a.duration_s, max_extra, short_now.front().c_str());
        extended = true;
      }
    }
    nemesis.Step();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (g_signal != 0) std::printf("token-chaos: signal %d, stopping early\n", g_signal.load());
  const bool healed = nemesis.HealAll();
  // A short healed tail: reads then see what the faults left behind.
  if (g_signal == 0) std::this_thread::sleep_for(std::chrono::seconds(2));
  workload.Stop();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Status history_written = (*writer)->status();
  writer->reset();
  replicas.StopAll(std::chrono::seconds(5));
  network.Cleanup();
  if (fault_log) std::fclose(fault_log);
  if (!history_written.ok()) return SetupError(history_written.message());

  StatusOr<std::vector<checker::Event>> events = checker::ReadHistory(history_path);
  if (!events.ok()) return SetupError("reading back the history: " + events.status().message());
  const checker::Verdict verdict = checker::CheckHistory(*events);
  const checker::ValueCheck values =
      verdict.input_error.ok() ? checker::CheckReturnedValues(*events) : checker::ValueCheck{};
  Exercise exercise;
  exercise.write_fraction = a.write_fraction;
  exercise.workers = workload.counts();
  exercise.requested = kinds;
  exercise.faults = nemesis.faults();
  if (bias == Bias::kLagThenLoseData) exercise.scenarios = nemesis.scenarios();
  const std::vector<std::string> shortfalls = Shortfalls(exercise, minimums);

  std::printf("\n== summary (%.1f s) ==\n", took);
  PrintOperations(exercise, minimums);
  PrintFaults(exercise, minimums);
  std::printf("%s\n", healed ? "all faults healed" : "NOT all faults could be healed");
  if (nemesis.failed_moves() > 0) {
    std::printf("UNEXPECTED reconfigurations that did not complete: %d (see faults.log in %s)\n",
                nemesis.failed_moves(), dir.c_str());
  }
  if (nemesis.unexpected_exits() > 0) {
    std::printf("UNEXPECTED replica exits: %d (see the replica logs in %s)\n",
                nemesis.unexpected_exits(), dir.c_str());
  }
  for (const auto& t : verdict.tokens) {
    std::printf("token %s: %s (%zu operations)\n", t.token.c_str(),
                t.unknown ? "UNKNOWN (search budget exceeded)"
                : t.linearizable ? "linearizable" : "NOT LINEARIZABLE",
                t.operations);
    if (!t.linearizable) std::printf("%s\n", t.explanation.c_str());
  }
  std::printf("checked %zu operations\n", verdict.operations);
  PrintValues(values);
  switch (OutcomeOf(verdict, values.mismatches, shortfalls.empty())) {
    case RunOutcome::kViolation:
      std::printf("result: VIOLATION%s; history kept at %s (run directory %s)\n",
                  values.mismatches > 0 ? " (returned hashes that are not the hash engine's)" : "",
                  history_path.c_str(), dir.c_str());
      return kExitViolation;
    case RunOutcome::kUnknown:
      std::printf("result: UNKNOWN: the checker's search budget ran out; history kept at %s\n",
                  history_path.c_str());
      return kExitUnknown;
    case RunOutcome::kNotTested:
      if (!verdict.input_error.ok()) {
        std::printf("result: the history is malformed (%s); kept at %s\n",
                    verdict.input_error.ToString().c_str(), history_path.c_str());
      } else {
        // Correct, but the run did less than it was asked: it must not pass.
        std::printf("result: NOT TESTED: the run exercised too little:\n");
        for (const std::string& s : shortfalls) std::printf("  %s\n", s.c_str());
        std::printf("(run longer, or see the minimums under --help and faults.log in %s)\n",
                    dir.c_str());
      }
      return kExitSetup;
    case RunOutcome::kLinearizable:
      break;
  }
  std::printf("result: linearizable\n");
  if (a.work_dir.empty()) {
    // Nothing to look at: drop the data directories and logs, keep a history asked for.
    std::error_code ec;
    if (a.history.empty()) {
      std::filesystem::remove_all(dir, ec);
    } else {
      for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        if (e.path() != std::filesystem::path(history_path)) std::filesystem::remove_all(e, ec);
      }
      std::filesystem::remove(dir, ec);
    }
  }
  return kExitOk;
}

}  // namespace
}  // namespace tokenstore::chaos

int main(int argc, char** argv) {
  tokenstore::chaos::Args a;
  CLI::App app{
      "token-chaos: a fault run against real token-replica processes; checks the "
      "history for linearizability and the returned hashes. Exit 0 linearizable and "
      "exercised enough, 1 violation, 2 setup error or too little exercised (or a "
      "fault kind that cannot run here), 3 unknown (checker budget)."};
  tokenstore::AddVersionFlag(app, "token-chaos");
  app.add_option("--replica-bin", a.replica_bin, "path of token-replica")->required();
  app.add_option("--duration", a.duration_s,
                 "workload under faults: a duration (90s, 5m; a bare number is seconds)")
      ->transform(tokenstore::DurationSeconds())
      ->type_name("DURATION")
      ->check(CLI::Range(1.0, 86400.0));
  app.add_option("--max-extra", a.max_extra_s,
                 "how long (a duration) the run may go on after --duration while a fault kind was injected "
                 "and healed fewer times than --min-faults-per-kind asks (default: --duration)")
      ->transform(tokenstore::DurationSeconds())
      ->type_name("DURATION")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--history", a.history, "history file (JSON Lines); default: in the run directory");
  app.add_option("--seed", a.seed, "seed of the workload and the nemesis");
  std::vector<std::string> bug_names;  // token-replica's --unsafe-bug names (replica/unsafe_bug.h)
  for (std::string_view name : tokenstore::UnsafeBugNames()) {
    if (name != "none") bug_names.emplace_back(name);
  }
  app.add_option("--unsafe-bug", a.unsafe_bug, "passed to every replica (proves the checker catches it)")
      ->check(CLI::IsMember(bug_names));
  app.add_option("--nodes", a.nodes, "replicas")->check(CLI::IsMember({3, 5}));
  app.add_option("--tokens", a.tokens, "tokens")->check(CLI::Range(1, 9));
  app.add_option("--workers", a.workers, "client threads")->check(CLI::Range(1, 64));
  app.add_option("--write-fraction", a.write_fraction, "share of writes")->check(CLI::Range(0.0, 1.0));
  app.add_option("--faults", a.faults,
                 "comma list of crash-stop,kill,pause,partition,wipe,restore,reconfigure (or "
                 "none); default: all");
  app.add_option("--bias", a.bias,
                 "lag-then-lose-data: repeat kill L; at once wipe or restore X; pause a third "
                 "(issue 10, scenario 1) instead of random faults")
      ->check(CLI::IsMember({"none", "lag-then-lose-data"}));
  app.add_flag("--reconfigure-readd", a.reconfigure_readd,
               "reconfigure: also shrink, and add back a replica that left a token (today such "
               "a replica refuses to rejoin: docs/chaos.md)");
  app.add_flag("--loopback", a.loopback,
               "no namespaces: 127.0.0.1, no partitions (leave partition out of --faults)");
  app.add_option("--dir", a.work_dir, "run directory (kept); default: a temporary one, removed on success");
  // The exercise a run must show, or it exits 2 (chaos/exercise.h).
  app.add_option("--min-ok-ops", a.min_ok_ops,
                 "ok writes, and ok reads, the run needs (each); default 2 per second of "
                 "--duration");
  app.add_option("--min-ok-ops-per-worker", a.min_ok_ops_per_worker,
                 "ok writes, and ok reads, each worker needs; default 0.2 per second of "
                 "--duration");
  app.add_option("--min-faults-per-kind", a.min_faults_per_kind,
                 "times each --faults kind (and --bias scenario) must be injected and healed; "
                 "default 1 per 90 s of --duration, at least 1")
      ->check(CLI::NonNegativeNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return tokenstore::chaos::Run(a);
}
