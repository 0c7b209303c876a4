// Decides whether a history of single-writer registers is atomic (linearizable), per token.
//
// Operations are paired from invoke/ok|fail|info events by process. An `ok` operation took
// effect between its invoke and its completion; a `fail` one never did; an `info` one may
// have taken effect at any time after its invoke, or never. A read returns the value of the
// last write linearized before it (or undefined before any write).
//
// On a violation the verdict carries the smallest evidence found: the operations involved,
// their times, and why no order works, as text a person can read.
//
// The verdict is exact: a P-compositional (per token) Wing & Gong / Lowe search with
// memoization, as in Porcupine (checker/register_search.h). Because that search is
// exponential in the worst case it runs under a budget; a token whose search exceeds it is
// reported as `unknown` (neither proven atomic nor shown to be a violation) instead of
// guessing.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "checker/history.h"
#include "checker/register_search.h"

namespace tokenstore::checker {

struct TokenVerdict {
  std::string token;
  bool linearizable = true;
  // The search budget ran out: nothing is known. Then linearizable is false too (a caller
  // that only looks at `linearizable` stays on the safe side) and explanation says so.
  bool unknown = false;
  size_t operations = 0;   // completed or info operations checked
  std::string explanation;  // empty when linearizable
  // On a violation: the lines (invoke, then completion if any) of the operations in the
  // evidence, ascending. Lines are those in the Events (0 if they had none).
  std::vector<int> evidence_lines;
};

struct Verdict {
  // True only if every token was shown linearizable.
  bool linearizable = true;
  // Some token's search exceeded its budget (other tokens may still be violations).
  bool unknown = false;
  std::vector<TokenVerdict> tokens;  // sorted by token
  size_t operations = 0;
  // Not OK if the events do not form a history (see ValidateHistory); then nothing was
  // checked, linearizable is false and tokens is empty.
  Status input_error;
};

struct CheckOptions {
  SearchBudget search;  // per token
  // Total search steps spent shrinking one token's evidence; when spent, the evidence found
  // so far is reported (still a genuine violation, just maybe not the smallest).
  uint64_t minimize_steps = 20'000'000;
};

// Pairs invokes with completions by process and checks the rules of SPEC section 9: a
// completion needs a pending invoke of the same f and token, no earlier in time; a process
// is not reused after info; write names are unique; a write's completion repeats its name.
// Errors are INVALID_ARGUMENT "LINE: ..." (prefixed "SOURCE:" when `source` is not empty).
// Invokes never completed are fine: they count as info.
Status ValidateHistory(const std::vector<Event>& events, std::string_view source = "");

Verdict CheckHistory(const std::vector<Event>& events);
Verdict CheckHistory(const std::vector<Event>& events, const CheckOptions& options);

}  // namespace tokenstore::checker
