// CheckHistory: hand-made atomic and non-atomic histories, randomized small histories
// against a brute-force search over all orders, evidence shrinking, the budget, and a large
// generated history.
#include "checker/linearizability.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <set>

namespace tokenstore::checker {
namespace {

constexpr int64_t kMs = 1'000'000;

// Builds histories one operation at a time; each operation gets its own process, times are
// in ms. Lines are assigned in insertion order.
class Builder {
 public:
  Builder& Write(std::string name, double call, double ret,
                 EventType outcome = EventType::kOk) {
    return Add(OpFunction::kWrite, std::move(name), call, ret, outcome);
  }
  Builder& Read(std::optional<std::string> name, double call, double ret,
                EventType outcome = EventType::kOk) {
    return Add(OpFunction::kRead, std::move(name), call, ret, outcome);
  }
  // An invoke without completion (the test ended first).
  Builder& PendingWrite(std::string name, double call) {
    events_.push_back(Make(OpFunction::kWrite, EventType::kInvoke, name, call));
    ++process_;
    return *this;
  }
  std::vector<Event> events() const {
    std::vector<Event> out = events_;
    for (size_t i = 0; i < out.size(); ++i) out[i].line = static_cast<int>(i + 1);
    return out;
  }

 private:
  Builder& Add(OpFunction f, std::optional<std::string> name, double call, double ret,
               EventType outcome) {
    events_.push_back(Make(f, EventType::kInvoke, f == OpFunction::kWrite ? name : std::nullopt,
                           call));
    Event done = Make(f, outcome, name, ret);
    if (f == OpFunction::kRead && outcome == EventType::kOk && name) done.final_value = 1;
    events_.push_back(done);
    ++process_;
    return *this;
  }
  Event Make(OpFunction f, EventType type, std::optional<std::string> name, double t) const {
    Event e;
    e.process = process_;
    e.type = type;
    e.f = f;
    e.token = "1";
    e.name = std::move(name);
    e.time = static_cast<int64_t>(t * kMs);
    return e;
  }
  std::vector<Event> events_;
  int64_t process_ = 1;
};

TokenVerdict CheckOne(const Builder& b) {
  const Verdict v = CheckHistory(b.events());
  EXPECT_TRUE(v.input_error.ok()) << v.input_error.ToString();
  if (v.tokens.size() != 1) {
    ADD_FAILURE() << "expected one token";
    return {};
  }
  EXPECT_EQ(v.linearizable, v.tokens[0].linearizable);
  return v.tokens[0];
}

#define EXPECT_ATOMIC(b)                              \
  do {                                                \
    const TokenVerdict tv = CheckOne(b);              \
    EXPECT_TRUE(tv.linearizable) << tv.explanation;   \
    EXPECT_FALSE(tv.unknown);                         \
  } while (0)

#define EXPECT_VIOLATION(b, why)                                               \
  do {                                                                         \
    const TokenVerdict tv = CheckOne(b);                                       \
    EXPECT_FALSE(tv.linearizable);                                             \
    EXPECT_FALSE(tv.unknown);                                                  \
    EXPECT_NE(tv.explanation.find(why), std::string::npos) << tv.explanation; \
  } while (0)

TEST(AtomicHistoryTest, ConcurrentReadMayReturnEitherValue) {
  for (const char* seen : {"w-1", "w-2"}) {
    Builder b;
    b.Write("w-1", 0, 1).Write("w-2", 2, 10).Read(seen, 3, 4).Read("w-2", 11, 12);
    EXPECT_ATOMIC(b);
  }
  Builder undefined_or_first;
  undefined_or_first.Write("w-1", 0, 10).Read(std::nullopt, 1, 2).Read("w-1", 3, 4);
  EXPECT_ATOMIC(undefined_or_first);
}

TEST(AtomicHistoryTest, InfoWriteThatLaterBecomesVisible) {
  Builder b;
  b.Write("w-1", 0, 1).Write("w-2", 2, 3, EventType::kInfo).Read("w-1", 10, 11).Read("w-2", 20, 21);
  EXPECT_ATOMIC(b);
  Builder pending;
  pending.Write("w-1", 0, 1).PendingWrite("w-2", 2).Read("w-2", 30, 31);
  EXPECT_ATOMIC(pending);
}

TEST(AtomicHistoryTest, InfoWriteNeverVisible) {
  Builder b;
  b.Write("w-1", 0, 1).Write("w-2", 2, 3, EventType::kInfo).Read("w-1", 10, 11).Read("w-1", 20, 21);
  EXPECT_ATOMIC(b);
}

TEST(AtomicHistoryTest, ReadOfUndefinedBeforeAnyWrite) {
  Builder b;
  b.Read(std::nullopt, 0, 1).Write("w-1", 2, 3).Read("w-1", 4, 5);
  EXPECT_ATOMIC(b);
}

TEST(AtomicHistoryTest, FailedAndUnknownOperationsAreIgnored) {
  Builder b;
  b.Write("w-1", 0, 1)
      .Write("w-2", 2, 3, EventType::kFail)
      .Read("w-9", 4, 5, EventType::kInfo)
      .Read("w-2", 4, 5, EventType::kFail)
      .Read("w-1", 6, 7);
  EXPECT_ATOMIC(b);
}

TEST(AtomicHistoryTest, OverlappingWritesOrderedByWhatReadsSaw) {
  // Not our writer's pattern, but the checker must not assume writes never overlap.
  Builder b;
  b.Write("w-1", 0, 10).Write("w-2", 0, 10).Read("w-2", 11, 12).Read("w-2", 13, 14);
  EXPECT_ATOMIC(b);
  Builder flip;
  flip.Write("w-1", 0, 10).Write("w-2", 0, 10).Read("w-2", 11, 12).Read("w-1", 13, 14);
  EXPECT_VIOLATION(flip, "No order of these");
}

TEST(AtomicHistoryTest, TouchingIntervalsCountAsConcurrent) {
  Builder b;
  b.Write("w-1", 0, 5).Read(std::nullopt, 5, 6);
  EXPECT_ATOMIC(b);
}

TEST(ViolationTest, StaleReadAfterCompletedWrite) {
  Builder b;
  b.Write("w-1", 0, 1).Write("w-2", 2, 3).Read("w-1", 4, 5);
  EXPECT_VIOLATION(b, "stale read");
  const TokenVerdict tv = CheckOne(b);
  EXPECT_EQ(tv.evidence_lines, (std::vector<int>{1, 2, 3, 4, 5, 6}));
  EXPECT_NE(tv.explanation.find("Read by process 3 returned w-1 at [4.000, 5.000] ms, but write "
                                "w-2 completed at 3.000 ms"),
            std::string::npos)
      << tv.explanation;
}

TEST(ViolationTest, NewOldInversionDuringOneLongWrite) {
  Builder b;
  b.Write("w-1", 0, 1).Write("w-2", 2, 20).Read("w-2", 3, 4).Read("w-1", 5, 6);
  EXPECT_VIOLATION(b, "new-old inversion");
  Builder from_initial;
  from_initial.Write("w-1", 2, 20).Read("w-1", 3, 4).Read(std::nullopt, 5, 6);
  EXPECT_VIOLATION(from_initial, "new-old inversion");
}

TEST(ViolationTest, ReadOfValueNeverWritten) {
  Builder b;
  b.Write("w-1", 0, 1).Read("w-7", 2, 3);
  EXPECT_VIOLATION(b, "no write of w-7 to token 1 appears in the history: read of a value "
                      "never written");
  Builder failed;
  failed.Write("w-1", 0, 1, EventType::kFail).Read("w-1", 2, 3);
  EXPECT_VIOLATION(failed, "failed (it certainly did not take effect)");
}

TEST(ViolationTest, ReadReturnsBeforeItsWriteBegan) {
  Builder b;
  b.Read("w-1", 0, 1).Write("w-1", 2, 3);
  EXPECT_VIOLATION(b, "a read cannot return a value before its write begins");
  Builder info;
  info.Read("w-1", 0, 1).Write("w-1", 2, 3, EventType::kInfo);
  EXPECT_VIOLATION(info, "a read cannot return a value before its write begins");
}

TEST(ViolationTest, ReadOfInitialValueAfterCompletedWrite) {
  Builder b;
  b.Write("w-1", 0, 1).Read(std::nullopt, 2, 3);
  EXPECT_VIOLATION(b, "initial (undefined) value");
}

TEST(InputTest, PairingErrorsNameTheLine) {
  std::vector<Event> events = Builder().Write("w-1", 0, 1).events();
  events.push_back(events[1]);
  events.back().line = 3;
  Status st = ValidateHistory(events, "h.jsonl");
  EXPECT_EQ(st.message(), "h.jsonl:3: ok for process 1 without a pending invoke");
  const Verdict v = CheckHistory(events);
  EXPECT_FALSE(v.linearizable);
  EXPECT_FALSE(v.input_error.ok());

  events = Builder().Write("w-1", 0, 1).Write("w-1", 2, 3).events();
  EXPECT_NE(ValidateHistory(events).message().find("line 3: write name \"w-1\" was already"),
            std::string::npos);
  events = Builder().Write("w-1", 0, 1, EventType::kInfo).events();
  events.push_back(events[0]);
  events.back().name = "w-2";
  events.back().line = 3;
  EXPECT_NE(ValidateHistory(events).message().find("used again after its info at line 2"),
            std::string::npos);
  events = Builder().Write("w-1", 5, 1).events();
  EXPECT_NE(ValidateHistory(events).message().find("before its invoke time"), std::string::npos);
}

TEST(BudgetTest, ExhaustedBudgetIsUnknownNotAVerdict) {
  Builder b;
  for (int i = 0; i < 20; ++i) b.Read(std::nullopt, i, i + 0.5);
  CheckOptions options;
  options.search.max_steps = 5;
  const Verdict v = CheckHistory(b.events(), options);
  ASSERT_EQ(v.tokens.size(), 1u);
  EXPECT_TRUE(v.unknown);
  EXPECT_TRUE(v.tokens[0].unknown);
  EXPECT_FALSE(v.linearizable);
  EXPECT_NE(v.tokens[0].explanation.find("budget"), std::string::npos);
}

// ---- Randomized cross-check against a brute-force search over all orders. ----

struct BruteOp {
  int64_t call, ret;  // ret = max for unknown outcome
  bool is_write;
  std::optional<std::string> name;
};

bool BruteSearch(const std::vector<BruteOp>& ops, std::vector<bool>& placed, size_t left,
                 const std::optional<std::string>& value) {
  if (left == 0) return true;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (placed[i]) continue;
    bool blocked = false;  // some unplaced op completed before i began: it must come first
    for (size_t j = 0; j < ops.size() && !blocked; ++j) {
      blocked = j != i && !placed[j] && ops[j].ret < ops[i].call;
    }
    if (blocked) continue;
    if (!ops[i].is_write && ops[i].name != value) continue;
    placed[i] = true;
    const bool ok =
        BruteSearch(ops, placed, left - 1, ops[i].is_write ? ops[i].name : value);
    placed[i] = false;
    if (ok) return true;
  }
  return false;
}

// Straight from the definition: choose which unknown-outcome writes took effect, then try
// every order of the chosen operations.
bool BruteForceLinearizable(const std::vector<Event>& events) {
  std::vector<BruteOp> required, optional_writes;
  std::map<int64_t, size_t> invoke_of;
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].type == EventType::kInvoke) invoke_of[events[i].process] = i;
  }
  for (const auto& [process, idx] : invoke_of) {
    const Event& inv = events[idx];
    const Event* done = nullptr;
    for (const Event& e : events) {
      if (e.process == process && e.type != EventType::kInvoke) done = &e;
    }
    const EventType outcome = done ? done->type : EventType::kInfo;
    if (outcome == EventType::kFail) continue;
    if (inv.f == OpFunction::kRead) {
      if (outcome == EventType::kOk) required.push_back({inv.time, done->time, false, done->name});
      continue;
    }
    if (outcome == EventType::kOk) {
      required.push_back({inv.time, done->time, true, inv.name});
    } else {
      optional_writes.push_back(
          {inv.time, std::numeric_limits<int64_t>::max(), true, inv.name});
    }
  }
  for (uint32_t mask = 0; mask < (1u << optional_writes.size()); ++mask) {
    std::vector<BruteOp> ops = required;
    for (size_t k = 0; k < optional_writes.size(); ++k) {
      if (mask & (1u << k)) ops.push_back(optional_writes[k]);
    }
    std::vector<bool> placed(ops.size(), false);
    if (BruteSearch(ops, placed, ops.size(), std::nullopt)) return true;
  }
  return false;
}

