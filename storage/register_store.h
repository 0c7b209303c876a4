// The register store: what a replica keeps durably (SPEC section 7).
//
// Per token: the register (ts, value). Per node: metadata — the writer's timestamp
// reservations and the crash-stop marks.
//
// Durability contract: when a mutating call returns OK, its effect is synced to stable
// storage (for RocksDB: the write-ahead log, fsync'ed) and survives a kill -9 of the
// process. A call that returns an error may or may not have taken effect.
//
// Thread-safety: implementations are safe for concurrent use without external locking.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/token_value.h"

namespace tokenstore {

// One Store of a batch (RegisterStore::StoreIfNewerBatch).
struct StoreItem {
  std::string token;
  Register reg;
  // The caller's view of the token's configuration (ReplicaSet::Fingerprint), checked by the
  // replica core together with the Store (docs/reconfiguration.md); 0: not checked. Stores
  // ignore it.
  uint64_t config_fingerprint = 0;
};

class RegisterStore {
 public:
  virtual ~RegisterStore() = default;

  // The register stored for `token`, or the initial register (ts 0, undefined) when
  // nothing was ever stored. Cheap: served from memory.
  virtual StatusOr<Register> Get(std::string_view token) = 0;

  // Store(ts, v) of read-impose write-majority: replaces the register of `token` with `reg`
  // only when reg's stamp (ts, origin) is strictly greater than the stored one, durably,
  // before returning. Returns the stamp stored after the call (>= reg's on success).
  // Concurrent calls for the same token never make the stored stamp go backwards, whatever
  // order they finish in.
  virtual StatusOr<Stamp> StoreIfNewer(std::string_view token, const Register& reg) = 0;

  // StoreIfNewer of every item, made durable together with one sync: result i answers
  // items[i] as StoreIfNewer(items[i].token, items[i].reg) would, with the stamp held after
  // the whole batch. Items may name the same token more than once; it then ends at the
  // highest of their stamps. An item that cannot be stored (unknown kind) fails alone; a failed write
  // fails the items that needed it, and only those.
  virtual std::vector<StatusOr<Stamp>> StoreIfNewerBatch(std::span<const StoreItem> items) = 0;

  // Every register ever stored, sorted by token id.
  virtual StatusOr<std::vector<std::pair<std::string, Register>>> Scan() = 0;

  // Highest timestamp reserved for `token` by its writer; 0 when none.
  virtual StatusOr<uint64_t> GetReservedTimestamp(std::string_view token) = 0;
  // Every token with a reservation, sorted by token id.
  virtual StatusOr<std::vector<std::pair<std::string, uint64_t>>> ScanReservations() = 0;
  // Durably raises the reservation of `token` to `upto`; a lower value leaves it unchanged.
  virtual Status ReserveTimestamps(std::string_view token, uint64_t upto) = 0;

  // Durably sets or clears the crash-stop mark of `token`.
  virtual Status SetCrashed(std::string_view token, bool crashed) = 0;
  // Tokens marked crashed, sorted.
  virtual StatusOr<std::vector<std::string>> CrashedTokens() = 0;

  // Small named records of the node's lifecycle (its identity, what it heard of its peers:
  // replica/node_lifecycle.h), opaque to the store. nullopt when `name` was never put.
  virtual StatusOr<std::optional<std::string>> GetNodeRecord(std::string_view name) = 0;
  // Durably sets the record `name` to `bytes`.
  virtual Status PutNodeRecord(std::string_view name, std::string_view bytes) = 0;
  // Every record whose name starts with `prefix`, sorted by name.
  virtual StatusOr<std::vector<std::pair<std::string, std::string>>> ScanNodeRecords(
      std::string_view prefix) = 0;
};

}  // namespace tokenstore
