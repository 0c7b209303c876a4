#include "replica/testing/sim_network.h"

namespace tokenstore::testing {

// The state of one call: completes exactly once, by reply, timeout or cancel, and only while
// the process that made it lives.
struct SimNetwork::Call {
  std::string from;
  uint64_t epoch = 0;  // of the calling process
  bool completed = false;
  std::function<void(Status)> fail;  // completes with an error
};

class SimNetwork::NodeTransport final : public PeerTransport {
 public:
  NodeTransport(SimNetwork& net, std::string self, uint64_t epoch)
      : net_(net), self_(std::move(self)), epoch_(epoch) {}

  CancelFn GetRegister(const std::string& node, const std::string& token, uint64_t fingerprint,
                       Clock::time_point deadline,
                       std::function<void(StatusOr<Register>)> done) override {
    return Send<Register>(node, token, deadline, std::move(done),
                          [token, fingerprint, from = self_](ReplicaCore& core, auto answer) {
                            Status st = core.CheckPeerCall(token, from, fingerprint);
                            answer(st.ok() ? core.HandleGetRegister(token, fingerprint) : StatusOr<Register>(st));
                          });
  }

  // Through the callee's group commit, as a Batch RPC's Stores are: the answer leaves once
  // its storage executor synced the register, and a crash before that loses both.
  CancelFn Store(const std::string& node, const std::string& token, uint64_t fingerprint,
                 const Register& reg, Clock::time_point deadline,
                 std::function<void(StatusOr<Stamp>)> done) override {
    return Send<Stamp>(node, token, deadline, std::move(done),
                       [token, fingerprint, reg, from = self_](ReplicaCore& core, auto answer) {
                         if (Status st = core.CheckPeerCall(token, from, fingerprint); !st.ok()) {
                           return answer(st);
                         }
                         std::vector<StoreItem> items;
                         items.push_back(StoreItem{token, reg, fingerprint});
                         core.StoreBatchAsync(std::move(items),
                                              [answer](std::vector<StatusOr<Stamp>> held) {
                                                answer(std::move(held[0]));
                                              });
                       });
  }

  CancelFn Probe(const std::string& node, const std::string& token, uint64_t fingerprint,
                 Clock::time_point deadline,
                 std::function<void(StatusOr<ProbeReply>)> done) override {
    return Send<ProbeReply>(node, token, deadline, std::move(done),
                            [token, fingerprint, from = self_](ReplicaCore& core, auto answer) {
                              Status st = core.CheckPeerCall(token, from, fingerprint);
                              answer(st.ok() ? core.HandleProbe(token) : StatusOr<ProbeReply>(st));
                            });
  }

  CancelFn Hello(const std::string& node, const HelloArgs& args, Clock::time_point deadline,
                 std::function<void(StatusOr<HelloReply>)> done) override {
    return Send<HelloReply>(node, /*token=*/"", deadline, std::move(done),
                            [args, from = self_](ReplicaCore& core, auto answer) {
                              answer(core.lifecycle().HandleHello(from, args));
                            });
  }

 private:
  template <typename Reply>
  using Answer = std::function<void(StatusOr<Reply>)>;

  // A call to `node` whose answer `handle` gives there; `token` empty: not about a token.
  template <typename Reply, typename Handle>
  CancelFn Send(const std::string& node, const std::string& token, Clock::time_point deadline,
                Answer<Reply> done, Handle handle) {
    if (!net_.Alive(self_, epoch_)) return [] {};  // a dead process sends nothing
    auto call = std::make_shared<Call>();
    call->from = self_;
    call->epoch = epoch_;
    auto shared_done = std::make_shared<Answer<Reply>>(std::move(done));
    call->fail = [shared_done](Status st) { (*shared_done)(std::move(st)); };
    SimNetwork& net = net_;
    return net_.StartCall(
        self_, epoch_, node, token, deadline,
        [&net, call, shared_done, to = node, token, handle](ReplicaCore& core) {
          const uint64_t to_epoch = net.EpochOf(to);
          Answer<Reply> answer = [&net, call, shared_done, to, to_epoch, token,
                                  &core](StatusOr<Reply> reply) {
            // A process that died meanwhile sends nothing; a fail-silent token is withheld.
            if (!net.Alive(to, to_epoch) || !core.MayAnswer(token)) return;
            net.Send(to, call->from, [&net, call, shared_done, reply = std::move(reply)] {
              if (call->completed || !net.Alive(call->from, call->epoch)) return;
              call->completed = true;
              (*shared_done)(reply);
            });
          };
          handle(core, std::move(answer));
        },
        call);
  }

