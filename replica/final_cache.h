// Cache of final values: final for a given (token, stamp) never changes, so a read hashes the
// rest of the range once per write, not once per read. Keyed by the whole stamp, not the ts
// alone: two writer incarnations may issue the same ts for different values
// (common/token_value.h), and a ts-only key would answer one with the other's final.
//
// Keeps the stamps put last for each token, `per_token` of them (older ones are only asked
// for by reads that raced a newer write).
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/mutex.h"
#include "common/token_value.h"
#include "hash/token_hash.h"

namespace tokenstore {

class FinalCache {
 public:
  explicit FinalCache(size_t per_token = 4) : per_token_(per_token) {}

  // The cached final of (token, stamp), if any. The inner optional is the final itself
  // (std::nullopt never happens for a defined token, whose range is never empty).
  std::optional<std::optional<HashMin>> Get(std::string_view token, const Stamp& stamp) const {
    MutexLock lock(&mu_);
    auto it = entries_.find(token);
    if (it == entries_.end()) return std::nullopt;
    for (const auto& e : it->second) {
      if (e.stamp == stamp) return e.final_min;
    }
    return std::nullopt;
  }

  // A stamp already cached is left as it is (its final cannot differ).
  void Put(std::string_view token, const Stamp& stamp, std::optional<HashMin> final_min) {
    MutexLock lock(&mu_);
    auto it = entries_.find(token);
    if (it == entries_.end()) it = entries_.emplace(std::string(token), std::deque<Entry>()).first;
    auto& list = it->second;
    for (const auto& e : list) {
      if (e.stamp == stamp) return;
    }
    list.push_front(Entry{stamp, final_min});
    if (list.size() > per_token_) list.pop_back();
  }

 private:
  struct Entry {
    Stamp stamp;
    std::optional<HashMin> final_min;
  };
  const size_t per_token_;
  mutable Mutex mu_;
  std::map<std::string, std::deque<Entry>, std::less<>> entries_ GUARDED_BY(mu_);
};

}  // namespace tokenstore
