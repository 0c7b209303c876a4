#include "sim/report.h"

#include <algorithm>
#include <cstdio>

namespace tokenstore::sim {
namespace {

constexpr size_t kMaxWindowEvents = 60;  // beyond this, only the evidence is shown
constexpr size_t kMaxFaults = 30;
constexpr int64_t kFaultLeadNs = 100'000'000;  // faults this long before the window matter too

// Milliseconds since `base`, the history's first event, as the checker counts them.
std::string Ms(int64_t ns, int64_t base) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%10.3f ms", static_cast<double>(ns - base) / 1e6);
  return buf;
}

int64_t BaseOf(const SimResult& r) { return r.history.empty() ? 0 : r.history.front().time; }

const checker::TokenVerdict* FailingToken(const checker::Verdict& v) {
  for (const checker::TokenVerdict& t : v.tokens) {
    if (!t.linearizable && !t.unknown) return &t;
  }
  return nullptr;
}

// The faults from `from` to `to` (virtual ns), the last kMaxFaults of them.
std::vector<const TraceLine*> FaultsBetween(const SimResult& r, int64_t from, int64_t to) {
  std::vector<const TraceLine*> out;
  for (const TraceLine& t : r.trace) {
    if (t.time >= from && t.time <= to) out.push_back(&t);
  }
  if (out.size() > kMaxFaults) out.erase(out.begin(), out.end() - kMaxFaults);
  return out;
}

// The failing token's events in the evidence's window (or only the evidence's), merged with
// the faults of the same time, as lines "time  line N  {json}".
std::string ShrunkHistory(const SimResult& r, const checker::TokenVerdict& t) {
  const int lo = t.evidence_lines.front(), hi = t.evidence_lines.back();
  std::vector<const checker::Event*> window;
  for (int line = lo; line <= hi; ++line) {
    const checker::Event& e = r.history[line - 1];
    if (e.token == t.token) window.push_back(&e);
  }
  const bool evidence_only = window.size() > kMaxWindowEvents;
  if (evidence_only) {
    window.clear();
    for (int line : t.evidence_lines) window.push_back(&r.history[line - 1]);
  }
  const int64_t start = r.history[lo - 1].time, end = r.history[hi - 1].time;
  std::vector<const TraceLine*> faults = FaultsBetween(r, start - kFaultLeadNs, end);
  const int64_t base = BaseOf(r);
  std::string out = "Token " + t.token + ", lines " + std::to_string(lo) + " to " +
                    std::to_string(hi) + " of " + std::to_string(r.history.size()) +
                    (evidence_only ? " (the evidence only)" : "") +
                    ", with the faults of that time (ms since the history's start, as above):\n";
  size_t f = 0;
  for (const checker::Event* e : window) {
    for (; f < faults.size() && faults[f]->time <= e->time; ++f) {
      out += Ms(faults[f]->time, base) + "  -- " + faults[f]->what + "\n";
    }
    out += Ms(e->time, base) + "  line " + std::to_string(e->line) + "  " +
           checker::ToJsonLine(*e) + "\n";
  }
  return out;
}

}  // namespace

std::string HistoryText(const std::vector<checker::Event>& events) {
  std::string out;
  for (const checker::Event& e : events) out += checker::ToJsonLine(e) + "\n";
  return out;
}

std::string FailureReport(const SimResult& r) {
  const std::string head = "seed " + std::to_string(r.seed) + ": ";
  if (r.invariant) {
    std::string out = head + "INVARIANT BROKEN " + *r.invariant +
                      "\nThe last faults before it (virtual ms since the run's start):\n";
    for (const TraceLine* t : FaultsBetween(r, 0, INT64_MAX)) out += Ms(t->time, 0) + "  -- " + t->what + "\n";
    return out;
  }
  if (!r.verdict.input_error.ok()) {
    return head + "the simulator recorded a malformed history: " + r.verdict.input_error.ToString() + "\n";
  }
  const checker::TokenVerdict* t = FailingToken(r.verdict);
  if ((t == nullptr || t->evidence_lines.empty()) && r.values.mismatches > 0) {
    std::string out = head + "WRONG HASH in " + std::to_string(r.values.mismatches) +
                      " returned value(s)\n";
    for (const std::string& e : r.values.explanations) out += e + "\n";
    return out;
  }
  if (t == nullptr || t->evidence_lines.empty()) return "";
  return head + "NOT LINEARIZABLE\n" + t->explanation + "\n\n" + ShrunkHistory(r, *t);
}

}  // namespace tokenstore::sim
