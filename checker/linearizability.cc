// CheckHistory: pairs events into operations, splits them by token (a history of registers is
// linearizable iff each register's sub-history is), prepares each token's operations for the
// exact search (checker/register_search.h), and on a violation shrinks the evidence and
// explains it.
#include "checker/linearizability.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace tokenstore::checker {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

enum class Outcome { kOk, kFail, kInfo, kPending };

struct Operation {
  int64_t process = 0;
  OpFunction f = OpFunction::kRead;
  std::string token;
  Outcome outcome = Outcome::kPending;
  std::optional<std::string> name;  // written, or read (nullopt: undefined)
  int64_t call = 0;
  int64_t ret = kNever;  // kNever unless ok or fail
  int invoke_line = 0;
  int complete_line = 0;  // 0 if never completed
};

std::string Where(std::string_view source, int line) {
  if (source.empty()) return "line " + std::to_string(line) + ": ";
  return std::string(source) + ":" + std::to_string(line) + ": ";
}

Status PairOperations(const std::vector<Event>& events, std::string_view source,
                      std::vector<Operation>* out) {
  std::unordered_map<int64_t, size_t> pending;  // process -> index in *out
  std::unordered_map<int64_t, int> info_line;   // process -> line of its info
  std::unordered_map<std::string, int> written;  // write name -> invoke line
  for (const Event& e : events) {
    const std::string where = Where(source, e.line);
    const std::string proc = "process " + std::to_string(e.process);
    if (auto it = info_line.find(e.process); it != info_line.end()) {
      return Status::InvalidArgument(where + proc + " is used again after its info at line " +
                                     std::to_string(it->second) +
                                     " (an info process id is never reused)");
    }
    if (e.type == EventType::kInvoke) {
      if (auto it = pending.find(e.process); it != pending.end()) {
        return Status::InvalidArgument(where + proc + " invokes while its operation from line " +
                                       std::to_string((*out)[it->second].invoke_line) +
                                       " is still pending");
      }
      if (e.f == OpFunction::kWrite) {
        if (!e.name) return Status::InvalidArgument(where + "a write invoke needs a name");
        auto [it, fresh] = written.emplace(*e.name, e.line);
        if (!fresh) {
          return Status::InvalidArgument(where + "write name \"" + *e.name +
                                         "\" was already written at line " +
                                         std::to_string(it->second) +
                                         " (names are unique per history)");
        }
      }
      Operation op;
      op.process = e.process;
      op.f = e.f;
      op.token = e.token;
      op.call = e.time;
      op.invoke_line = e.line;
      if (e.f == OpFunction::kWrite) op.name = e.name;
      pending[e.process] = out->size();
      out->push_back(std::move(op));
      continue;
    }
    auto it = pending.find(e.process);
    if (it == pending.end()) {
      return Status::InvalidArgument(where + EventTypeName(e.type) + " for " + proc +
                                     " without a pending invoke");
    }
    Operation& op = (*out)[it->second];
    if (op.f != e.f || op.token != e.token) {
      return Status::InvalidArgument(
          where + EventTypeName(e.type) + " " + OpFunctionName(e.f) + " of token " + e.token +
          " does not match the " + OpFunctionName(op.f) + " of token " + op.token +
          " invoked by " + proc + " at line " + std::to_string(op.invoke_line));
    }
    if (e.time < op.call) {
      return Status::InvalidArgument(where + "completion time " + std::to_string(e.time) +
                                     " is before its invoke time " + std::to_string(op.call) +
                                     " (line " + std::to_string(op.invoke_line) + ")");
    }
    if (op.f == OpFunction::kWrite && e.name && *e.name != *op.name) {
      return Status::InvalidArgument(where + "write completion names \"" + *e.name +
                                     "\" but line " + std::to_string(op.invoke_line) +
                                     " invoked \"" + *op.name + "\"");
    }
    op.complete_line = e.line;
    pending.erase(it);
    switch (e.type) {
      case EventType::kOk:
        op.outcome = Outcome::kOk;
        op.ret = e.time;
        if (op.f == OpFunction::kRead) op.name = e.name;
        break;
      case EventType::kFail:
        op.outcome = Outcome::kFail;
        op.ret = e.time;
        break;
      case EventType::kInfo:
        op.outcome = Outcome::kInfo;
        info_line[e.process] = e.line;
        break;
      case EventType::kInvoke:
        break;  // handled above
    }
  }
  return Status::Ok();
}

