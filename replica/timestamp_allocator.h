// The writer's timestamp allocator.
//
// The writer never issues the same ts twice for a token, also across its own crash and
// restart: before handing out a ts it makes sure a reservation covering it is on disk.
// Reservations are taken in blocks so that only one write in `block` pays an extra sync.
// After a restart the allocator continues above the last reservation, skipping whatever
// the previous incarnation reserved but did not use.
//
// Thread-safety: safe for concurrent use; tokens do not wait on each other's syncs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/mutex.h"
#include "common/status.h"
#include "storage/register_store.h"

namespace tokenstore {

class TimestampAllocator {
 public:
  // `store` must outlive the allocator. REQUIRES: block >= 1. `unsafe_reuse` (the
  // reuse-timestamp UnsafeBug, never for use): a restarted allocator continues from the start
  // of its last reserved block instead of above it, and ignores Observe, so it issues again
  // the timestamps its previous run took from that block.
  explicit TimestampAllocator(RegisterStore& store, uint64_t block = 1024,
                              bool unsafe_reuse = false);

  // The next timestamp for `token`: greater than every ts this node ever issued or observed
  // for it. On error (the reservation could not be synced) nothing is issued.
  StatusOr<uint64_t> Next(std::string_view token);

  // Makes every later Next(token) return more than `seen` (for example a ts found at the
  // replicas that this node's disk does not know about).
  Status Observe(std::string_view token, uint64_t seen);

 private:
  struct TokenState {
    Mutex mu;
    bool loaded GUARDED_BY(mu) = false;
    uint64_t last_issued GUARDED_BY(mu) = 0;
    uint64_t reserved GUARDED_BY(mu) = 0;  // durable reservation
    // The reservation found on load: an earlier incarnation may have issued up to it.
    uint64_t loaded_reservation GUARDED_BY(mu) = 0;
  };

  TokenState& StateOf(std::string_view token);
  Status LoadLocked(std::string_view token, TokenState& state) REQUIRES(state.mu);
  // Makes `upto` durable as the reservation.
  Status ReserveLocked(std::string_view token, TokenState& state, uint64_t upto) REQUIRES(state.mu);

  RegisterStore& store_;
  const uint64_t block_;
  const bool unsafe_reuse_;
  Mutex mu_;
  // In the map's nodes, which never move: one allocation per token.
  std::map<std::string, TokenState, std::less<>> states_ GUARDED_BY(mu_);
};

}  // namespace tokenstore
