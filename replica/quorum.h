// Quorum counting: when does a round of calls to a token's replicas succeed or fail?
//
// A round sends one call to each of n replicas and needs `needed` successes (a strict
// majority). It succeeds at the needed-th success and fails as soon as so many calls failed
// that a majority is out of reach. It never waits for more than a majority.
//
// Thread-safety: QuorumCounter is a plain value; callers serialize access.
#pragma once

#include <cstddef>

#include "common/check.h"

namespace tokenstore {

// Strict majority of n: the smallest count that any two such sets share a member.
constexpr size_t MajorityOf(size_t n) { return n / 2 + 1; }

enum class QuorumState { kPending, kReached, kImpossible };

class QuorumCounter {
 public:
  QuorumCounter(size_t replicas, size_t needed) : replicas_(replicas), needed_(needed) {}

  // Each returns the state after counting; the state changes from kPending at most once.
  QuorumState AddSuccess() {
    TS_CHECK(successes_ + failures_ < replicas_, "more replies than replicas in a quorum round");
    ++successes_;
    return state();
  }
  QuorumState AddFailure() {
    TS_CHECK(successes_ + failures_ < replicas_, "more replies than replicas in a quorum round");
    ++failures_;
    return state();
  }

  QuorumState state() const {
    if (successes_ >= needed_) return QuorumState::kReached;
    if (replicas_ - failures_ < needed_) return QuorumState::kImpossible;
    return QuorumState::kPending;
  }
  size_t successes() const { return successes_; }
  size_t failures() const { return failures_; }
  size_t needed() const { return needed_; }

 private:
  size_t replicas_;
  size_t needed_;
  size_t successes_ = 0;
  size_t failures_ = 0;
};

}  // namespace tokenstore
