// An in-memory network for driving ReplicaCore nodes in unit tests.
//
// Messages travel through a single event queue in virtual time, so a test is single-threaded
// and reproducible from its seed. Faults: random delays, dropped messages (the caller times
// out), nodes that are down (UNAVAILABLE) and links that hold their messages until released.
// A node crash-stopped for a token (ReplicaCore::IsCrashed) answers nothing about it, as the
// real server does.
//
// Deadlines are real steady_clock time points (the core computes them); the network turns
// the time left at send into a virtual timeout, so a silent node costs its caller exactly
// that virtual time and nothing else.
//
// Thread-safety: none; drive everything from the test's thread with InlineExecutors.
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

#include "replica/peer_transport.h"
#include "replica/replica_core.h"

namespace tokenstore::testing {

class SimNetwork {
 public:
  using Duration = std::chrono::microseconds;

  explicit SimNetwork(uint64_t seed);
  ~SimNetwork();

  // `core` must outlive the network's use of it.
  void AddNode(const std::string& node, ReplicaCore* core) { nodes_[node] = core; }
  // The outgoing side of `node`.
  PeerTransport& TransportOf(const std::string& node);

  void SetDelay(Duration min, Duration max) { min_delay_ = min, max_delay_ = max; }
  void SetDropProbability(double p) { drop_probability_ = p; }
  void SetDown(const std::string& node, bool down);
  // Messages from `from` to `to` (either direction of a call) wait until the link opens.
  void SetHeld(const std::string& from, const std::string& to, bool held);
  // Loses the messages from `from` to `to` that a held link keeps (their callers time out).
  void DropHeld(const std::string& from, const std::string& to);

  Duration now() const { return now_; }
  // Runs the next event; false when the queue is empty.
  bool Step();
  // Runs events until none is left or `max_events` ran. Returns the number run.
  size_t RunUntilIdle(size_t max_events = 1'000'000);
  // Runs events while `keep_going()` and events remain.
  void RunWhile(const std::function<bool()>& keep_going, size_t max_events = 1'000'000);

  uint64_t messages_sent() const { return messages_sent_; }
  uint64_t messages_dropped() const { return messages_dropped_; }

 private:
  class NodeTransport;
  struct Call;

  void Schedule(Duration at, std::function<void()> fn);
  Duration RandomDelay();
  // Sends a request from `from` to `to`; `handle` runs at the destination and produces the
  // reply delivery (or nothing, for a silent node).
  CancelFn StartCall(const std::string& from, const std::string& to, const std::string& token,
                     Clock::time_point deadline, std::function<void(ReplicaCore&)> handle,
                     std::shared_ptr<Call> call);
  void Deliver(const std::string& from, const std::string& to, std::function<void()> fn);

  struct Event {
    Duration at;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  std::mt19937_64 rng_;
  Duration now_{0};
  uint64_t seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::map<std::string, ReplicaCore*> nodes_;
  std::map<std::string, std::unique_ptr<NodeTransport>> transports_;
  std::set<std::string> down_;
  std::set<std::pair<std::string, std::string>> held_;
  std::map<std::pair<std::string, std::string>, std::vector<std::function<void()>>> parked_;
  Duration min_delay_{100};
  Duration max_delay_{1000};
  double drop_probability_ = 0;
  uint64_t messages_sent_ = 0;
  uint64_t messages_dropped_ = 0;
};

}  // namespace tokenstore::testing
