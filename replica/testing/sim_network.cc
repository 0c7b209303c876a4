#include "replica/testing/sim_network.h"

namespace tokenstore::testing {

// The state of one call: completes exactly once, by reply, timeout or cancel.
struct SimNetwork::Call {
  bool completed = false;
  std::function<void(Status)> fail;  // completes with an error
};

class SimNetwork::NodeTransport final : public PeerTransport {
 public:
  NodeTransport(SimNetwork& net, std::string self) : net_(net), self_(std::move(self)) {}

  CancelFn GetRegister(const std::string& node, const std::string& token, uint64_t fingerprint,
                       Clock::time_point deadline,
                       std::function<void(StatusOr<Register>)> done) override {
    return Send<Register>(node, token, deadline, std::move(done),
                          [token, fingerprint, from = self_](ReplicaCore& core) -> StatusOr<Register> {
                            TOKENSTORE_RETURN_IF_ERROR(core.CheckPeerCall(token, from, fingerprint));
                            return core.HandleGetRegister(token);
                          });
  }

  CancelFn Store(const std::string& node, const std::string& token, uint64_t fingerprint,
                 const Register& reg, Clock::time_point deadline,
                 std::function<void(StatusOr<Stamp>)> done) override {
    return Send<Stamp>(node, token, deadline, std::move(done),
                       [token, fingerprint, reg, from = self_](ReplicaCore& core) -> StatusOr<Stamp> {
                         TOKENSTORE_RETURN_IF_ERROR(core.CheckPeerCall(token, from, fingerprint));
                         return core.HandleStore(token, reg);
                       });
  }

  CancelFn Probe(const std::string& node, const std::string& token, uint64_t fingerprint,
                 Clock::time_point deadline,
                 std::function<void(StatusOr<ProbeReply>)> done) override {
    return Send<ProbeReply>(node, token, deadline, std::move(done),
                            [token, fingerprint, from = self_](ReplicaCore& core) -> StatusOr<ProbeReply> {
                              TOKENSTORE_RETURN_IF_ERROR(core.CheckPeerCall(token, from, fingerprint));
                              return core.HandleProbe(token);
                            });
  }

  CancelFn Hello(const std::string& node, const HelloArgs& args, Clock::time_point deadline,
                 std::function<void(StatusOr<HelloReply>)> done) override {
    return Send<HelloReply>(node, /*token=*/"", deadline, std::move(done),
                            [args, from = self_](ReplicaCore& core) {
                              return core.lifecycle().HandleHello(from, args);
                            });
  }

 private:
  // A call to `node` whose answer `handle` computes there; `token` empty: not about a token
  // (never withheld by a crash-stop mark).
  template <typename Reply>
  CancelFn Send(const std::string& node, const std::string& token, Clock::time_point deadline,
                std::function<void(StatusOr<Reply>)> done,
                std::function<StatusOr<Reply>(ReplicaCore&)> handle) {
    auto call = std::make_shared<Call>();
    auto shared_done = std::make_shared<std::function<void(StatusOr<Reply>)>>(std::move(done));
    call->fail = [shared_done](Status st) { (*shared_done)(std::move(st)); };
    SimNetwork& net = net_;
    std::string from = self_, to = node;
    return net_.StartCall(self_, node, token, deadline,
                          [&net, call, shared_done, from, to, handle = std::move(handle)](
                              ReplicaCore& core) {
                            StatusOr<Reply> reply = handle(core);
                            net.Deliver(to, from, [call, shared_done, reply] {
                              if (call->completed) return;
                              call->completed = true;
                              (*shared_done)(reply);
                            });
                          },
                          call);
  }