std::vector<Event> RandomHistory(std::mt19937_64& rng) {
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const int n = 1 + pick(7);
  std::vector<std::string> names;
  Builder b;
  struct Planned {
    bool write;
    int call, ret;
    EventType outcome;
    bool pending;
  };
  std::vector<Planned> plan;
  for (int i = 0; i < n; ++i) {
    Planned p;
    p.write = pick(10) < 4;
    p.call = pick(20);
    p.ret = p.call + pick(8);
    const int r = pick(20);
    p.outcome = r < 14 ? EventType::kOk : r < 17 ? EventType::kInfo : EventType::kFail;
    p.pending = p.write && p.outcome == EventType::kInfo && pick(2) == 0;
    if (p.write) names.push_back("w-" + std::to_string(names.size() + 1));
    plan.push_back(p);
  }
  size_t next_name = 0;
  for (const Planned& p : plan) {
    if (p.write) {
      const std::string& name = names[next_name++];
      if (p.pending) {
        b.PendingWrite(name, p.call);
      } else {
        b.Write(name, p.call, p.ret, p.outcome);
      }
      continue;
    }
    std::optional<std::string> seen;
    const int v = pick(static_cast<int>(names.size()) + 2);
    if (v == static_cast<int>(names.size()) + 1) {
      seen = pick(8) == 0 ? std::optional<std::string>("w-ghost") : std::nullopt;
    } else if (v > 0) {
      seen = names[v - 1];
    }
    b.Read(seen, p.call, p.ret, p.outcome);
  }
  return b.events();
}

