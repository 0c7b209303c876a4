// The exercise a fault run must show (see exercise.h).
#include "chaos/exercise.h"

#include <algorithm>
#include <cmath>

namespace tokenstore::chaos {

ClientCounts Sum(const std::vector<ClientCounts>& workers) {
  ClientCounts total;
  for (const ClientCounts& w : workers) {
    total.writes += w.writes;
    total.reads += w.reads;
  }
  return total;
}

ExerciseMinimums DefaultMinimums(double duration_s) {
  ExerciseMinimums min;
  min.ok_ops = static_cast<uint64_t>(std::ceil(2 * duration_s));
  min.ok_ops_per_worker = static_cast<uint64_t>(std::ceil(0.2 * duration_s));
  min.faults_per_kind = std::max(1, static_cast<int>(duration_s / 90));
  return min;
}

namespace {

void CheckOps(const std::string& what, uint64_t ok, uint64_t minimum,
              std::vector<std::string>* out) {
  if (ok < minimum) {
    out->push_back(what + ": " + std::to_string(ok) + " ok, at least " + std::to_string(minimum) +
                   " needed");
  }
}

}  // namespace

std::vector<std::string> Shortfalls(const Exercise& e, const ExerciseMinimums& min) {
  std::vector<std::string> out;
  const bool writes = e.write_fraction > 0, reads = e.write_fraction < 1;
  const ClientCounts total = Sum(e.workers);
  if (writes) CheckOps("writes", total.writes.ok, min.ok_ops, &out);
  if (reads) CheckOps("reads", total.reads.ok, min.ok_ops, &out);
  for (size_t i = 0; i < e.workers.size(); ++i) {
    const std::string worker = "worker " + std::to_string(i) + " ";
    if (writes) CheckOps(worker + "writes", e.workers[i].writes.ok, min.ok_ops_per_worker, &out);
    if (reads) CheckOps(worker + "reads", e.workers[i].reads.ok, min.ok_ops_per_worker, &out);
  }
  const std::vector<std::string> faults = FaultShortfalls(e.requested, e.faults, e.scenarios, min);
  out.insert(out.end(), faults.begin(), faults.end());
  return out;
}

std::vector<std::string> FaultShortfalls(const std::set<FaultKind>& requested,
                                         const std::map<FaultKind, FaultTally>& faults,
                                         std::optional<int> scenarios,
                                         const ExerciseMinimums& min) {
  std::vector<std::string> out;
  for (FaultKind k : requested) {
    const auto it = faults.find(k);
    const FaultTally t = it == faults.end() ? FaultTally{} : it->second;
    if (t.injected < min.faults_per_kind || t.healed < min.faults_per_kind) {
      out.push_back(std::string(FaultKindName(k)) + ": injected " + std::to_string(t.injected) +
                    ", healed " + std::to_string(t.healed) + "; at least " +
                    std::to_string(min.faults_per_kind) + " of each needed");
    }
  }
  if (scenarios && *scenarios < min.faults_per_kind) {
    out.push_back("lag-then-lose-data scenarios: " + std::to_string(*scenarios) +
                  " completed, at least " + std::to_string(min.faults_per_kind) + " needed");
  }
  return out;
}

std::optional<std::string> CannotRun(const std::set<FaultKind>& requested, bool namespaces,
                                     const std::string& why_not_namespaces) {
  if (namespaces || !requested.count(FaultKind::kPartition)) return std::nullopt;
  return "--faults asks for partition, which needs a network namespace per replica (as root, "
         "without --loopback), and there are none here: " +
         why_not_namespaces + "; leave partition out of --faults to run without it";
}

}  // namespace tokenstore::chaos
