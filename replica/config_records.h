// The per-token configuration records of online reconfiguration (docs/reconfiguration.md):
// for each token a reconfiguration touched on this node, whether the node is sealed towards
// a new configuration, active at one, or retired from the token, durable in the store's node
// records ("config/<token>") before any answer depends on them.
//
// A token with no record is at its YAML configuration. Records are few (one per token a
// reconfiguration touched) and share their ReplicaSets: a reconfiguration of a million tokens
// of one range holds two sets, not two million.
//
// Thread-safety: all methods are safe to call concurrently. The ReplicaSet pointers handed
// out stay valid for the life of the object (sets are interned and never freed).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "config/cluster_config.h"
#include "storage/register_store.h"

namespace tokenstore {

enum class TokenConfigState : uint8_t {
  kSealed = 1,   // sealed at `current` towards `target`: answers nothing about the token
  kActive = 2,   // `current` is the token's configuration
  kRetired = 3,  // the node left the token's set; `target` is where the token went
};
const char* TokenConfigStateName(TokenConfigState s);  // "sealed", "active", "retired"

struct TokenConfigRecord {
  TokenConfigState state = TokenConfigState::kActive;
  const ReplicaSet* current = nullptr;  // never null
  const ReplicaSet* target = nullptr;   // kSealed and kRetired only

  // The epoch the record puts the token at on this node: the target's once retired.
  uint64_t epoch() const { return state == TokenConfigState::kRetired ? target->epoch : current->epoch; }
};

// "writer W, readers [..] at epoch E" plus the state, for messages.
std::string RecordString(const TokenConfigRecord& r);

// The disk form of a record (exposed for tests): a version byte, the state, and each set as
// epoch, writer and readers. DATA_LOSS naming what is wrong for anything else.
std::string EncodeTokenConfigRecord(const TokenConfigRecord& r);
struct DecodedTokenConfigRecord {
  TokenConfigState state;
  ReplicaSet current;
  std::optional<ReplicaSet> target;
};
StatusOr<DecodedTokenConfigRecord> DecodeTokenConfigRecord(std::string_view bytes);

class ConfigRecords {
 public:
  explicit ConfigRecords(RegisterStore& store) : store_(store) {}

  // Loads every record from the store (once, at start).
  Status Load();
  // The record of `token`, if any. Lock-free while no record exists.
  std::optional<TokenConfigRecord> Find(std::string_view token) const;
  // The shared copy of `set` (by writer, readers and epoch), with its fingerprint filled in.
  const ReplicaSet* Intern(const ReplicaSet& set);
  // Durably sets the record of `token`, then makes it visible.
  Status Put(std::string_view token, const TokenConfigRecord& record);
  size_t size() const;
  // Every record, sorted by token (for dumps and tests).
  std::vector<std::pair<std::string, TokenConfigRecord>> All() const;

 private:
  RegisterStore& store_;
  Mutex put_mu_;  // one Put at a time: disk and memory in the same order
  mutable SharedMutex mu_;
  std::map<std::string, std::unique_ptr<ReplicaSet>, std::less<>> sets_ GUARDED_BY(mu_);
  std::map<std::string, TokenConfigRecord, std::less<>> records_ GUARDED_BY(mu_);
  std::atomic<bool> any_{false};
};

}  // namespace tokenstore
