// One deterministic simulated run of a whole cluster (token-sim, issue 12).
//
// N replicas of the real ReplicaCore, each on a simulated disk (sim/sim_disk.h) with the real
// in-memory store, talk over the simulated network (replica/testing/sim_network.h); many
// simulated clients run writes, reads, creates and drops against them; a nemesis injects
// message loss, delay, reordering and duplication, partitions, crash-stop marks and revives,
// crashes and restarts that lose what was not synced, and disks wiped or replaced by an older
// copy (never more than a minority of a token's replicas at once; the node then goes through
// the real lifecycle: detection and rebuild). Everything runs on one thread in virtual time,
// driven by one seed: the same options give the same run, byte for byte.
//
// Checked: the invariants while the run goes (sim/invariants.h), and at the end the history
// (sim/history_recorder.h) by the project's linearizability checker.
//
// Thread-safety: RunSimulation is a pure function of its options (runs share nothing).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chaos/run_outcome.h"
#include "checker/history.h"
#include "checker/linearizability.h"
#include "checker/value_check.h"
#include "replica/unsafe_bug.h"

namespace tokenstore::sim {

struct SimOptions {
  uint64_t seed = 1;
  int replicas = 3;       // nodes in the cluster: 3, 5 or 7
  uint64_t ops = 1000;    // client operations to issue
  int clients = 12;       // simulated clients, each with one operation at a time
  UnsafeBug bug = UnsafeBug::kNone;  // given to every replica
  // The nemesis also reconfigures tokens online (docs/reconfiguration.md): a simulated admin
  // seals, transfers and activates a new configuration of a token over the simulated network.
  bool reconfigure = false;
  // A deliberate bug of the simulated admin (with `reconfigure`): it skips the transfer
  // (Install) phase, so the new set may not hold the latest value.
  bool admin_skips_install = false;
};

// What the nemesis and the nodes' lifecycles did, in virtual time, for a person reading a
// failure next to the history.
struct TraceLine {
  int64_t time = 0;  // virtual nanoseconds, as the history's times
  std::string what;
};

struct SimStats {
  uint64_t issued = 0;            // client operations started
  uint64_t faults = 0;            // faults the nemesis injected
  uint64_t refusals = 0;          // nodes whose lifecycle refused to start (they stay down)
  uint64_t restores = 0;          // disks replaced by an older copy
  uint64_t copies_detected = 0;   // of those, found older by their peers (then rebuilt)
  uint64_t reads_unresolved = 0;  // reads of undefined values no create could be named for
  uint64_t messages = 0;          // sent between nodes and clients
  uint64_t invariant_checks = 0;  // registers compared by the invariants
  // Online reconfigurations (with SimOptions::reconfigure): started (a new target), runs of
  // the admin (a first run and every resumption of an interrupted one, same target), and
  // completed (a majority of the new set activated).
  uint64_t reconfigs_started = 0;
  uint64_t reconfig_runs = 0;
  uint64_t reconfigs_completed = 0;
  uint64_t views_adopted = 0;     // clients that took a newer configuration a node attached
  // After the drain: up replicas of a token's final configuration that do not serve it at
  // that configuration (liveness only; the run stays judged by its safety checks).
  uint64_t stuck_replicas = 0;
  double virtual_seconds = 0;
};

struct SimResult {
  uint64_t seed = 0;
  std::vector<checker::Event> history;  // with line numbers (1-based)
  checker::Verdict verdict;
  // Every returned partial and final against the hash engine (a mismatch is a violation).
  checker::ValueCheck values;
  std::optional<std::string> invariant;  // the first invariant that broke, if any
  std::vector<TraceLine> trace;
  SimStats stats;
  chaos::RunOutcome outcome = chaos::RunOutcome::kLinearizable;

  bool violation() const { return outcome == chaos::RunOutcome::kViolation; }
};

// Runs one seed to its end. INVALID_ARGUMENT-like problems (a replica count outside 3, 5, 7)
// are the caller's to check (ValidateOptions).
SimResult RunSimulation(const SimOptions& options);
// Empty when the options can run; else why not.
std::string ValidateOptions(const SimOptions& options);

// The replication scheme of a run with `replicas` nodes (YAML, SPEC section 4): replicas + 1
// tokens with writers spread over the nodes, replica sets of 3, 5 and 7 nodes where the
// cluster has them, and every fourth token's writer not among its readers.
std::string ClusterYaml(int replicas);

}  // namespace tokenstore::sim
