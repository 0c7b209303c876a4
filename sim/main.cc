// token-sim: deterministic simulation of a whole cluster, one seed per run (sim/simulation.h).
//
//   token-sim --seeds N [--first-seed S] [--replicas R] [--ops M] [--unsafe-bug NAME]
//             [--reconfigure] [--admin-skips-install] [--history FILE] [--json]
//
// Exit codes as token-chaos's (chaos/run_outcome.h): 0 every seed linearizable with no broken
// invariant, 1 a violation, 2 a usage error or a malformed history, 3 the checker's budget ran
// out on some seed and none failed.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "common/cli.h"
#include "common/json.h"
#include "common/log.h"
#include "sim/report.h"
#include "sim/simulation.h"

namespace tokenstore::sim {
namespace {

struct Args {
  uint64_t seeds = 0;
  uint64_t first_seed = 1;
  int replicas = 3;
  uint64_t ops = 1000;
  std::string unsafe_bug = "none";
  std::string history;
  bool json = false;
  bool reconfigure = false;
  bool admin_skips_install = false;
};

struct Totals {
  uint64_t seeds = 0, ops = 0, violations = 0, unknown = 0, malformed = 0, faults = 0;
  uint64_t refusals = 0;  // nodes whose lifecycle refused to start (not a violation)
  uint64_t restores = 0, copies_detected = 0;
  uint64_t reconfigs_started = 0, reconfigs_completed = 0, stuck_replicas = 0;
  std::optional<uint64_t> first_failing;
};

int ExitCode(const Totals& t) {
  if (t.violations > 0) return static_cast<int>(chaos::RunOutcome::kViolation);
  if (t.malformed > 0) return static_cast<int>(chaos::RunOutcome::kNotTested);
  if (t.unknown > 0) return static_cast<int>(chaos::RunOutcome::kUnknown);
  return static_cast<int>(chaos::RunOutcome::kLinearizable);
}

void Count(const SimResult& r, Totals& t) {
  ++t.seeds;
  t.ops += r.verdict.operations;
  t.faults += r.stats.faults;
  t.refusals += r.stats.refusals;
  t.restores += r.stats.restores;
  t.copies_detected += r.stats.copies_detected;
  t.reconfigs_started += r.stats.reconfigs_started;
  t.reconfigs_completed += r.stats.reconfigs_completed;
  t.stuck_replicas += r.stats.stuck_replicas;
  switch (r.outcome) {
    case chaos::RunOutcome::kViolation:
      ++t.violations;
      if (!t.first_failing) t.first_failing = r.seed;
      break;
    case chaos::RunOutcome::kUnknown:
      ++t.unknown;
      break;
    case chaos::RunOutcome::kNotTested:
      ++t.malformed;
      if (!t.first_failing) t.first_failing = r.seed;
      break;
    case chaos::RunOutcome::kLinearizable:
      break;
  }
}

bool WriteHistory(const std::string& path, const SimResult& r) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << HistoryText(r.history);
  out.close();
  if (out) return true;
  std::cerr << "token-sim: cannot write the history to " << path << "\n";
  return false;
}

void PrintSummary(const Args& a, const Totals& t, double seconds) {
  const double per_minute = seconds > 0 ? static_cast<double>(t.ops) * 60.0 / seconds : 0;
  if (a.json) {
    JsonObject o;
    o.Add("seeds", t.seeds).Add("first_seed", a.first_seed).Add("replicas", a.replicas);
    o.Add("ops", t.ops).Add("violations", t.violations);
    if (t.first_failing) {
      o.Add("first_failing_seed", *t.first_failing);
    } else {
      o.AddNull("first_failing_seed");
    }
    o.Add("unknown", t.unknown).Add("faults", t.faults).Add("refusals", t.refusals);
    o.Add("restores", t.restores).Add("copies_detected", t.copies_detected);
    o.Add("unsafe_bug", a.unsafe_bug);
    if (a.reconfigure || a.admin_skips_install) {
      o.Add("reconfigs_started", t.reconfigs_started)
          .Add("reconfigs_completed", t.reconfigs_completed)
          .Add("stuck_replicas", t.stuck_replicas);
    }
    o.Add("seconds", seconds).Add("ops_per_minute", per_minute);
    std::cout << o.str() << "\n";
    return;
  }
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.1f s, %.0f checked operations/min", seconds, per_minute);
  std::cout << "token-sim: " << t.seeds << " seeds from " << a.first_seed << ", " << a.replicas
            << " replicas: " << t.ops << " operations checked, " << t.faults << " faults, "
            << t.violations << " violation(s)"
            << (t.first_failing ? " (first: seed " + std::to_string(*t.first_failing) + ")" : "")
            << ", " << t.unknown << " unknown, " << t.refusals << " node(s) refused to start; "
            << rate << "\n";
}

int Run(const Args& a, const SimOptions& base) {
  Totals totals;
  std::optional<SimResult> kept;  // the history --history writes
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < a.seeds; ++i) {
    SimOptions o = base;
    o.seed = a.first_seed + i;
    SimResult r = RunSimulation(o);
    const bool failed = r.outcome == chaos::RunOutcome::kViolation ||
                        r.outcome == chaos::RunOutcome::kNotTested;
    if (failed && !totals.first_failing) {
      std::cerr << FailureReport(r) << "Replay: token-sim --seeds 1 --first-seed " << r.seed
                << " --replicas " << a.replicas << " --ops " << a.ops
                << (a.unsafe_bug != "none" ? " --unsafe-bug " + a.unsafe_bug : "")
                << (a.admin_skips_install ? " --admin-skips-install"
                                          : a.reconfigure ? " --reconfigure" : "")
                << " --history FILE\n\n";
    }
    Count(r, totals);
    if (!a.history.empty() && (!kept || (failed && totals.first_failing == r.seed))) {
      kept = std::move(r);
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (kept && !WriteHistory(a.history, *kept)) return kExitUsage;
  PrintSummary(a, totals, seconds);
  return ExitCode(totals);
}

}  // namespace
}  // namespace tokenstore::sim