// One token's operations and the work on them.
class TokenChecker {
 public:
  TokenChecker(std::vector<Operation> ops, int64_t base_time, const CheckOptions& options)
      : ops_(std::move(ops)), base_time_(base_time), options_(options) {
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (ops_[i].f == OpFunction::kWrite) write_of_[*ops_[i].name] = static_cast<int>(i);
    }
  }

  TokenVerdict Check() {
    TokenVerdict v;
    v.token = ops_.empty() ? "" : ops_.front().token;
    std::vector<int> all;
    for (size_t i = 0; i < ops_.size(); ++i) {
      const Operation& op = ops_[i];
      if (op.outcome != Outcome::kFail) ++v.operations;
      // Failed operations never took effect; reads of unknown outcome tell nothing.
      if (op.outcome == Outcome::kFail) continue;
      if (op.f == OpFunction::kRead && op.outcome != Outcome::kOk) continue;
      all.push_back(static_cast<int>(i));
    }
    std::vector<SearchOp> search_ops;
    int bad_read = -1;
    if (!Prepare(all, &search_ops, &bad_read)) {
      v.linearizable = false;
      ExplainNeverWritten(bad_read, &v);
      return v;
    }
    const SearchResult r = SearchLinearization(search_ops, options_.search);
    if (r == SearchResult::kLinearizable) return v;
    v.linearizable = false;
    if (r == SearchResult::kUnknown) {
      v.unknown = true;
      v.explanation = "search budget of " + std::to_string(options_.search.max_steps) +
                      " steps exceeded: neither shown atomic nor shown to be a violation";
      return v;
    }
    Explain(Minimize(all), &v);
    return v;
  }

 private:
  // Builds the search input from the operations in `subset`. False (with *bad_read) if a
  // completed read returned a name no write in the subset could have written.
  bool Prepare(const std::vector<int>& subset, std::vector<SearchOp>* out, int* bad_read) const {
    std::unordered_map<std::string_view, int64_t> earliest_read_ret;
    std::unordered_set<std::string_view> writes;
    for (int i : subset) {
      if (ops_[i].f == OpFunction::kWrite) writes.insert(*ops_[i].name);
    }
    for (int i : subset) {
      const Operation& op = ops_[i];
      if (op.f != OpFunction::kRead || !op.name) continue;
      if (!writes.contains(*op.name)) {
        *bad_read = i;
        return false;
      }
      auto [it, fresh] = earliest_read_ret.emplace(*op.name, op.ret);
      if (!fresh) it->second = std::min(it->second, op.ret);
    }
    out->clear();
    for (int i : subset) {
      const Operation& op = ops_[i];
      SearchOp s;
      s.call = op.call;
      s.ret = op.ret;
      s.is_write = op.f == OpFunction::kWrite;
      if (s.is_write) {
        s.value = i + 1;
        if (op.outcome != Outcome::kOk) {
          // Unknown outcome: if nobody read it, taking effect never (or last) is always
          // possible, so it constrains nothing; if read, it took effect before the earliest
          // such read returned. Either way the search gets only bounded intervals.
          auto it = earliest_read_ret.find(*op.name);
          if (it == earliest_read_ret.end()) continue;
          s.ret = std::max(it->second, op.call);
        }
      } else {
        s.value = op.name ? write_of_.at(*op.name) + 1 : 0;
      }
      out->push_back(s);
    }
    return true;
  }

  SearchResult Run(const std::vector<int>& subset, uint64_t* steps) const {
    std::vector<SearchOp> search_ops;
    int bad_read = -1;
    if (!Prepare(subset, &search_ops, &bad_read)) return SearchResult::kViolation;
    SearchBudget budget = options_.search;
    budget.max_steps = std::min(budget.max_steps, *steps);
    uint64_t used = 0;
    const SearchResult r = SearchLinearization(search_ops, budget, &used);
    *steps -= std::min(*steps, used);
    return r;
  }

  // Delta debugging (complement removal): drops chunks of operations while the rest stays a
  // violation. Removing a write removes the reads of its value with it: otherwise the rest
  // would degenerate into "read of a value never written", which says nothing about the
  // original. Every subset kept this way is itself evidence, since a linearization of the
  // whole would restrict to one of the subset.
  std::vector<int> Minimize(std::vector<int> core) const {
    uint64_t steps = options_.minimize_steps;
    size_t parts = 2;
    while (core.size() >= 2 && steps > 0) {
      const size_t chunk = (core.size() + parts - 1) / parts;
      bool reduced = false;
      for (size_t start = 0; start < core.size() && steps > 0; start += chunk) {
        std::unordered_set<std::string_view> removed_writes;
        std::unordered_set<int> removed;
        for (size_t k = start; k < std::min(core.size(), start + chunk); ++k) {
          removed.insert(core[k]);
          if (ops_[core[k]].f == OpFunction::kWrite) removed_writes.insert(*ops_[core[k]].name);
        }
        std::vector<int> rest;
        for (int i : core) {
          const Operation& op = ops_[i];
          if (removed.contains(i)) continue;
          if (op.f == OpFunction::kRead && op.name && removed_writes.contains(*op.name)) continue;
          rest.push_back(i);
        }
        if (rest.empty()) continue;
        if (Run(rest, &steps) == SearchResult::kViolation) {
          core = std::move(rest);
          parts = std::max<size_t>(parts - 1, 2);
          reduced = true;
          break;
        }
      }
      if (reduced) continue;
      if (chunk <= 1) break;
      parts = std::min(parts * 2, core.size());
    }
    return core;
  }

  std::string Ms(int64_t t) const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(t - base_time_) / 1e6);
    return buf;
  }
  std::string Interval(const Operation& op) const {
    if (op.outcome == Outcome::kInfo) return "invoked at " + Ms(op.call) + " ms, outcome unknown";
    if (op.outcome == Outcome::kPending) {
      return "invoked at " + Ms(op.call) + " ms, never completed";
    }
    return "at [" + Ms(op.call) + ", " + Ms(op.ret) + "] ms";
  }
  static std::string ReadName(const Operation& op) { return op.name ? *op.name : "undefined"; }
  std::string Describe(int i) const {
    const Operation& op = ops_[i];
    const std::string proc = "process " + std::to_string(op.process);
    std::string s = op.f == OpFunction::kWrite
                        ? "write " + *op.name + " by " + proc + (op.outcome == Outcome::kFail ? " failed " : " ")
                        : "read by " + proc + " returned " + ReadName(op) + " ";
    return s + Interval(op);
  }
  // `a` completed before `b` began, so every order puts a first.
  bool Precedes(int a, int b) const { return ops_[a].ret < ops_[b].call; }

  void AddEvidence(std::vector<int> core, const std::string& why, TokenVerdict* v) const {
    std::sort(core.begin(), core.end(),
              [&](int a, int b) { return ops_[a].call < ops_[b].call; });
    std::string text = why + "\nOperations involved (ms since the start of the history):";
    for (int i : core) {
      const Operation& op = ops_[i];
      text += "\n  " + Describe(i) + (op.complete_line != 0 ? " (lines " : " (line ") +
              std::to_string(op.invoke_line);
      if (op.complete_line != 0) text += "-" + std::to_string(op.complete_line);
      text += ")";
      v->evidence_lines.push_back(op.invoke_line);
      if (op.complete_line != 0) v->evidence_lines.push_back(op.complete_line);
    }
    std::sort(v->evidence_lines.begin(), v->evidence_lines.end());
    v->explanation = text;
  }

  void ExplainNeverWritten(int read, TokenVerdict* v) const {
    const Operation& r = ops_[read];
    auto it = write_of_.find(*r.name);
    std::string why = Capitalized(Describe(read));
    if (it != write_of_.end()) {
      // The write exists but was dropped: it failed.
      why += ", but the write of " + *r.name + " by process " +
             std::to_string(ops_[it->second].process) +
             " failed (it certainly did not take effect): read of a value never written.";
      AddEvidence({read, it->second}, why, v);
      return;
    }
    why += ", but no write of " + *r.name + " to token " + r.token +
           " appears in the history: read of a value never written.";
    AddEvidence({read}, why, v);
  }

  static std::string Capitalized(std::string s) {
    if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
    return s;
  }

  // Names the pattern of the (small) evidence in one sentence, or says in general terms why
  // no order works.
  void Explain(const std::vector<int>& core, TokenVerdict* v) const {
    auto write_of = [&](int read) -> int {
      const Operation& r = ops_[read];
      return r.name ? write_of_.at(*r.name) : -1;
    };
    for (int r : core) {
      if (ops_[r].f != OpFunction::kRead) continue;
      const int w = write_of(r);
      if (w >= 0 && ops_[r].ret < ops_[w].call) {
        return AddEvidence(core, Capitalized(Describe(r)) + ", but the write of " +
                                     *ops_[w].name + " began only at " + Ms(ops_[w].call) +
                                     " ms: a read cannot return a value before its write begins.",
                           v);
      }
    }
    for (int r : core) {
      if (ops_[r].f != OpFunction::kRead || ops_[r].name) continue;
      for (int w : core) {
        if (ops_[w].f == OpFunction::kWrite && Precedes(w, r)) {
          return AddEvidence(core, Capitalized(Describe(r)) + ", but write " + *ops_[w].name +
                                       " completed at " + Ms(ops_[w].ret) +
                                       " ms, before the read began: after a completed write no "
                                       "read may see the initial (undefined) value.",
                             v);
        }
      }
    }
    for (int r : core) {
      if (ops_[r].f != OpFunction::kRead || !ops_[r].name) continue;
      const int w1 = write_of(r);
      for (int w2 : core) {
        if (ops_[w2].f == OpFunction::kWrite && w2 != w1 && Precedes(w2, r) &&
            Precedes(w1, w2)) {
          return AddEvidence(
              core,
              Capitalized(Describe(r)) + ", but write " + *ops_[w2].name + " completed at " +
                  Ms(ops_[w2].ret) + " ms, before the read began, and " + *ops_[r].name +
                  " was written before " + *ops_[w2].name + " began (its write completed at " +
                  Ms(ops_[w1].ret) + " ms): stale read.",
              v);
        }
      }
    }
    for (int a : core) {
      if (ops_[a].f != OpFunction::kRead || !ops_[a].name) continue;
      const int w2 = write_of(a);
      for (int b : core) {
        if (ops_[b].f != OpFunction::kRead || b == a || !Precedes(a, b)) continue;
        const int w1 = write_of(b);
        if (w1 == w2 || (w1 >= 0 && !Precedes(w1, w2))) continue;
        std::string why = Capitalized(Describe(a)) + ", then a later " + Describe(b) + ", but ";
        if (w1 < 0) {
          why += "once a read has seen " + *ops_[a].name +
                 ", no later read may see the initial (undefined) value: new-old inversion.";
        } else {
          why += *ops_[b].name + " was written before " + *ops_[a].name +
                 " began (its write completed at " + Ms(ops_[w1].ret) + " ms): new-old inversion; "
                 "once a read has seen " + *ops_[a].name + ", no later read may return the older " +
                 *ops_[b].name + ".";
        }
        return AddEvidence(core, why, v);
      }
    }
    AddEvidence(core,
                "No order of these " + std::to_string(core.size()) +
                    " operations respects both real time (an operation that completed before "
                    "another began comes first) and the register (a read returns the last write "
                    "before it).",
                v);
  }

  std::vector<Operation> ops_;
  int64_t base_time_;
  const CheckOptions& options_;
  std::unordered_map<std::string, int> write_of_;  // name -> index in ops_, failed ones too
};

}  // namespace

