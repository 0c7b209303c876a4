// The nemesis of a fault run: at random (seeded) times it injects one of
//   crash-stop  token-admin's crash mark on a (node, token) pair, later revived;
//   kill        SIGKILL of a replica, restarted after a while (its RocksDB must hold);
//   pause       SIGSTOP of a replica, SIGCONT after a while;
//   partition   links between replicas cut in the kernel: a minority cut off from the rest,
//               or a single link (only with network namespaces);
//   wipe        SIGKILL of a replica and its data directory removed; restarted on nothing;
//   restore     SIGKILL of a replica and its data directory replaced by the copy taken the
//               last time it was stopped by kill or wipe; restarted on that older state;
//   reconfigure an online reconfiguration of one token (admin/reconfigure.h, in-process over
//               gRPC): its writer moves to another replica of its set, a reader is swapped
//               for a replica outside the set, or the set grows or shrinks by one (never
//               below 3 replicas, 2 with 3 nodes); healed by a second reconfiguration back to
//               the writer and replicas it had before (at a new epoch). A replica that left
//               a token is never added back to it unless NemesisOptions::reconfigure_readd
//               (see there): so by default no shrinks, and the heal of a swap is a no-op. The move needs a
//               healthy, connected majority of the old set (seal) and of the new one
//               (install, activate), so both are checked against the faults in place, and
//               the new writer and any added replica must be healthy. After each move the
//               replicas' configuration file is rewritten with the new epochs (as
//               docs/operations.md asks of an operator), so a replica restarted later starts
//               on it; the clients keep the original file and follow the nodes' answers;
// each healed after a random time, and never more than fault_model.h allows: every token
// keeps a healthy, connected majority. A restarted replica counts as faulty until its gRPC
// health reports SERVING (a wiped or restored one rebuilds from the others first). Every
// injection and heal is logged with its time.
//
// With Bias::kLagThenLoseData the nemesis plays issue 10's first scenario over and over
// instead of random faults: kill a replica L (it misses the writes acknowledged meanwhile);
// hold the clients; restart L; as soon as L serves, wipe or restore another replica X and
// restart it at once; as soon as X serves, pause a third replica and let the clients go on.
// A replica that serves its lost state (the `skip-rebuild` bug) then lets reads at L,
// answered by L and X, return a value older than an acknowledged write. Every step keeps the
// safety rule above. The clients are held because any read at L or write that reaches L
// while X restarts (100-300 ms) repairs L's lag: without the hold, under the usual load,
// fewer than half of the scenarios left a stale value to find.
//
// Thread-safety: not thread-safe; driven from the main thread (it starts replicas, see
// replicas.h).
#pragma once

#include <cstdio>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "admin/admin_client.h"
#include "admin/reconfigure.h"
#include "chaos/exercise.h"
#include "chaos/fault_kind.h"
#include "chaos/fault_model.h"
#include "chaos/netns.h"
#include "chaos/replicas.h"
#include "chaos/workload.h"

namespace tokenstore::chaos {

enum class Bias { kNone, kLagThenLoseData };

struct NemesisOptions {
  std::set<FaultKind> kinds;  // the kinds allowed
  // kLagThenLoseData REQUIRES kinds to hold kill, pause, and wipe or restore.
  Bias bias = Bias::kNone;
  double min_gap_s = 0.5, max_gap_s = 3.0;      // between two injections
  double min_length_s = 1.0, max_length_s = 6.0;  // how long a fault lasts
  uint64_t seed = 1;
  // kReconfigure REQUIRES both: the run's configuration (every token of the TokenNodes, at
  // its addresses) and the file the replicas start with, rewritten after each move.
  const ClusterConfig* config = nullptr;
  std::string config_path;
  // Reconfigure: also add back a replica that left the token by an earlier move (shrinks,
  // and moves back over a shrink or swap). Off by default: such a replica refuses to rejoin
  // (it stays RETIRED for the older target, replica/replica_core.cc HandleActivate), so the
  // token silently runs one replica short, and a later move that needs it stays sealed.
  bool reconfigure_readd = false;
};

class Nemesis {
 public:
  // `network` is null when replicas run on loopback (no partitions then). `clients` (may be
  // null: no hold) is held during the steps of Bias::kLagThenLoseData.
  Nemesis(NemesisOptions options, ReplicaSet& replicas, Network* network,
          std::vector<TokenNodes> tokens, const RunClock& clock, std::vector<std::FILE*> logs,
          Workload* clients = nullptr);

  // Heals the faults that are due and injects a new one when its time has come.
  void Step();
  // Heals every fault (resumes, restarts, reconnects, revives). False if a replica could not
  // be brought back.
  bool HealAll();

  // By kind: how many faults were injected, and how many of those healed (revived, resumed,
  // reconnected; a restarted replica once it reports SERVING).
  std::map<FaultKind, FaultTally> faults() const { return faults_; }
  int unexpected_exits() const { return unexpected_exits_; }
  // Reconfigurations that did not complete after their retries (each a finding: the
  // token's majorities were healthy by the fault model).
  int failed_moves() const { return failed_moves_; }
  // Bias::kLagThenLoseData: how many times the scenario reached its last step (the pause).
  int scenarios() const { return scenarios_; }

