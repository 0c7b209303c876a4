#include "chaos/run_outcome.h"

#include <algorithm>

namespace tokenstore::chaos {

RunOutcome OutcomeOf(const checker::Verdict& verdict, bool all_injected) {
  if (!verdict.input_error.ok()) return RunOutcome::kNotTested;
  const bool violation =
      std::any_of(verdict.tokens.begin(), verdict.tokens.end(),
                  [](const checker::TokenVerdict& t) { return !t.linearizable && !t.unknown; });
  if (violation) return RunOutcome::kViolation;
  if (verdict.unknown) return RunOutcome::kUnknown;
  if (!all_injected) return RunOutcome::kNotTested;
  return RunOutcome::kLinearizable;
}

}  // namespace tokenstore::chaos
