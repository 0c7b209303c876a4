#include "chaos/run_outcome.h"

#include <algorithm>

namespace tokenstore::chaos {

RunOutcome OutcomeOf(const checker::Verdict& verdict, size_t value_mismatches, bool exercised) {
  if (!verdict.input_error.ok()) return RunOutcome::kNotTested;
  const bool violation =
      std::any_of(verdict.tokens.begin(), verdict.tokens.end(),
                  [](const checker::TokenVerdict& t) { return !t.linearizable && !t.unknown; });
  if (violation || value_mismatches > 0) return RunOutcome::kViolation;
  if (verdict.unknown) return RunOutcome::kUnknown;
  if (!exercised) return RunOutcome::kNotTested;
  return RunOutcome::kLinearizable;
}

}  // namespace tokenstore::chaos