Status ValidateHistory(const std::vector<Event>& events, std::string_view source) {
  std::vector<Operation> ops;
  return PairOperations(events, source, &ops);
}

Verdict CheckHistory(const std::vector<Event>& events) { return CheckHistory(events, {}); }

Verdict CheckHistory(const std::vector<Event>& events, const CheckOptions& options) {
  Verdict verdict;
  std::vector<Operation> ops;
  if (Status st = PairOperations(events, "", &ops); !st.ok()) {
    verdict.linearizable = false;
    verdict.input_error = st;
    return verdict;
  }
  int64_t base_time = 0;
  if (!events.empty()) {
    base_time = std::min_element(events.begin(), events.end(), [](const Event& a, const Event& b) {
                  return a.time < b.time;
                })->time;
  }
  std::map<std::string, std::vector<Operation>> by_token;
  for (Operation& op : ops) by_token[op.token].push_back(std::move(op));
  for (auto& [token, token_ops] : by_token) {
    TokenVerdict tv = TokenChecker(std::move(token_ops), base_time, options).Check();
    tv.token = token;
    verdict.operations += tv.operations;
    if (!tv.linearizable) verdict.linearizable = false;
    if (tv.unknown) verdict.unknown = true;
    verdict.tokens.push_back(std::move(tv));
  }
  return verdict;
}

}  // namespace tokenstore::checker