  SimNetwork& net_;
  const std::string self_;
  const uint64_t epoch_;
};

SimNetwork::SimNetwork(uint64_t seed) : rng_(seed) {}
SimNetwork::~SimNetwork() = default;

PeerTransport& SimNetwork::TransportOf(const std::string& node) {
  auto& slot = transports_[node];
  if (!slot) slot = std::make_unique<NodeTransport>(*this, node, EpochOf(node));
  return *slot;
}

void SimNetwork::Crash(const std::string& node) {
  ++epochs_[node];
  nodes_.erase(node);
  auto it = transports_.find(node);
  if (it == transports_.end()) return;
  dead_transports_.push_back(std::move(it->second));  // its dead core still refers to it
  transports_.erase(it);
}

void SimNetwork::Fail(Call& call, Status st) {
  if (call.completed || !Alive(call.from, call.epoch)) return;
  call.completed = true;
  call.fail(std::move(st));
}

bool SimNetwork::Alive(const std::string& node, uint64_t epoch) const {
  return EpochOf(node) == epoch;
}

uint64_t SimNetwork::EpochOf(const std::string& node) const {
  auto it = epochs_.find(node);
  return it == epochs_.end() ? 0 : it->second;
}

void SimNetwork::SetDown(const std::string& node, bool down) {
  if (down) {
    down_.insert(node);
  } else {
    down_.erase(node);
  }
}

void SimNetwork::SetCut(const std::string& from, const std::string& to, bool cut) {
  if (cut) {
    cut_.insert({from, to});
  } else {
    cut_.erase({from, to});
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
  for (auto& fn : fns) After(RandomDelay(), std::move(fn));
}

void SimNetwork::DropHeld(const std::string& from, const std::string& to) {
  auto it = parked_.find(std::make_pair(from, to));
  if (it == parked_.end()) return;
  messages_dropped_ += it->second.size();
  parked_.erase(it);
}

void SimNetwork::At(Duration at, std::function<void()> fn) {
  events_.push(Event{std::max(at, now_), seq_++, std::move(fn), nullptr});
}

SimNetwork::Duration SimNetwork::RandomDelay() {
  if (slow_probability_ > 0 && std::bernoulli_distribution(slow_probability_)(rng_)) {
    std::uniform_int_distribution<int64_t> d(max_delay_.count(), slow_max_.count());
    return Duration(d(rng_));
  }
  if (max_delay_ <= min_delay_) return min_delay_;
  std::uniform_int_distribution<int64_t> d(min_delay_.count(), max_delay_.count());
  return Duration(d(rng_));
}

void SimNetwork::Send(const std::string& from, const std::string& to, std::function<void()> fn,
                      bool may_duplicate) {
  ++messages_sent_;
  if (drop_probability_ > 0 && std::bernoulli_distribution(drop_probability_)(rng_)) {
    ++messages_dropped_;
    return;  // lost: the caller's timeout fires
  }
  if (!cut_.empty() && cut_.count({from, to})) {
    ++messages_dropped_;
    return;
  }
  if (!held_.empty() && held_.count({from, to})) {
    parked_[{from, to}].push_back(std::move(fn));
    return;
  }
  if (may_duplicate && duplicate_probability_ > 0 &&
      std::bernoulli_distribution(duplicate_probability_)(rng_)) {
    ++messages_duplicated_;
    After(RandomDelay(), fn);
  }
  After(RandomDelay(), std::move(fn));
}

CancelFn SimNetwork::StartCall(const std::string& from, uint64_t epoch, const std::string& to,
                               const std::string& token, Clock::time_point deadline,
                               std::function<void(ReplicaCore&)> handle,
                               std::shared_ptr<Call> call) {
  // The timeout: whatever time the deadline leaves, in virtual time.
  const auto left = deadline - now();
  const Duration timeout =
      left <= Clock::duration::zero() ? Duration(0) : std::chrono::duration_cast<Duration>(left);
  auto fail = [this, call](Status st) { Fail(*call, std::move(st)); };
  // A deadline past the end of virtual time never fires.
  if (timeout < Duration::max() - now_) {
    events_.push(Event{now_ + timeout, seq_++,
                       [fail] { fail(Status::DeadlineExceeded("no answer before the deadline")); },
                       call});
  }

  if (down_.count(to) || !nodes_.count(to)) {
    After(RandomDelay(), [fail, to] { fail(Status::Unavailable(to + " is down")); });
  } else {
    const uint64_t to_epoch = EpochOf(to);
    Send(from, to, [this, to, to_epoch, token, handle = std::move(handle)] {
      // Went down, or its process died, while the request travelled.
      if (down_.count(to) || !Alive(to, to_epoch)) return;
      auto it = nodes_.find(to);
      if (it == nodes_.end()) return;
      if (!it->second->MayAnswer(token)) return;  // fail-silent: parked until the caller gives up
      handle(*it->second);
    });
  }
  std::weak_ptr<Call> weak = call;
  return [this, weak] {
    auto c = weak.lock();
    if (!c || c->completed) return;
    After(Duration(0), [this, c] { Fail(*c, Status::Cancelled("cancelled by the caller")); });
  };
}

bool SimNetwork::Step() {
  for (;;) {
    if (events_.empty()) return false;
    // The queue's top is const only to protect the heap order, which pop() no longer needs.
    Event e = std::move(const_cast<Event&>(events_.top()));
    events_.pop();
    if (e.timeout_of && (e.timeout_of->completed || !Alive(e.timeout_of->from, e.timeout_of->epoch))) {
      continue;
    }
    now_ = e.at;
    e.fn();
    return true;
  }
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
