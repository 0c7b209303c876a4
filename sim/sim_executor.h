// The executor of one simulated replica process: each task runs in the simulation's event
// queue after a latency the simulation draws (for the storage executor: the time a disk
// sync takes), so tasks overlap and reorder as on a thread pool. Kill() is the process's
// crash: the tasks still waiting never run, and later ones are dropped.
//
// Thread-safety: none; the simulator's one thread.
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include "replica/executor.h"
#include "replica/testing/sim_network.h"

namespace tokenstore::sim {

class SimExecutor final : public Executor {
 public:
  using Latency = std::function<testing::SimNetwork::Duration()>;

  // `net` (its event queue) must outlive every task submitted.
  SimExecutor(testing::SimNetwork& net, Latency latency)
      : net_(net), latency_(std::move(latency)) {}

  void Submit(std::function<void()> task) override {
    if (!*alive_) return;
    net_.After(latency_(), [alive = alive_, task = std::move(task)] {
      if (*alive) task();
    });
  }

  void Kill() { *alive_ = false; }
  bool alive() const { return *alive_; }

 private:
  testing::SimNetwork& net_;
  const Latency latency_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tokenstore::sim
