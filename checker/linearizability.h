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
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "checker/history.h"

namespace tokenstore::checker {

struct TokenVerdict {
  std::string token;
  bool linearizable = true;
  size_t operations = 0;   // completed or info operations checked
  std::string explanation;  // empty when linearizable
};

struct Verdict {
  bool linearizable = true;
  std::vector<TokenVerdict> tokens;  // sorted by token
  size_t operations = 0;
};

Verdict CheckHistory(const std::vector<Event>& events);

}  // namespace tokenstore::checker