  SimNetwork& net_;
  std::string self_;
};

SimNetwork::SimNetwork(uint64_t seed) : rng_(seed) {}
SimNetwork::~SimNetwork() = default;

PeerTransport& SimNetwork::TransportOf(const std::string& node) {
  auto& slot = transports_[node];
  if (!slot) slot = std::make_unique<NodeTransport>(*this, node);
  return *slot;
}

void SimNetwork::SetDown(const std::string& node, bool down) {
  if (down) {
    down_.insert(node);
  } else {
    down_.erase(node);
  }
}

void SimNetwork::SetHeld(const std::string& from, const std::string& to, bool held) {
  auto key = std::make_pair(from, to);
  if (held) {
    held_.insert(key);
    return;
  }
  held_.erase(key);
  auto it = parked_.find(key);
  if (it == parked_.end()) return;
  auto fns = std::move(it->second);
  parked_.erase(it);
  for (auto& fn : fns) Schedule(now_ + RandomDelay(), std::move(fn));
}

void SimNetwork::DropHeld(const std::string& from, const std::string& to) {
  auto it = parked_.find(std::make_pair(from, to));
  if (it == parked_.end()) return;
  messages_dropped_ += it->second.size();
  parked_.erase(it);
}

void SimNetwork::Schedule(Duration at, std::function<void()> fn) {
  events_.push(Event{at, seq_++, std::move(fn)});
}

SimNetwork::Duration SimNetwork::RandomDelay() {
  if (max_delay_ <= min_delay_) return min_delay_;
  std::uniform_int_distribution<int64_t> d(min_delay_.count(), max_delay_.count());
  return Duration(d(rng_));
}

void SimNetwork::Deliver(const std::string& from, const std::string& to,
                         std::function<void()> fn) {
  ++messages_sent_;
  if (drop_probability_ > 0 && std::bernoulli_distribution(drop_probability_)(rng_)) {
    ++messages_dropped_;
    return;  // lost: the caller's timeout fires
  }
  if (held_.count({from, to})) {
    parked_[{from, to}].push_back(std::move(fn));
    return;
  }
  Schedule(now_ + RandomDelay(), std::move(fn));
}

CancelFn SimNetwork::StartCall(const std::string& from, const std::string& to,
                               const std::string& token, Clock::time_point deadline,
                               std::function<void(ReplicaCore&)> handle,
                               std::shared_ptr<Call> call) {
  // The timeout: whatever time the deadline leaves, in virtual time.
  const auto left = deadline - Clock::now();
  const Duration timeout =
      left <= Clock::duration::zero() ? Duration(0)
                                      : std::chrono::duration_cast<Duration>(left);
  Schedule(now_ + timeout, [call] {
    if (call->completed) return;
    call->completed = true;
    call->fail(Status::DeadlineExceeded("no answer before the deadline"));
  });

  if (down_.count(to) || !nodes_.count(to)) {
    Schedule(now_ + RandomDelay(), [call, to] {
      if (call->completed) return;
      call->completed = true;
      call->fail(Status::Unavailable(to + " is down"));
    });
  } else {
    Deliver(from, to, [this, to, token, handle = std::move(handle)] {
      if (down_.count(to)) return;  // went down while the request travelled
      ReplicaCore& core = *nodes_.at(to);
      if (!token.empty() && core.IsCrashed(token)) return;  // fail-silent: no answer, ever
      handle(core);
    });
  }
  std::weak_ptr<Call> weak = call;
  return [this, weak] {
    auto c = weak.lock();
    if (!c || c->completed) return;
    Schedule(now_, [c] {
      if (c->completed) return;
      c->completed = true;
      c->fail(Status::Cancelled("cancelled by the caller"));
    });
  };
}

bool SimNetwork::Step() {
  if (events_.empty()) return false;
  Event e = events_.top();
  events_.pop();
  now_ = e.at;
  e.fn();
  return true;
}

size_t SimNetwork::RunUntilIdle(size_t max_events) {
  size_t n = 0;
  while (n < max_events && Step()) ++n;
  return n;
}

void SimNetwork::RunWhile(const std::function<bool()>& keep_going, size_t max_events) {
  for (size_t n = 0; n < max_events && keep_going() && Step(); ++n) {
  }
}

}  // namespace tokenstore::testing