TEST(RandomizedTest, AgreesWithBruteForceAndEvidenceIsAViolation) {
  std::mt19937_64 rng(20240607);
  int atomic = 0, violations = 0;
  for (int round = 0; round < 2000; ++round) {
    const std::vector<Event> events = RandomHistory(rng);
    const bool expected = BruteForceLinearizable(events);
    const Verdict v = CheckHistory(events);
    ASSERT_TRUE(v.input_error.ok()) << v.input_error.ToString();
    ASSERT_FALSE(v.unknown);
    std::string dump;
    for (const Event& e : events) dump += ToJsonLine(e) + "\n";
    ASSERT_EQ(v.linearizable, expected) << "round " << round << "\n" << dump;
    if (expected) {
      ++atomic;
      continue;
    }
    ++violations;
    // The evidence alone must already be a violation.
    const std::vector<int>& lines = v.tokens.at(0).evidence_lines;
    std::vector<Event> evidence;
    for (const Event& e : events) {
      if (std::binary_search(lines.begin(), lines.end(), e.line)) evidence.push_back(e);
    }
    ASSERT_FALSE(BruteForceLinearizable(evidence))
        << "round " << round << "\n" << dump << v.tokens[0].explanation;
  }
  EXPECT_GT(atomic, 300);
  EXPECT_GT(violations, 300);
}