int main(int argc, char** argv) {
  using namespace tokenstore;
  sim::Args a;
  CLI::App app{"token-sim: the real replica core in a deterministic simulation of a whole "
               "cluster (network, disks, clients, faults), one seed per run; every history is "
               "checked for linearizability. Exit 0 clean, 1 violation, 3 checker budget out."};
  AddVersionFlag(app, "token-sim");
  app.add_option("--seeds", a.seeds, "number of seeds to run")->required()->check(CLI::Range(1ull, 1ull << 40));
  app.add_option("--first-seed", a.first_seed, "the first seed")->capture_default_str();
  app.add_option("--replicas", a.replicas, "nodes in the cluster")
      ->check(CLI::IsMember({3, 5, 7}))
      ->capture_default_str();
  app.add_option("--ops", a.ops, "client operations per seed")
      ->check(CLI::Range(1ull, 100'000'000ull))
      ->capture_default_str();
  const std::vector<std::string_view> bug_names = UnsafeBugNames();
  app.add_option("--unsafe-bug", a.unsafe_bug, "a deliberate protocol break every replica runs")
      ->check(CLI::IsMember(std::vector<std::string>(bug_names.begin(), bug_names.end())));
  app.add_option("--history", a.history,
                 "write the history (JSON Lines) of the first failing seed, or of the first "
                 "seed when none fails");
  app.add_flag("--json", a.json, "print one JSON object with the totals");
  app.add_flag("--reconfigure", a.reconfigure,
               "the nemesis also reconfigures tokens online (seal, install, activate)");
  app.add_flag("--admin-skips-install", a.admin_skips_install,
               "with --reconfigure: a deliberate bug of the simulated admin, which skips the "
               "transfer (Install) phase");
  if (std::optional<CliExit> exit = ParseCommandLine(app, argc, argv, "token-sim",
                                                     "Run token-sim --help for usage.")) {
    std::cout << exit->out;
    std::cerr << exit->err;
    return exit->code;
  }
  // The simulated nodes' own log lines (a reconfiguration's seals, a stale file) are not the
  // run's output: the trace is.
  LogOptions log;
  log.level = LogLevel::kError;
  ConfigureLog(log);
  sim::SimOptions base;
  base.replicas = a.replicas;
  base.ops = a.ops;
  base.reconfigure = a.reconfigure || a.admin_skips_install;
  base.admin_skips_install = a.admin_skips_install;
  base.bug = ParseUnsafeBug(a.unsafe_bug).value_or(UnsafeBug::kNone);
  return sim::Run(a, base);
}
