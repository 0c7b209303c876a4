// Admission control: bounds the client operations a node runs at once, in all and per token,
// so that a flood of requests — or one hot token — cannot take all of a node's memory and
// threads from the other tokens and clients. A refusal is RESOURCE_EXHAUSTED at once,
// before any work is done; the caller may retry later or at another replica.
//
// Calls parked because the node is crash-stopped for their token are not operations (they
// hold no thread and do no work) and are not counted.
//
// Thread-safety: all methods are safe to call concurrently; the node's counter is an atomic,
// the per-token counters sit in 16 mutex-guarded shards and exist only while in use.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "common/mutex.h"
#include "common/status.h"
#include "common/thread_annotations.h"

namespace tokenstore {

struct AdmissionLimits {
  size_t max_per_node = 4096;  // client operations running at once on this node
  size_t max_per_token = 512;  // of those, on one token
};

class Admission {
 private:
  struct State;

 public:
  // A held place. Released by Release() or when the last reference goes away, whichever is
  // first; releasing twice is harmless. A ticket may outlive its Admission (a simulated node
  // is destroyed with operations still queued): it shares the counters.
  class Ticket {
   public:
    Ticket(std::shared_ptr<State> state, std::string token)
        : state_(std::move(state)), token_(std::move(token)) {}
    ~Ticket() { Release(); }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    void Release() {
      if (released_.exchange(true)) return;
      state_->Leave(token_);
    }

   private:
    const std::shared_ptr<State> state_;
    const std::string token_;
    std::atomic<bool> released_{false};
  };

  explicit Admission(AdmissionLimits limits) : state_(std::make_shared<State>(limits)) {}

  // A place for one operation on `token`, or RESOURCE_EXHAUSTED naming the limit that is
  // full. Whether this node keeps `token` is the caller's to check first: a node may keep
  // millions of tokens, so only the tokens with operations running have a counter here.
  StatusOr<std::shared_ptr<Ticket>> Enter(std::string_view token) {
    State& s = *state_;
    if (s.node.fetch_add(1) >= s.limits.max_per_node) {
      s.node.fetch_sub(1);
      return Status::ResourceExhausted(
          "this node is running its limit of " + std::to_string(s.limits.max_per_node) +
          " client operations at once (option --max-inflight); retry later or at another "
          "replica");
    }
    Shard& shard = s.ShardOf(token);
    {
      MutexLock lock(&shard.mu);
      auto it = shard.running.find(token);
      if (it == shard.running.end()) it = shard.running.emplace(std::string(token), 0).first;
      if (it->second >= s.limits.max_per_token) {
        if (it->second == 0) shard.running.erase(it);
        s.node.fetch_sub(1);
        return Status::ResourceExhausted(
            "token \"" + std::string(token) + "\" has its limit of " +
            std::to_string(s.limits.max_per_token) +
            " operations running at once on this node (option --max-inflight-per-token); "
            "retry later");
      }
      ++it->second;
    }
    return std::make_shared<Ticket>(state_, std::string(token));
  }

  size_t in_flight() const { return state_->node.load(); }
  // Tokens with at least one operation running (each has a counter while it does).
  size_t tokens_in_flight() const {
    size_t n = 0;
    for (Shard& shard : state_->shards) {
      MutexLock lock(&shard.mu);
      n += shard.running.size();
    }
    return n;
  }
  const AdmissionLimits& limits() const { return state_->limits; }

 private:
  struct Shard {
    Mutex mu;
    std::map<std::string, size_t, std::less<>> running GUARDED_BY(mu);  // > 0 each
  };
  static constexpr size_t kShards = 16;

  struct State {
    explicit State(AdmissionLimits l) : limits(l) {}
    Shard& ShardOf(std::string_view token) {
      return shards[std::hash<std::string_view>{}(token) % kShards];
    }
    void Leave(std::string_view token) {
      Shard& shard = ShardOf(token);
      {
        MutexLock lock(&shard.mu);
        auto it = shard.running.find(token);
        if (it != shard.running.end() && --it->second == 0) shard.running.erase(it);
      }
      node.fetch_sub(1);
    }

    const AdmissionLimits limits;
    std::atomic<size_t> node{0};
    std::array<Shard, kShards> shards;
  };

  const std::shared_ptr<State> state_;
};

}  // namespace tokenstore
