// The simulated disk of one replica: the in-memory store behind the RegisterStore interface,
// with the invariants (sim/invariants.h) checked on every access.
//
// Durability follows the real store's contract (storage/register_store.h): a mutating call
// that returns is synced, and RocksDbRegisterStore updates its memory copy only after the
// synced write, so nothing unsynced is ever visible. What a crash loses is therefore what had
// not reached the store yet: the core reaches its disk only from its storage executor (the
// group commit of Stores, timestamp reservations), and the simulator's storage executor
// (sim/sim_executor.h) runs each task after a simulated sync latency; a crash drops the
// tasks still waiting, and with them their acknowledgements.
//
// Thread-safety: none; the simulator's one thread.
#pragma once

#include <memory>
#include <string>

#include "sim/invariants.h"
#include "storage/memory_register_store.h"

namespace tokenstore::sim {

class SimDisk final : public RegisterStore {
 public:
  // `contents` is what the disk holds (empty, or a copy); `invariants` must outlive the disk.
  SimDisk(std::string node, std::unique_ptr<MemoryRegisterStore> contents, Invariants& invariants)
      : node_(std::move(node)), contents_(std::move(contents)), invariants_(invariants) {}

  // A copy of everything on the disk now (an operator's backup of a stopped node).
  std::unique_ptr<MemoryRegisterStore> Copy() const { return contents_->Clone(); }

  StatusOr<Register> Get(std::string_view token) override;
  StatusOr<Stamp> StoreIfNewer(std::string_view token, const Register& reg) override;
  std::vector<StatusOr<Stamp>> StoreIfNewerBatch(std::span<const StoreItem> items) override;
  StatusOr<std::vector<std::pair<std::string, Register>>> Scan() override {
    return contents_->Scan();
  }
  StatusOr<uint64_t> GetReservedTimestamp(std::string_view token) override {
    return contents_->GetReservedTimestamp(token);
  }
  StatusOr<std::vector<std::pair<std::string, uint64_t>>> ScanReservations() override {
    return contents_->ScanReservations();
  }
  Status ReserveTimestamps(std::string_view token, uint64_t upto) override {
    return contents_->ReserveTimestamps(token, upto);
  }
  Status SetCrashed(std::string_view token, bool crashed) override {
    return contents_->SetCrashed(token, crashed);
  }
  StatusOr<std::vector<std::string>> CrashedTokens() override { return contents_->CrashedTokens(); }
  StatusOr<std::optional<std::string>> GetNodeRecord(std::string_view name) override {
    return contents_->GetNodeRecord(name);
  }
  Status PutNodeRecord(std::string_view name, std::string_view bytes) override {
    return contents_->PutNodeRecord(name, bytes);
  }
  StatusOr<std::vector<std::pair<std::string, std::string>>> ScanNodeRecords(
      std::string_view prefix) override {
    return contents_->ScanNodeRecords(prefix);
  }

 private:
  const std::string node_;
  const std::unique_ptr<MemoryRegisterStore> contents_;
  Invariants& invariants_;
};

}  // namespace tokenstore::sim
