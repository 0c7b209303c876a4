#include "storage/memory_register_store.h"

#include "common/check.h"
#include "storage/record_codec.h"

namespace tokenstore {

std::unique_ptr<MemoryRegisterStore> MemoryRegisterStore::Clone() {
  auto copy = std::make_unique<MemoryRegisterStore>();
  MutexLock lock(&mu_);
  MutexLock copy_lock(&copy->mu_);  // nobody else sees `copy` yet; taken for the analysis
  copy->registers_ = registers_;
  copy->reserved_ = reserved_;
  copy->crashed_ = crashed_;
  copy->node_records_ = node_records_;
  return copy;
}

StatusOr<Register> MemoryRegisterStore::Get(std::string_view token) {
  MutexLock lock(&mu_);
  auto it = registers_.find(token);
  if (it == registers_.end()) return Register{};
  return it->second;
}

StatusOr<Stamp> MemoryRegisterStore::StoreIfNewer(std::string_view token, const Register& reg) {
  TOKENSTORE_RETURN_IF_ERROR(CheckEncodable(reg));
  MutexLock lock(&mu_);
  auto it = registers_.find(token);
  if (it == registers_.end()) {
    if (!IsNewer(reg, Register{})) return Stamp{};  // not newer than the initial register
    registers_.emplace(std::string(token), CanonicalRegister(reg));
    return reg.stamp();
  }
  if (!IsNewer(reg, it->second)) return it->second.stamp();
  TS_CHECK(it->second.stamp() < reg.stamp(), "StoreIfNewer would lower the stored stamp");
  it->second = CanonicalRegister(reg);
  return reg.stamp();
}

std::vector<StatusOr<Stamp>> MemoryRegisterStore::StoreIfNewerBatch(
    std::span<const StoreItem> items) {
  std::vector<StatusOr<Stamp>> results;
  results.reserve(items.size());
  MutexLock lock(&mu_);
  for (const StoreItem& item : items) {
    if (Status st = CheckEncodable(item.reg); !st.ok()) {
      results.push_back(st);
      continue;
    }
    auto it = registers_.find(item.token);
    if (it == registers_.end()) {
      if (IsNewer(item.reg, Register{})) {
        registers_.emplace(item.token, CanonicalRegister(item.reg));
      }
    } else if (IsNewer(item.reg, it->second)) {
      TS_CHECK(it->second.stamp() < item.reg.stamp(), "StoreIfNewer would lower the stored stamp");
      it->second = CanonicalRegister(item.reg);
    }
    results.push_back(Stamp{});
  }
  // Every result is the stamp held after the whole batch.
  for (size_t i = 0; i < items.size(); ++i) {
    if (!results[i].ok()) continue;
    auto it = registers_.find(items[i].token);
    results[i] = it == registers_.end() ? Stamp{} : it->second.stamp();
  }
  return results;
}

StatusOr<std::vector<std::pair<std::string, Register>>> MemoryRegisterStore::Scan() {
  MutexLock lock(&mu_);
  return std::vector<std::pair<std::string, Register>>(registers_.begin(), registers_.end());
}

StatusOr<uint64_t> MemoryRegisterStore::GetReservedTimestamp(std::string_view token) {
  MutexLock lock(&mu_);
  auto it = reserved_.find(token);
  return it == reserved_.end() ? uint64_t{0} : it->second;
}

StatusOr<std::vector<std::pair<std::string, uint64_t>>> MemoryRegisterStore::ScanReservations() {
  MutexLock lock(&mu_);
  return std::vector<std::pair<std::string, uint64_t>>(reserved_.begin(), reserved_.end());
}

Status MemoryRegisterStore::ReserveTimestamps(std::string_view token, uint64_t upto) {
  MutexLock lock(&mu_);
  auto it = reserved_.find(token);
  if (it == reserved_.end()) {
    if (upto > 0) reserved_.emplace(std::string(token), upto);
  } else if (upto > it->second) {
    it->second = upto;
  }
  return Status::Ok();
}

Status MemoryRegisterStore::SetCrashed(std::string_view token, bool crashed) {
  MutexLock lock(&mu_);
  if (crashed) {
    crashed_.emplace(token);
  } else if (auto it = crashed_.find(token); it != crashed_.end()) {
    crashed_.erase(it);
  }
  return Status::Ok();
}

StatusOr<std::vector<std::string>> MemoryRegisterStore::CrashedTokens() {
  MutexLock lock(&mu_);
  return std::vector<std::string>(crashed_.begin(), crashed_.end());
}

StatusOr<std::optional<std::string>> MemoryRegisterStore::GetNodeRecord(std::string_view name) {
  MutexLock lock(&mu_);
  auto it = node_records_.find(name);
  if (it == node_records_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Status MemoryRegisterStore::PutNodeRecord(std::string_view name, std::string_view bytes) {
  MutexLock lock(&mu_);
  node_records_.insert_or_assign(std::string(name), std::string(bytes));
  return Status::Ok();
}

StatusOr<std::vector<std::pair<std::string, std::string>>> MemoryRegisterStore::ScanNodeRecords(
    std::string_view prefix) {
  MutexLock lock(&mu_);
  std::vector<std::pair<std::string, std::string>> out;
  for (auto it = node_records_.lower_bound(prefix);
       it != node_records_.end() && it->first.starts_with(prefix); ++it) {
    out.emplace_back(it->first, it->second);
  }
  return out;
}

}  // namespace tokenstore
