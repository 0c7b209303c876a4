#include "sim/sim_disk.h"

namespace tokenstore::sim {

StatusOr<Register> SimDisk::Get(std::string_view token) {
  StatusOr<Register> reg = contents_->Get(token);
  if (reg.ok()) invariants_.OnHeld(node_, token, reg->stamp());
  return reg;
}

StatusOr<Stamp> SimDisk::StoreIfNewer(std::string_view token, const Register& reg) {
  invariants_.OnOffered(token, reg);
  StatusOr<Stamp> held = contents_->StoreIfNewer(token, reg);
  if (held.ok()) invariants_.OnHeld(node_, token, *held);
  return held;
}

std::vector<StatusOr<Stamp>> SimDisk::StoreIfNewerBatch(std::span<const StoreItem> items) {
  for (const StoreItem& item : items) invariants_.OnOffered(item.token, item.reg);
  std::vector<StatusOr<Stamp>> held = contents_->StoreIfNewerBatch(items);
  for (size_t i = 0; i < held.size(); ++i) {
    if (held[i].ok()) invariants_.OnHeld(node_, items[i].token, *held[i]);
  }
  return held;
}

}  // namespace tokenstore::sim
