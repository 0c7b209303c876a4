// The nemesis of a fault run: at random (seeded) times it injects one of
//   crash-stop  token-admin's crash mark on a (node, token) pair, later revived;
//   kill        SIGKILL of a replica, restarted after a while (its RocksDB must hold);
//   pause       SIGSTOP of a replica, SIGCONT after a while;
//   partition   links between replicas cut in the kernel: a minority cut off from the rest,
//               or a single link (only with network namespaces);
// each healed after a random time, and never more than fault_model.h allows: every token
// keeps a healthy, connected majority. Every injection and heal is logged with its time.
//
// Thread-safety: not thread-safe; driven from the main thread (it starts replicas, see
// replicas.h).
#pragma once

#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "admin/admin_client.h"
#include "chaos/fault_model.h"
#include "chaos/netns.h"
#include "chaos/replicas.h"
#include "chaos/workload.h"

namespace tokenstore::chaos {

enum class FaultKind { kCrashStop, kKill, kPause, kPartition };
const char* FaultKindName(FaultKind k);

struct NemesisOptions {
  std::set<FaultKind> kinds;  // the kinds allowed
  double min_gap_s = 0.5, max_gap_s = 3.0;      // between two injections
  double min_length_s = 1.0, max_length_s = 6.0;  // how long a fault lasts
  uint64_t seed = 1;
};

class Nemesis {
 public:
  // `network` is null when replicas run on loopback (no partitions then).
  Nemesis(NemesisOptions options, ReplicaSet& replicas, Network* network,
          std::vector<TokenNodes> tokens, const RunClock& clock, std::vector<std::FILE*> logs);

  // Heals the faults that are due and injects a new one when its time has come.
  void Step();
  // Heals every fault (resumes, restarts, reconnects, revives). False if a replica could not
  // be brought back.
  bool HealAll();

  std::map<FaultKind, int> injected() const { return injected_; }
  int unexpected_exits() const { return unexpected_exits_; }

 private:
  struct Active {
    FaultKind kind;
    int node = -1;                         // crash-stop, kill, pause
    std::string token;                     // crash-stop
    std::vector<std::pair<int, int>> cut;  // partition
    double until_s = 0;
  };

  double NowSeconds() const { return clock_.Now() / 1e9; }
  void Log(const std::string& what);
  bool TryInject();
  bool Heal(const Active& f);  // false: not possible yet (node down or paused)
  double Uniform(double lo, double hi) { return std::uniform_real_distribution<>(lo, hi)(rng_); }
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  const NemesisOptions options_;
  ReplicaSet& replicas_;
  Network* network_;
  const std::vector<TokenNodes> tokens_;
  const RunClock& clock_;
  const std::vector<std::FILE*> logs_;  // stdout and the run's faults.log
  std::mt19937_64 rng_;
  AdminClient admin_{AdminOptions{std::chrono::milliseconds(2000)}};
  FaultState state_;
  std::vector<Active> active_;
  double next_injection_s_;
  std::map<FaultKind, int> injected_;
  int unexpected_exits_ = 0;
};

}  // namespace tokenstore::chaos
