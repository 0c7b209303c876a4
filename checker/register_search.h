// The exact search behind CheckHistory: is there an order of one token's operations that
// respects real time and register semantics? Wing & Gong's search with Lowe's improvements
// and Porcupine's memoization.
//
// The operations here are already prepared (checker/linearizability.cc): `fail` operations
// and reads with unknown outcome are gone, and every write with unknown outcome either has
// been dropped (nobody read it, so linearizing it last, i.e. never, is always possible) or
// has its completion bounded by the earliest completed read of its value. So every
// operation here must be linearized within [call, ret].
//
// Thread-safety: a pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tokenstore::checker {

struct SearchOp {
  int64_t call = 0;  // nanoseconds
  int64_t ret = 0;   // nanoseconds, >= call
  bool is_write = false;
  // Writes: the id of the value written (>= 1, unique). Reads: the id returned, 0 for
  // undefined (the register's initial state).
  int value = 0;
};

struct SearchBudget {
  // One step is one move of the search (try an operation, or backtrack). Typical histories
  // need about two steps per operation; adversarial ones are exponential, hence the bound.
  uint64_t max_steps = 100'000'000;
  // Memoized states cost one bit per operation each.
  size_t max_cache_bytes = size_t{1} << 30;
};

enum class SearchResult { kLinearizable, kViolation, kUnknown };

// Two operations are ordered only if one returned strictly before the other was called;
// equal times count as concurrent (the coarser clock must not create a violation).
// `steps_used`, if not null, receives the steps spent.
SearchResult SearchLinearization(const std::vector<SearchOp>& ops, const SearchBudget& budget,
                                 uint64_t* steps_used = nullptr);

}  // namespace tokenstore::checker
