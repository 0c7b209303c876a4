// An in-memory network for driving ReplicaCore nodes in unit tests and in the simulator
// (sim/).
//
// Messages travel through a single event queue in virtual time, so a run is single-threaded
// and reproducible from its seed. Faults: random delays (with an optional slow tail, which
// reorders messages), dropped messages (the caller times out), duplicated messages, links cut
// one way (partitions), nodes that are down (UNAVAILABLE), links that hold their messages
// until released, and crashed processes (Crash: the node's calls in flight die with it).
// Fail-silence follows ReplicaCore::MayAnswer, asked when a request arrives and again when
// its answer leaves, as the gRPC services do.
//
// The network is also the nodes' clock (CoreClock): now() is the virtual time, so a deadline
// the core computes is a point in virtual time, and a silent node costs its caller exactly
// the time the deadline leaves and nothing else.
//
// Thread-safety: none; drive everything from one thread with executors that run on it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/core_clock.h"
#include "replica/peer_transport.h"
#include "replica/replica_core.h"

namespace tokenstore::testing {

class SimNetwork final : public CoreClock {
 public:
  using Duration = std::chrono::microseconds;

  explicit SimNetwork(uint64_t seed);
  ~SimNetwork() override;

  // The virtual time as the core's clock: the time point `elapsed()` after the clock's epoch.
  Clock::time_point now() const override {
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(now_));
  }
  Duration elapsed() const { return now_; }

  // `core` must outlive the network's use of it; a later call for the same node replaces it.
  void AddNode(const std::string& node, ReplicaCore* core) { nodes_[node] = core; }
  // The outgoing side of `node`'s current process (a new one after Crash).
  PeerTransport& TransportOf(const std::string& node);
  // The process of `node` dies: requests in flight to it are lost, calls it made never
  // complete (their callbacks are dropped with the process), and it is unknown (UNAVAILABLE
  // to callers) until AddNode gives it a core again.
  void Crash(const std::string& node);

  void SetDelay(Duration min, Duration max) { min_delay_ = min, max_delay_ = max; }
  // With probability `p` a message takes up to `max` instead (overtaken by later ones).
  void SetSlowTail(double p, Duration max) { slow_probability_ = p, slow_max_ = max; }
  void SetDropProbability(double p) { drop_probability_ = p; }
  // With probability `p` a message between nodes arrives twice.
  void SetDuplicateProbability(double p) { duplicate_probability_ = p; }
  void SetDown(const std::string& node, bool down);
  // Messages from `from` to `to` are lost while the link is cut (one direction).
  void SetCut(const std::string& from, const std::string& to, bool cut);
  void HealCuts() { cut_.clear(); }
  // Messages from `from` to `to` (either direction of a call) wait until the link opens.
  void SetHeld(const std::string& from, const std::string& to, bool held);
  // Loses the messages from `from` to `to` that a held link keeps (their callers time out).
  void DropHeld(const std::string& from, const std::string& to);

  // Runs `fn` at virtual time `at` (not before now), after what is already due then.
  void At(Duration at, std::function<void()> fn);
  void After(Duration delay, std::function<void()> fn) { At(now_ + delay, std::move(fn)); }
  // Carries a message from `from` to `to` with this network's faults (delay, loss, cuts,
  // held links, and duplication when `may_duplicate`); `fn` runs at its arrival.
  void Send(const std::string& from, const std::string& to, std::function<void()> fn,
            bool may_duplicate = true);
  // A random delay as SetDelay and SetSlowTail describe.
  Duration RandomDelay();

  // Runs the next event (skipping timeouts of calls that completed); false when none is left.
  bool Step();
  // Runs events until none is left or `max_events` ran. Returns the number run.
  size_t RunUntilIdle(size_t max_events = 1'000'000);
  // Runs events while `keep_going()` and events remain.
  void RunWhile(const std::function<bool()>& keep_going, size_t max_events = 1'000'000);

  uint64_t messages_sent() const { return messages_sent_; }
  uint64_t messages_dropped() const { return messages_dropped_; }
  uint64_t messages_duplicated() const { return messages_duplicated_; }

 private:
  class NodeTransport;
  struct Call;

  // Sends a request from `from` (its process `epoch`) to `to`; `handle` runs at the
  // destination, answering through the function it is given (or never, for a silent node).
  CancelFn StartCall(const std::string& from, uint64_t epoch, const std::string& to,
                     const std::string& token, Clock::time_point deadline,
                     std::function<void(ReplicaCore&)> handle, std::shared_ptr<Call> call);
  // Completes `call` with `st` unless it completed already or its caller's process died.
  void Fail(Call& call, Status st);
  bool Alive(const std::string& node, uint64_t epoch) const;
  uint64_t EpochOf(const std::string& node) const;

  struct Event {
    Duration at;
    uint64_t seq;
    std::function<void()> fn;
    // Set for a call's timeout: once the call completed (or its caller died) the event is
    // skipped without moving the clock, so a run goes idle without waiting for the deadlines
    // of calls that were answered.
    std::shared_ptr<Call> timeout_of;
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  std::mt19937_64 rng_;
  Duration now_{0};
  uint64_t seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::map<std::string, ReplicaCore*> nodes_;
  std::map<std::string, std::unique_ptr<NodeTransport>> transports_;
  std::vector<std::unique_ptr<NodeTransport>> dead_transports_;  // cores of crashed processes
  std::map<std::string, uint64_t> epochs_;  // node -> its process's number (raised by Crash)
  std::set<std::string> down_;
  std::set<std::pair<std::string, std::string>> held_;
  std::set<std::pair<std::string, std::string>> cut_;
  std::map<std::pair<std::string, std::string>, std::vector<std::function<void()>>> parked_;
  Duration min_delay_{100};
  Duration max_delay_{1000};
  double slow_probability_ = 0;
  Duration slow_max_{0};
  double drop_probability_ = 0;
  double duplicate_probability_ = 0;
  uint64_t messages_sent_ = 0;
  uint64_t messages_dropped_ = 0;
  uint64_t messages_duplicated_ = 0;
};

}  // namespace tokenstore::testing
