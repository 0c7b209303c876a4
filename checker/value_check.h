// Checks the hashes that a history's successful operations returned against the hash engine
// (SPEC section 2): a write's `partial` must be min H(name, x) over [low, mid), a read's
// `final` the minimum over [low, high) of the value it returned, and, where the read recorded
// them (full_value), its range must be the written one and its `partial` right too. The
// linearizability check (linearizability.h) compares names only, so a store that returns the
// right name with a wrong final passes it; this is the check that does not.
//
// A read of a name no write in the history wrote is left to the linearizability check (it is
// a violation there). Histories without full values (SPEC section 9's minimum) get the
// checks that need only a read's name and final.
//
// Cost: MinHash over [low, high) once per distinct value returned (cached by name, which is
// unique per history), so token-chaos's histories (ranges under 25 values) take milliseconds.
//
// Thread-safety: pure.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "checker/history.h"

namespace tokenstore::checker {

struct ValueCheck {
  size_t writes_checked = 0;  // ok writes with a recorded partial
  size_t reads_checked = 0;   // ok reads of a written name, or of nothing
  size_t mismatches = 0;
  // The first few mismatches (at most kMaxExplained), each naming the operation: history
  // line, process, token, name, what it returned and what the hash engine gives.
  std::vector<std::string> explanations;
  static constexpr size_t kMaxExplained = 10;
};

ValueCheck CheckReturnedValues(const std::vector<Event>& events);

}  // namespace tokenstore::checker
