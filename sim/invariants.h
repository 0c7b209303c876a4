// The invariants token-sim checks while a run goes on, where they could break (the
// linearizability of the history is checked at the end):
//
//   - a replica's stored stamp of a token never decreases, except through an intentional
//     wipe or restore of its disk (ForgetNode);
//   - one value per (token, stamp) across all replicas, ever: every register offered to any
//     disk is compared with the first one seen at that stamp;
//   - every callback runs exactly once (the simulation counts them and reports here).
//
// The first violation is kept with the virtual time it happened at; later ones are counted.
//
// Thread-safety: none; the simulator's one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/core_clock.h"
#include "common/token_value.h"

namespace tokenstore::sim {

class Invariants {
 public:
  // `clock` (the simulation's virtual time) dates the first violation; it must outlive this.
  explicit Invariants(const CoreClock& clock) : clock_(clock) {}

  // Every register offered to a disk (Store, rebuild), whether it is applied or not.
  void OnOffered(std::string_view token, const Register& reg);
  // The stamp `node`'s disk holds for `token` after a read or a store.
  void OnHeld(std::string_view node, std::string_view token, Stamp held);
  // `node`'s disk was wiped or replaced by a copy: its stamps may start lower.
  void ForgetNode(std::string_view node);
  // A violation found elsewhere (a callback run twice, a refused rebuild).
  void Report(std::string what);

  bool violated() const { return first_.has_value(); }
  // The first violation, as a sentence that begins with its virtual time.
  const std::optional<std::string>& first() const { return first_; }
  uint64_t count() const { return count_; }
  // How many registers were compared (for the run's statistics).
  uint64_t checks() const { return checks_; }

 private:
  const CoreClock& clock_;
  std::map<std::pair<std::string, Stamp>, TokenValue, std::less<>> value_of_stamp_;
  std::map<std::pair<std::string, std::string>, Stamp, std::less<>> high_water_;
  std::optional<std::string> first_;
  uint64_t count_ = 0;
  uint64_t checks_ = 0;
};

}  // namespace tokenstore::sim
