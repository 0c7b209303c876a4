#include "replica/timestamp_allocator.h"

#include <limits>

#include "common/check.h"

namespace tokenstore {

TimestampAllocator::TimestampAllocator(RegisterStore& store, uint64_t block, bool unsafe_reuse)
    : store_(store), block_(block == 0 ? 1 : block), unsafe_reuse_(unsafe_reuse) {}

TimestampAllocator::TokenState& TimestampAllocator::StateOf(std::string_view token) {
  MutexLock lock(&mu_);
  auto it = states_.find(token);
  if (it == states_.end()) it = states_.try_emplace(std::string(token)).first;
  return it->second;
}

Status TimestampAllocator::LoadLocked(std::string_view token, TokenState& state) {
  if (state.loaded) return Status::Ok();
  StatusOr<uint64_t> reserved = store_.GetReservedTimestamp(token);
  if (!reserved.ok()) return reserved.status();
  // Everything up to the reservation may have been issued by an earlier incarnation.
  state.reserved = *reserved;
  state.loaded_reservation = *reserved;
  state.last_issued = *reserved;
  if (unsafe_reuse_) state.last_issued = *reserved >= block_ ? *reserved - block_ : 0;
  state.loaded = true;
  return Status::Ok();
}

Status TimestampAllocator::ReserveLocked(std::string_view token, TokenState& state,
                                         uint64_t upto) {
  if (upto <= state.reserved) return Status::Ok();
  TOKENSTORE_RETURN_IF_ERROR(store_.ReserveTimestamps(token, upto));
  state.reserved = upto;
  return Status::Ok();
}

StatusOr<uint64_t> TimestampAllocator::Next(std::string_view token) {
  TokenState& state = StateOf(token);
  MutexLock lock(&state.mu);
  TOKENSTORE_RETURN_IF_ERROR(LoadLocked(token, state));
  if (state.last_issued == std::numeric_limits<uint64_t>::max()) {
    return Status::ResourceExhausted("timestamps of token " + std::string(token) +
                                     " are exhausted");
  }
  const uint64_t ts = state.last_issued + 1;
  if (ts > state.reserved) {
    const uint64_t room = std::numeric_limits<uint64_t>::max() - ts;
    const uint64_t upto = ts + (room < block_ - 1 ? room : block_ - 1);
    TOKENSTORE_RETURN_IF_ERROR(ReserveLocked(token, state, upto));
  }
  // Never a ts an earlier incarnation may have issued (but with the deliberate reuse bug,
  // which the simulator must catch), and never one the durable reservation does not cover.
  TS_CHECK(unsafe_reuse_ || ts > state.loaded_reservation,
           "issuing a timestamp at or below the reservation of an earlier run");
  TS_CHECK(ts > state.last_issued && ts <= state.reserved,
           "issuing a timestamp not above the last one or not durably reserved");
  state.last_issued = ts;
  return ts;
}

Status TimestampAllocator::Observe(std::string_view token, uint64_t seen) {
  TokenState& state = StateOf(token);
  MutexLock lock(&state.mu);
  TOKENSTORE_RETURN_IF_ERROR(LoadLocked(token, state));
  if (seen <= state.last_issued || unsafe_reuse_) return Status::Ok();
  // Reserve `seen` itself before skipping past it, so a restart cannot go below it either.
  TOKENSTORE_RETURN_IF_ERROR(ReserveLocked(token, state, seen));
  state.last_issued = seen;
  return Status::Ok();
}

}  // namespace tokenstore
