// What a fault run's end means, from the checker's verdict and what the nemesis did: the one
// place that turns them into token-chaos's exit code (pure, so it is tested without a run).
//
//   kLinearizable  0  every token proven linearizable, and every fault kind asked for ran
//   kViolation     1  some token is NOT linearizable (the only outcome that counts as a catch)
//   kNotTested     2  the history is malformed, or it is linearizable but a kind asked for was
//                     never injected: the run did less than it was asked
//   kUnknown       3  the checker's search budget ran out on some token and none is a
//                     violation: neither a pass nor a catch
//
// Thread-safety: pure.
#pragma once

#include "checker/linearizability.h"

namespace tokenstore::chaos {

enum class RunOutcome { kLinearizable = 0, kViolation = 1, kNotTested = 2, kUnknown = 3 };

// `all_injected`: every fault kind (and bias scenario) the run asked for happened.
RunOutcome OutcomeOf(const checker::Verdict& verdict, bool all_injected);

}  // namespace tokenstore::chaos
