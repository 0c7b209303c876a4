// MemoryRegisterStore: the in-memory twin of RocksDbRegisterStore, for tests of the
// layers above storage (the protocol core, the services) that need a RegisterStore
// without a disk.
//
// Same semantics as the RocksDB store in everything but durability: registers are kept
// in canonical form (CanonicalRegister), StoreIfNewer only moves a ts forward,
// reservations only rise, and every read is sorted the same way. Nothing survives the
// object.
//
// Thread-safety: safe for concurrent use; one mutex guards all state (no I/O is done
// under it, so there is nothing to gain from finer locking).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "storage/register_store.h"

namespace tokenstore {

class MemoryRegisterStore final : public RegisterStore {
 public:
  MemoryRegisterStore() = default;
  MemoryRegisterStore(const MemoryRegisterStore&) = delete;
  MemoryRegisterStore& operator=(const MemoryRegisterStore&) = delete;

  // A copy of everything the store holds: registers, reservations, marks and node records
  // (a backup copy of a data dir, for tests and the simulator).
  std::unique_ptr<MemoryRegisterStore> Clone();

  StatusOr<Register> Get(std::string_view token) override;
  StatusOr<Stamp> StoreIfNewer(std::string_view token, const Register& reg) override;
  std::vector<StatusOr<Stamp>> StoreIfNewerBatch(std::span<const StoreItem> items) override;
  StatusOr<std::vector<std::pair<std::string, Register>>> Scan() override;
  StatusOr<uint64_t> GetReservedTimestamp(std::string_view token) override;
  StatusOr<std::vector<std::pair<std::string, uint64_t>>> ScanReservations() override;
  Status ReserveTimestamps(std::string_view token, uint64_t upto) override;
  Status SetCrashed(std::string_view token, bool crashed) override;
  StatusOr<std::vector<std::string>> CrashedTokens() override;
  StatusOr<std::optional<std::string>> GetNodeRecord(std::string_view name) override;
  Status PutNodeRecord(std::string_view name, std::string_view bytes) override;
  StatusOr<std::vector<std::pair<std::string, std::string>>> ScanNodeRecords(
      std::string_view prefix) override;

 private:
  Mutex mu_;
  std::map<std::string, Register, std::less<>> registers_ GUARDED_BY(mu_);
  std::map<std::string, uint64_t, std::less<>> reserved_ GUARDED_BY(mu_);
  std::set<std::string, std::less<>> crashed_ GUARDED_BY(mu_);
  std::map<std::string, std::string, std::less<>> node_records_ GUARDED_BY(mu_);
};

}  // namespace tokenstore
