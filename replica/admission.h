// Admission control: bounds the client operations a node runs at once, in all and per token,
// so that a flood of requests — or one hot token — cannot take all of a node's memory and
// threads from the other tokens and clients. A refusal is RESOURCE_EXHAUSTED at once,
// before any work is done; the caller may retry later or at another replica.
//
// Calls parked because the node is crash-stopped for their token are not operations (they
// hold no thread and do no work) and are not counted.
//
// Thread-safety: all methods are safe to call concurrently; the counters are atomics, the
// token table is fixed at construction.
#pragma once

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tokenstore {

struct AdmissionLimits {
  size_t max_per_node = 4096;  // client operations running at once on this node
  size_t max_per_token = 512;  // of those, on one token
};

class Admission {
 public:
  // A held place. Released by Release() or when the last reference goes away, whichever is
  // first; releasing twice is harmless.
  class Ticket {
   public:
    Ticket(std::atomic<size_t>* node, std::atomic<size_t>* token) : node_(node), token_(token) {}
    ~Ticket() { Release(); }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    void Release() {
      if (released_.exchange(true)) return;
      token_->fetch_sub(1);
      node_->fetch_sub(1);
    }

   private:
    std::atomic<size_t>* node_;
    std::atomic<size_t>* token_;
    std::atomic<bool> released_{false};
  };

  Admission(const std::vector<std::string>& tokens, AdmissionLimits limits) : limits_(limits) {
    for (const std::string& t : tokens) per_token_.try_emplace(t);
  }

  // A place for one operation on `token`, or RESOURCE_EXHAUSTED naming the limit that is
  // full. A token this node does not keep is NOT_FOUND (callers check that first).
  StatusOr<std::shared_ptr<Ticket>> Enter(std::string_view token) {
    auto it = per_token_.find(token);
    if (it == per_token_.end()) {
      return Status::NotFound("token \"" + std::string(token) + "\" is not kept by this node");
    }
    if (node_.fetch_add(1) >= limits_.max_per_node) {
      node_.fetch_sub(1);
      return Status::ResourceExhausted(
          "this node is running its limit of " + std::to_string(limits_.max_per_node) +
          " client operations at once (option --max-inflight); retry later or at another "
          "replica");
    }
    std::atomic<size_t>& count = it->second;
    if (count.fetch_add(1) >= limits_.max_per_token) {
      count.fetch_sub(1);
      node_.fetch_sub(1);
      return Status::ResourceExhausted(
          "token \"" + std::string(token) + "\" has its limit of " +
          std::to_string(limits_.max_per_token) +
          " operations running at once on this node (option --max-inflight-per-token); "
          "retry later");
    }
    return std::make_shared<Ticket>(&node_, &count);
  }

  size_t in_flight() const { return node_.load(); }
  const AdmissionLimits& limits() const { return limits_; }

 private:
  const AdmissionLimits limits_;
  std::atomic<size_t> node_{0};
  std::map<std::string, std::atomic<size_t>, std::less<>> per_token_;
};

}  // namespace tokenstore
