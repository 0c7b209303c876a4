#include "chaos/run_outcome.h"

#include <gtest/gtest.h>

namespace tokenstore::chaos {
namespace {

checker::TokenVerdict Token(bool linearizable, bool unknown = false) {
  checker::TokenVerdict t;
  t.linearizable = linearizable;
  t.unknown = unknown;
  return t;
}

checker::Verdict VerdictOf(std::vector<checker::TokenVerdict> tokens) {
  checker::Verdict v;
  for (const auto& t : tokens) {
    v.linearizable &= t.linearizable;
    v.unknown |= t.unknown;
  }
  v.tokens = std::move(tokens);
  return v;
}

TEST(RunOutcome, OnlyAViolationIsACatch) {
  EXPECT_EQ(OutcomeOf(VerdictOf({Token(true), Token(true)}), 0, true), RunOutcome::kLinearizable);
  EXPECT_EQ(OutcomeOf(VerdictOf({Token(true), Token(false)}), 0, true), RunOutcome::kViolation);
  // A violation stands also when another token is unknown or a fault kind never ran.
  EXPECT_EQ(OutcomeOf(VerdictOf({Token(false), Token(false, true)}), 0, false),
            RunOutcome::kViolation);
}

// Issue 11, item 1: before, a search that ran out of budget made token-chaos exit 1, so a
// run that had to catch a seeded bug "caught" it without a violation.
TEST(RunOutcome, AnExhaustedSearchIsUnknownNeverACatchNorAPass) {
  EXPECT_EQ(OutcomeOf(VerdictOf({Token(true), Token(false, true)}), 0, true), RunOutcome::kUnknown);
  EXPECT_EQ(OutcomeOf(VerdictOf({Token(false, true)}), 0, false), RunOutcome::kUnknown);
}

// Issue 11, item 3: the finals reads returned were recorded but never checked.
TEST(RunOutcome, AWrongReturnedHashIsAViolationWhateverElse) {
  EXPECT_EQ(OutcomeOf(VerdictOf({Token(true)}), 1, true), RunOutcome::kViolation);
  EXPECT_EQ(OutcomeOf(VerdictOf({Token(true)}), 1, false), RunOutcome::kViolation);
  EXPECT_EQ(OutcomeOf(VerdictOf({Token(false, true)}), 3, true), RunOutcome::kViolation);
}

TEST(RunOutcome, ARunThatDidLessThanAskedOrAMalformedHistoryIsNotTested) {
  EXPECT_EQ(OutcomeOf(VerdictOf({Token(true)}), 0, false), RunOutcome::kNotTested);
  checker::Verdict broken;
  broken.linearizable = false;
  broken.input_error = Status::InvalidArgument("line 3: no type");
  EXPECT_EQ(OutcomeOf(broken, 0, true), RunOutcome::kNotTested);
}

}  // namespace
}  // namespace tokenstore::chaos
