// Cache of final values: final for a given (token, ts) never changes, so a read hashes the
// rest of the range once per write, not once per read.
//
// Keeps the few most recent timestamps per token (older ones are only asked for by reads
// that raced a newer write).
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "hash/token_hash.h"

namespace tokenstore {

class FinalCache {
 public:
  explicit FinalCache(size_t per_token = 4) : per_token_(per_token) {}

  // The cached final of (token, ts), if any. The inner optional is the final itself
  // (std::nullopt never happens for a defined token, whose range is never empty).
  std::optional<std::optional<HashMin>> Get(std::string_view token, uint64_t ts) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(token);
    if (it == entries_.end()) return std::nullopt;
    for (const auto& e : it->second) {
      if (e.ts == ts) return e.final_min;
    }
    return std::nullopt;
  }

  void Put(std::string_view token, uint64_t ts, std::optional<HashMin> final_min) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(token);
    if (it == entries_.end()) it = entries_.emplace(std::string(token), std::deque<Entry>()).first;
    auto& list = it->second;
    for (const auto& e : list) {
      if (e.ts == ts) return;
    }
    list.push_front(Entry{ts, final_min});
    if (list.size() > per_token_) list.pop_back();
  }

 private:
  struct Entry {
    uint64_t ts;
    std::optional<HashMin> final_min;
  };
  const size_t per_token_;
  mutable std::mutex mu_;
  std::map<std::string, std::deque<Entry>, std::less<>> entries_;  // GUARDED_BY(mu_)
};

}  // namespace tokenstore
