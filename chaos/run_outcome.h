// What a fault run's end means, from the checker's verdict, the check of returned hashes and
// what the run exercised: the one place that turns them into token-chaos's exit code (pure,
// so it is tested without a run).
//
//   kLinearizable  0  every token proven linearizable, every returned hash right, and the run
//                     exercised what it was asked (chaos/exercise.h)
//   kViolation     1  some token is NOT linearizable, or some read's final or write's partial
//                     is not the hash engine's (checker/value_check.h): the only outcome that
//                     counts as a catch
//   kNotTested     2  the history is malformed, or it is correct but the run exercised too
//                     little: too few ok operations, or a fault kind asked for injected and
//                     healed too few times
//   kUnknown       3  the checker's search budget ran out on some token and nothing is a
//                     violation: neither a pass nor a catch
//
// Thread-safety: pure.
#pragma once

#include <cstddef>

#include "checker/linearizability.h"

namespace tokenstore::chaos {

enum class RunOutcome { kLinearizable = 0, kViolation = 1, kNotTested = 2, kUnknown = 3 };

// `value_mismatches`: returned hashes that are not the hash engine's. `exercised`: the run
// did at least what it was asked (chaos/exercise.h's Shortfalls found nothing).
RunOutcome OutcomeOf(const checker::Verdict& verdict, size_t value_mismatches, bool exercised);

}  // namespace tokenstore::chaos