 private:
  struct Active {
    FaultKind kind;
    int node = -1;                         // crash-stop, kill, pause
    std::string token;                     // crash-stop
    std::vector<std::pair<int, int>> cut;  // partition
    // reconfigure: `token` moved from `from` to `to` (the heal moves it back to `from`'s
    // writer and replicas, at the token's next epoch)
    ::tokenstore::ReplicaSet from, to;
    double until_s = 0;
    // False when a step of the injection failed (an admin call, a cut, a data dir change):
    // it is healed as usual but counts neither as injected nor as healed.
    bool took_effect = true;
  };

  // Where the lag-then-lose-data scenario stands (Bias::kLagThenLoseData).
  enum class Phase { kIdle, kLagging, kLosing };

  double NowSeconds() const { return clock_.Now() / 1e9; }
  void Log(const std::string& what);
  std::string Who(int node) const;
  // A random fault of `kind`.
  Active RandomFault(FaultKind kind);
  // The state after `f`, or nullopt when `f` does not apply (its node is not running and
  // serving, no copy to restore, links already cut) or would break the safety rule.
  std::optional<FaultState> After(const Active& f) const;
  // Injects `f` if After(f) allows it. False: nothing was done.
  bool Inject(Active f);
  // Reconfigure: a random move of a random token from its current configuration (f.token
  // empty when no move is possible).
  Active RandomMove();
  // Whether moving `token` to `to` (writer, readers) keeps the rule: see the class comment.
  bool MoveAllowed(const std::string& token, const ::tokenstore::ReplicaSet& to) const;
  // Moves `token` from its current configuration to `to`'s writer and readers at the next
  // epoch (retried a few times: each phase is idempotent); on success the tracked
  // configuration and the replicas' file follow. `why` goes to the log.
  bool Move(const std::string& token, const ::tokenstore::ReplicaSet& to, const std::string& why);
  std::vector<int> NodesOf(const ::tokenstore::ReplicaSet& s) const;
  std::string SetString(const ::tokenstore::ReplicaSet& s) const;  // "n1 [n1 n2 n3] e2"
  Status WriteConfigFile();
  void FinishUnfinishedMoves();  // one more try of each move in unfinished_ that can succeed
  bool TryInject();  // a few random candidates of each kind, the least injected kinds first
  // Bias::kLagThenLoseData, one phase each (see the class comment).
  void StepScenario(double now);
  void ScenarioKill(double now);
  void ScenarioLoseData(double now);
  void ScenarioPause(double now);
  int PickNodeOtherThan(std::initializer_list<int> not_these);
  void HoldClients(bool on);
  bool Heal(const Active& f);  // false: not possible yet (node down or paused)
  void HealDue(double now);    // the faults due at `now`
  // Starts a stopped replica; it leaves `down`, and `starting` and `lost_data` once its health
  // reports SERVING (waited for `wait`, then polled by PollStarting). False: not started.
  bool Restart(int node, std::chrono::milliseconds wait);
  void PollStarting();
  // How long healing a kill waits for the replica to serve before PollStarting takes over.
  std::chrono::milliseconds KillRestartWait() const;
  void MarkServing(int node);
  double Uniform(double lo, double hi) { return std::uniform_real_distribution<>(lo, hi)(rng_); }
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  const NemesisOptions options_;
  ReplicaSet& replicas_;
  Network* network_;
  std::vector<TokenNodes> tokens_;  // a reconfiguration changes a token's nodes
  const RunClock& clock_;
  const std::vector<std::FILE*> logs_;  // stdout and the run's faults.log
  Workload* const clients_;
  std::mt19937_64 rng_;
  AdminClient admin_{AdminOptions{std::chrono::milliseconds(2000)}};
  FaultState state_;
  std::vector<Active> active_;
  double next_injection_s_;
  std::map<FaultKind, FaultTally> faults_;
  std::map<int, FaultKind> restarting_;  // nodes restarted to heal a fault: its kind
  int unexpected_exits_ = 0;
  std::map<int, double> restarted_at_s_;  // nodes in state_.starting: when they were restarted
  std::map<int, double> copied_at_s_;     // when each node's data dir copy was taken
  // The crash-stop marks each node's copy holds (marks are durable: a restore brings back the
  // ones revived since the copy was taken, and the node then answers nothing for them).
  std::map<int, std::set<std::string>> marks_at_copy_;
  Phase phase_ = Phase::kIdle;
  int lagging_ = -1, losing_ = -1;  // L and X of the scenario
  int scenarios_ = 0;
  bool holding_ = false;  // clients held
  // Reconfigure: each token's configuration now, by id; the replicas' addresses by index.
  std::map<std::string, ::tokenstore::ReplicaSet> configs_;
  std::map<std::string, int> node_of_;
  std::map<std::string, std::set<int>> left_;  // by token: nodes a completed move removed
  int failed_moves_ = 0;
  // Moves that failed after their retries, by token: the target, tried again at each step
  // until it completes (the token may be sealed for it; no other move of it meanwhile).
  std::map<std::string, ::tokenstore::ReplicaSet> unfinished_;
  // Declared before the nodes: their in-flight activations report to it until they end.
  ActivationWarnings warnings_;
  std::unique_ptr<GrpcReconfigNodes> reconfig_nodes_;
};

}  // namespace tokenstore::chaos