// ---- A large generated history like the fault tests produce. ----

// One writer (replaced by a new process after an info), `readers` readers; every operation
// takes effect at a random point inside its interval (info writes: later, or never), and
// reads return the last value at their point, so the history is atomic by construction.
std::vector<Event> GeneratedHistory(std::mt19937_64& rng, int readers, int target_ops,
                                    std::vector<size_t>* read_indices = nullptr) {
  auto uniform = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  struct Op {
    bool write;
    int64_t process, call, ret, point;  // point < 0: never took effect
    EventType outcome;
    std::string name;
  };
  std::vector<Op> ops;
  const int64_t horizon = static_cast<int64_t>(target_ops) / (readers + 1) * 60'000;
  int64_t next_process = 1;
  int write_count = 0;
  for (int64_t t = 0, p = next_process++; t < horizon;) {
    Op op{true, p, t, t + uniform(1'000, 100'000), 0, EventType::kOk,
          "w-" + std::to_string(++write_count)};
    op.point = uniform(op.call, op.ret);
    if (uniform(0, 49) == 0) {
      op.outcome = EventType::kInfo;
      op.point = uniform(0, 1) ? uniform(op.call, op.ret + 200'000) : -1;
      p = next_process++;
    }
    ops.push_back(op);
    t = op.ret + uniform(1, 50'000);
  }
  std::vector<std::pair<int64_t, std::string>> timeline;
  for (const Op& op : ops) {
    if (op.point >= 0) timeline.emplace_back(op.point, op.name);
  }
  std::sort(timeline.begin(), timeline.end());
  for (int r = 0; r < readers; ++r) {
    for (int64_t t = uniform(0, 10'000), p = next_process++; t < horizon;) {
      Op op{false, p, t, t + uniform(1'000, 100'000), 0, EventType::kOk, ""};
      op.point = uniform(op.call, op.ret);
      auto it = std::upper_bound(timeline.begin(), timeline.end(),
                                 std::make_pair(op.point, std::string("\xff")));
      if (it != timeline.begin()) op.name = std::prev(it)->second;
      if (uniform(0, 99) == 0) {
        op.outcome = EventType::kInfo;
        p = next_process++;
      }
      ops.push_back(op);
      t = op.ret + uniform(1, 20'000);
    }
  }
  struct Timed {
    int64_t time;
    Event e;
  };
  std::vector<Timed> timed;
  for (const Op& op : ops) {
    Event inv;
    inv.process = op.process;
    inv.f = op.write ? OpFunction::kWrite : OpFunction::kRead;
    inv.token = "1";
    inv.time = op.call;
    if (op.write) inv.name = op.name;
    Event done = inv;
    done.type = op.outcome;
    done.time = op.ret;
    if (!op.write && op.outcome == EventType::kOk && !op.name.empty()) {
      done.name = op.name;
      done.final_value = 7;
    }
    timed.push_back({op.call * 2, inv});
    timed.push_back({op.ret * 2 + 1, done});
  }
  std::stable_sort(timed.begin(), timed.end(),
                   [](const Timed& a, const Timed& b) { return a.time < b.time; });
  std::vector<Event> events;
  for (Timed& t : timed) {
    t.e.line = static_cast<int>(events.size() + 1);
    if (read_indices && t.e.f == OpFunction::kRead && t.e.type == EventType::kOk && t.e.name) {
      read_indices->push_back(events.size());
    }
    events.push_back(std::move(t.e));
  }
  return events;
}

TEST(LargeHistoryTest, FiveThousandOpsWithEightReadersAreLinearizable) {
  std::mt19937_64 rng(7);
  const std::vector<Event> events = GeneratedHistory(rng, 8, 5000);
  ASSERT_TRUE(ValidateHistory(events).ok()) << ValidateHistory(events).ToString();
  const Verdict v = CheckHistory(events);
  ASSERT_EQ(v.tokens.size(), 1u);
  EXPECT_GT(v.operations, 4000u);
  EXPECT_TRUE(v.linearizable) << v.tokens[0].explanation;
  EXPECT_FALSE(v.unknown);
}

TEST(LargeHistoryTest, InjectedStaleReadIsFoundWithSmallEvidence) {
  std::mt19937_64 rng(11);
  std::vector<size_t> reads;
  std::vector<Event> events = GeneratedHistory(rng, 8, 5000, &reads);
  // Make a late read return the first value written: stale by hundreds of writes.
  Event& late = events[reads[reads.size() * 3 / 4]];
  late.name = "w-1";
  const Verdict v = CheckHistory(events);
  ASSERT_TRUE(v.input_error.ok()) << v.input_error.ToString();
  ASSERT_EQ(v.tokens.size(), 1u);
  EXPECT_FALSE(v.linearizable);
  EXPECT_FALSE(v.unknown);
  EXPECT_LE(v.tokens[0].evidence_lines.size(), 6u) << v.tokens[0].explanation;
  EXPECT_NE(v.tokens[0].explanation.find("stale read"), std::string::npos)
      << v.tokens[0].explanation;
  EXPECT_TRUE(std::binary_search(v.tokens[0].evidence_lines.begin(),
                                 v.tokens[0].evidence_lines.end(), late.line));
}

}  // namespace
}  // namespace tokenstore::checker
