// What a fault run must have exercised to count as a test (issue 11): enough successful
// writes and reads, over the run and by each worker, and every fault kind it asked for both
// injected and healed (a restarted replica SERVING again) a minimum number of times. A run
// that is linearizable but did less has tested too little and must not pass (token-chaos
// exits 2, chaos/run_outcome.h). So must a run asked for a fault kind that cannot run at all
// where it runs (partitions without network namespaces).
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "chaos/fault_kind.h"

namespace tokenstore::chaos {

struct OutcomeCounts {
  uint64_t ok = 0, fail = 0, info = 0;
  uint64_t all() const { return ok + fail + info; }
  OutcomeCounts& operator+=(const OutcomeCounts& o) {
    ok += o.ok;
    fail += o.fail;
    info += o.info;
    return *this;
  }
};

// One client worker's operations (or a sum of them).
struct ClientCounts {
  OutcomeCounts writes, reads;
};

ClientCounts Sum(const std::vector<ClientCounts>& workers);

struct FaultTally {
  int injected = 0;
  int healed = 0;  // healed after being injected: revived, resumed, reconnected, SERVING again
};

struct ExerciseMinimums {
  uint64_t ok_ops = 0;             // ok writes over the run, and ok reads (each)
  uint64_t ok_ops_per_worker = 0;  // ok writes of each worker, and ok reads (each)
  int faults_per_kind = 0;  // each kind asked for, injected and healed; also --bias scenarios
};

// The defaults for a run of `duration_s` seconds: 2 ok writes and 2 ok reads per second, 0.2
// per second for each worker, and each fault kind once per 90 s (at least once). Measured on
// the 2-core development machine while other builds ran (180 s, 6 workers): about 60 ok
// writes and 140 ok reads per second, and the nemesis (nemesis.h) injects each kind about
// twice a minute. So a busy machine clears them by a wide margin, while a run in which the
// store, a worker or the nemesis stalled does not.
ExerciseMinimums DefaultMinimums(double duration_s);

struct Exercise {
  double write_fraction = 0.3;  // 0: no writes to expect; 1: no reads
  std::vector<ClientCounts> workers;
  std::set<FaultKind> requested;           // --faults
  std::map<FaultKind, FaultTally> faults;  // what the nemesis did, by kind
  std::optional<int> scenarios;            // --bias runs: scenarios completed
};

// What `e` did less than `min` asks, one line each (e.g. "restore: injected 1, healed 0; at
// least 2 of each needed"); empty: exercised enough. Writes (reads) are not asked for when
// the write fraction is 0 (1).
std::vector<std::string> Shortfalls(const Exercise& e, const ExerciseMinimums& min);

// The fault part of Shortfalls: each kind in `requested` injected and healed fewer than
// `min.faults_per_kind` times, and --bias scenarios (when `scenarios` is set) too few. A run
// goes on past its planned duration while this is not empty (token-chaos --max-extra).
std::vector<std::string> FaultShortfalls(const std::set<FaultKind>& requested,
                                         const std::map<FaultKind, FaultTally>& faults,
                                         std::optional<int> scenarios,
                                         const ExerciseMinimums& min);

// Why some kind in `requested` cannot run here, or nullopt. `namespaces`: each replica has
// its own network namespace (else `why_not_namespaces` says why not).
std::optional<std::string> CannotRun(const std::set<FaultKind>& requested, bool namespaces,
                                     const std::string& why_not_namespaces);

}  // namespace tokenstore::chaos
