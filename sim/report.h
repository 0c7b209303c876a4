// What token-sim prints of a run: the history as a file, and for a failing seed a shrunk
// history a person can read.
//
// The shrinking leans on the checker, which already reduces a violation to the smallest set
// of operations it found (TokenVerdict::evidence_lines). The report keeps the failing token
// only, the window of its history between the first and the last line of that evidence (or
// just the evidence when the window is long), and the faults the nemesis injected during
// and shortly before that window, merged in time order.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "checker/history.h"
#include "sim/simulation.h"

namespace tokenstore::sim {

// The history as JSON Lines (SPEC section 9): what `token-check` reads.
std::string HistoryText(const std::vector<checker::Event>& events);

// Empty for a run without violation; else what broke, then the shrunk history.
std::string FailureReport(const SimResult& result);

}  // namespace tokenstore::sim
