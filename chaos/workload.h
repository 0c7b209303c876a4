// The client side of a fault run: worker threads, each a Jepsen "process", doing random
// writes at each token's writer and reads at random readers, every operation recorded as a
// SPEC section 9 history event (invoke before sending; then ok, fail or info).
//
// Outcomes are classified conservatively, because a wrong `fail` would make the checker
// wrong: a write is `fail` only on errors the writer gives before it takes a timestamp
// (INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND); every other write error is `info`,
// after which the worker continues under a fresh process id. A read that fails is `fail`: a
// read's write-back only ever stores a value some write already issued, so a failed read
// changes no value the history can observe.
//
// The clients start on the run's original file and follow online reconfigurations on their
// own (client/token_client.h); what they learn also steers the workers' choice of reader, so
// reads go to the token's replicas now rather than to the ones the file names.
//
// Thread-safety: Start/Stop from one thread; the counters may be read after Stop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "chaos/exercise.h"
#include "checker/history.h"
#include "client/token_client.h"
#include "common/mutex.h"
#include "config/cluster_config.h"

namespace tokenstore::chaos {

// Nanoseconds on the monotonic clock since the run started; shared with the nemesis log.
class RunClock {
 public:
  int64_t Now() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now() - start_)
        .count();
  }

 private:
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Appends events with their time taken under one lock, so that the file's order is the
// events' real-time order.
class HistoryRecorder {
 public:
  HistoryRecorder(checker::HistoryWriter& writer, const RunClock& clock)
      : writer_(writer), clock_(clock) {}
  void Record(checker::Event e);

 private:
  Mutex mu_;
  checker::HistoryWriter& writer_;
  const RunClock& clock_;
};

struct WorkloadOptions {
  int workers = 6;
  double write_fraction = 0.3;
  uint64_t seed = 1;
  std::chrono::milliseconds timeout{1000};  // every request's deadline
};

class Workload {
 public:
  Workload(const ClusterConfig& config, HistoryRecorder& history, WorkloadOptions options);
  ~Workload() { Stop(); }

  void Start();
  void Stop();  // lets every in-flight operation complete (bounded by the timeout)

  // Hold(true): workers start no new operation until Hold(false); returns once the
  // operations in flight completed (bounded by the request timeout). For the nemesis, to
  // line up fault steps without client traffic in between (see nemesis.h).
  void Hold(bool on);
  std::chrono::milliseconds request_timeout() const { return options_.timeout; }

  // Each worker's operations, by outcome (index: the worker).
  std::vector<ClientCounts> counts() const;

 private:
  void Run(int worker);
  // The replicas a read of `token` picks from: the newest configuration any of the clients
  // adopted for it (online reconfiguration), else the file's.
  std::vector<std::string> ReadersOf(const TokenReplication& token) const;
  void Learned(const std::string& token, const ::tokenstore::ReplicaSet& newer);
  void Count(int worker, checker::OpFunction f, checker::EventType t);

  const ClusterConfig& config_;
  std::vector<TokenReplication> tokens_;  // every token of config_, in file order
  HistoryRecorder& history_;
  const WorkloadOptions options_;
  struct Clients {
    std::unique_ptr<TokenClient> writer;                              // writes go to the writer
    std::map<std::string, std::unique_ptr<TokenClient>> readers;      // pinned per node
  };
  Clients clients_[2];  // [0]: unary transport, [1]: session transport; worker w uses w % 2
  std::atomic<bool> stop_{false};
  std::atomic<bool> held_{false};
  std::atomic<int> in_flight_{0};  // operations between their invoke and their outcome
  std::atomic<int64_t> next_process_{0};
  std::atomic<uint64_t> next_name_{0};
  std::vector<std::thread> threads_;
  mutable Mutex views_mu_;
  // By token. Spelled in full: chaos::ReplicaSet (replicas.h) is the replica processes.
  std::map<std::string, ::tokenstore::ReplicaSet> views_ GUARDED_BY(views_mu_);
  mutable Mutex counts_mu_;
  std::vector<ClientCounts> counts_ GUARDED_BY(counts_mu_);  // one per worker
};

}  // namespace tokenstore::chaos
