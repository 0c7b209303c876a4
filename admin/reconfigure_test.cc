#include "admin/reconfigure.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace tokenstore {
namespace {

constexpr char kA[] = "127.0.0.1:50051";
constexpr char kB[] = "127.0.0.1:50052";
constexpr char kC[] = "127.0.0.1:50053";
constexpr char kD[] = "127.0.0.1:50054";

ClusterConfig Parse(const std::string& yaml, const std::string& source) {
  StatusOr<ClusterConfig> c = ParseClusterConfig(yaml, source);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *std::move(c) : ClusterConfig();
}

const char kCurrent[] = R"(
- tokens: {prefix: t, from: 0, to: 9}
  writer: 127.0.0.1:50051
  readers: [127.0.0.1:50051, 127.0.0.1:50052, 127.0.0.1:50053]
- token: x
  writer: 127.0.0.1:50051
  readers: [127.0.0.1:50051, 127.0.0.1:50052, 127.0.0.1:50053]
- token: y
  writer: 127.0.0.1:50052
  readers: [127.0.0.1:50052, 127.0.0.1:50053, 127.0.0.1:50054]
  epoch: 2
- tokens: ["a#b", "[x]", 'q"r', k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, k10]
  writer: 127.0.0.1:50051
  readers: [127.0.0.1:50052]
)";

// t0..t4 move to B, C, D with B writing; t5..t9 and x stay (x's readers reordered); y's
// writer moves to C; z is new; the list (odd ids, reordered) gains a reader.
const char kNew[] = R"(
- tokens: {prefix: t, from: 0, to: 4}
  writer: 127.0.0.1:50052
  readers: [127.0.0.1:50052, 127.0.0.1:50053, 127.0.0.1:50054]
- tokens: {prefix: t, from: 5, to: 9}
  writer: 127.0.0.1:50051
  readers: [127.0.0.1:50051, 127.0.0.1:50052, 127.0.0.1:50053]
- token: x
  writer: 127.0.0.1:50051
  readers: [127.0.0.1:50053, 127.0.0.1:50052, 127.0.0.1:50051]
- token: y
  writer: 127.0.0.1:50053
  readers: [127.0.0.1:50052, 127.0.0.1:50053, 127.0.0.1:50054]
- token: z
  writer: 127.0.0.1:50054
  readers: [127.0.0.1:50054]
  epoch: 4
- tokens: ["a#b", k0, "[x]", 'q"r', k1, k2, k3, k4, k5, k6, k7, k8, k9, k10]
  writer: 127.0.0.1:50051
  readers: [127.0.0.1:50052, 127.0.0.1:50053]
)";

TEST(ReconfigPlan, GroupsChangedTokensByEntries) {
  const ClusterConfig current = Parse(kCurrent, "cur.yaml");
  const ClusterConfig next = Parse(kNew, "new.yaml");
  StatusOr<ReconfigPlan> plan = PlanReconfiguration(current, next);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->moves.size(), 3u);
  const ReconfigMove& t = plan->moves[0];
  EXPECT_EQ(t.tokens, (std::vector<std::string>{"t0", "t1", "t2", "t3", "t4"}));
  EXPECT_EQ(t.from.epoch, 0u);
  EXPECT_EQ(t.to.epoch, 1u);
  EXPECT_EQ(t.from.writer, kA);
  EXPECT_EQ(t.to.writer, kB);
  EXPECT_EQ(t.Added(), std::vector<std::string>{kD});
  EXPECT_EQ(t.Removed(), std::vector<std::string>{kA});
  const ReconfigMove& y = plan->moves[1];
  EXPECT_EQ(y.tokens, std::vector<std::string>{"y"});
  EXPECT_EQ(y.from.epoch, 2u);  // CURRENT's epoch is e
  EXPECT_EQ(y.to.epoch, 3u);
  EXPECT_TRUE(y.Added().empty());
  EXPECT_TRUE(y.Removed().empty());
  EXPECT_EQ(plan->moves[2].tokens.size(), 14u);
  EXPECT_EQ(plan->moves[2].Added(), std::vector<std::string>{kC});
  EXPECT_EQ(plan->unchanged, 6u);  // t5..t9, x
  EXPECT_EQ(plan->only_in_new, 1u);
  EXPECT_EQ(plan->only_in_new_first, std::vector<std::string>{"z"});
  EXPECT_EQ(plan->TokensToMove(), 20u);

  const std::string text = FormatPlan(*plan, current, next);
  EXPECT_NE(text.find("tokens t0..t4 (5): writer 127.0.0.1:50051 readers [127.0.0.1:50051, "
                      "127.0.0.1:50052, 127.0.0.1:50053] at epoch 0 -> writer 127.0.0.1:50052 "
                      "readers [127.0.0.1:50052, 127.0.0.1:50053, 127.0.0.1:50054] at epoch 1; "
                      "adds 127.0.0.1:50054, removes 127.0.0.1:50051, writer moves "
                      "127.0.0.1:50051 -> 127.0.0.1:50052"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("token y: "), std::string::npos) << text;
  EXPECT_NE(text.find("at epoch 2 -> writer 127.0.0.1:50053"), std::string::npos) << text;
  EXPECT_NE(text.find("writer moves 127.0.0.1:50052 -> 127.0.0.1:50053"), std::string::npos);
  EXPECT_NE(text.find("20 token(s) to move in 3 group(s), 6 unchanged"), std::string::npos);
  EXPECT_NE(text.find("1 token(s) only in new.yaml are ignored"), std::string::npos) << text;
}

TEST(ReconfigPlan, NothingChanged) {
  const ClusterConfig current = Parse(kCurrent, "cur.yaml");
  StatusOr<ReconfigPlan> plan = PlanReconfiguration(current, current);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->moves.empty());
  EXPECT_EQ(plan->unchanged, current.size());
}

TEST(ReconfigPlan, TokenMissingFromNewIsAnError) {
  const ClusterConfig current = Parse(kCurrent, "cur.yaml");
  const ClusterConfig next = Parse(R"(
- tokens: {prefix: t, from: 0, to: 8}
  writer: 127.0.0.1:50051
  readers: [127.0.0.1:50051]
)",
                                   "new.yaml");
  StatusOr<ReconfigPlan> plan = PlanReconfiguration(current, next);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(plan.status().message().find("\"t9\" (cur.yaml line 2)"), std::string::npos)
      << plan.status().ToString();
  EXPECT_NE(plan.status().message().find("are not in new.yaml"), std::string::npos);
}

// ---- The per-token state machine over a fake cluster ----

// Replicas that keep the configuration records as ReplicaCore does (docs/reconfiguration.md).
class FakeNodes : public ReconfigNodes {
 public:
  enum class Mode { kUp, kDown, kHang };
  struct Node {
    Mode mode = Mode::kUp;
    NodeReconfigReply::State state = NodeReconfigReply::State::kYaml;
    ReplicaSet current;
    std::optional<ReplicaSet> target;
    Register reg;
    bool fail_activate = false;
  };

  FakeNodes(const ReplicaSet& yaml, std::vector<std::string> all) {
    for (const std::string& n : all) nodes_[n].current = yaml;
  }
  ~FakeNodes() override { Release(); }

  Node& node(const std::string& n) { return nodes_.at(n); }

  // Answers every held call with DEADLINE_EXCEEDED.
  void Release() {
    std::vector<ReconfigCallback> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held.swap(held_);
    }
    for (ReconfigCallback& cb : held) cb(Status::DeadlineExceeded("held call timed out"));
  }
  size_t held() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }

  void Seal(const std::string& n, const std::string& token, const ReplicaSet& from,
            const ReplicaSet& to, ReconfigCallback done) override {
    Node& s = node(n);
    if (Unreachable(s, done)) return;
    using State = NodeReconfigReply::State;
    if (s.state == State::kYaml || s.state == State::kActive) {
      if (SameConfig(s.current, to)) {
      } else if (!SameConfig(s.current, from)) {
        return done(Status::FailedPrecondition(n + " has " + token + " elsewhere"));
      } else {
        s.state = State::kSealed;
        s.target = to;
      }
    } else if (s.state == State::kSealed) {
      if (!SameConfig(*s.target, to) || !SameConfig(s.current, from)) {
        return done(Status::FailedPrecondition(
            n + " is sealed for \"" + token + "\" by another reconfiguration, from " +
            ConfigString(s.current) + " to " + ConfigString(*s.target) +
            ": complete that one first"));
      }
    } else if (!SameConfig(*s.target, to)) {
      return done(Status::FailedPrecondition(n + " retired elsewhere"));
    }
    done(Reply(s));
  }

  void Install(const std::string& n, const std::string& /*token*/, const ReplicaSet& /*to*/,
               const Register& reg, ReconfigCallback done) override {
    Node& s = node(n);
    if (Unreachable(s, done)) return;
    ++installs_;
    if (s.reg.stamp() < reg.stamp()) s.reg = reg;
    done(Reply(s));
  }

  void Activate(const std::string& n, const std::string& /*token*/, const ReplicaSet& to,
                ReconfigCallback done) override {
    Node& s = node(n);
    if (Unreachable(s, done)) return;
    if (s.fail_activate) return done(Status::Unavailable(n + " refuses activation"));
    using State = NodeReconfigReply::State;
    if (to.RoleOf(n) != Role::kNone) {
      s.state = State::kActive;
      s.current = to;
      s.target.reset();
    } else if (s.state != State::kRetired) {
      s.state = State::kRetired;
      s.target = to;
    }
    done(Reply(s));
  }

  int installs_ = 0;

 private:
  static NodeReconfigReply Reply(const Node& s) {
    NodeReconfigReply r;
    r.state = s.state;
    r.current = s.current;
    r.target = s.target;
    r.reg = s.reg;
    return r;
  }
  bool Unreachable(const Node& s, ReconfigCallback& done) {
    if (s.mode == Mode::kDown) {
      done(Status::Unavailable("cannot reach the node (connection refused)"));
      return true;
    }
    if (s.mode == Mode::kHang) {
      std::lock_guard<std::mutex> lock(mu_);
      held_.push_back(std::move(done));
      return true;
    }
    return false;
  }

  std::map<std::string, Node> nodes_;  // the test's thread and the run's threads: see Run test
  std::mutex mu_;
  std::vector<ReconfigCallback> held_;
};

ReplicaSet Set(std::string writer, std::vector<std::string> readers, uint64_t epoch) {
  ReplicaSet s;
  s.writer = std::move(writer);
  s.readers = std::move(readers);
  s.epoch = epoch;
  s.fingerprint = s.ComputeFingerprint();
  return s;
}

Register Reg(uint64_t epoch, uint64_t ts, uint64_t origin = 7) {
  Register r;
  r.epoch = epoch;
  r.ts = ts;
  r.origin = origin;
  r.value.kind = ValueKind::kDefined;
  r.value.name = "v" + std::to_string(epoch) + "." + std::to_string(ts);
  return r;
}

class ReconfigToken : public ::testing::Test {
 protected:
  const ReplicaSet from_ = Set(kA, {kA, kB, kC}, 1);
  const ReplicaSet to_ = Set(kB, {kB, kC, kD}, 2);
  FakeNodes nodes_{from_, {kA, kB, kC, kD}};
};

// A hangs: the seal and the activation go on with B and C's answers, never waiting for A.
// M is the newest register by epoch first: B's (1, 5) over C's (0, 100).
TEST_F(ReconfigToken, MajorityWithOneNodeHungAndNewestStampByEpochFirst) {
  nodes_.node(kA).mode = FakeNodes::Mode::kHang;
  nodes_.node(kB).reg = Reg(1, 5);
  nodes_.node(kC).reg = Reg(0, 100);
  ActivationWarnings warnings;
  TokenReconfigResult r = ReconfigureToken(nodes_, "t", from_, to_, warnings);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_FALSE(r.resumed);
  EXPECT_EQ(nodes_.held(), 2u);  // A's seal and activation, still unanswered
  for (const char* n : {kB, kC, kD}) {
    EXPECT_EQ(nodes_.node(n).state, NodeReconfigReply::State::kActive) << n;
    EXPECT_TRUE(SameConfig(nodes_.node(n).current, to_)) << n;
    EXPECT_EQ(nodes_.node(n).reg.stamp(), (Stamp{1, 5, 7})) << n;
  }
  nodes_.Release();
  warnings.WaitForAll();
  const std::vector<std::string> lines = warnings.Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind(std::string(kA) + " did not take the new configuration of 1 token(s)",
                           0),
            0u)
      << lines[0];
  EXPECT_NE(lines[0].find("run the same command again"), std::string::npos);
}

TEST_F(ReconfigToken, NoMajorityOfTheOldSetFails) {
  nodes_.node(kA).mode = FakeNodes::Mode::kDown;
  nodes_.node(kB).mode = FakeNodes::Mode::kDown;
  ActivationWarnings warnings;
  TokenReconfigResult r = ReconfigureToken(nodes_, "t", from_, to_, warnings);
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("no majority of writer 127.0.0.1:50051"), std::string::npos)
      << r.status.ToString();
  EXPECT_NE(r.status.message().find("connection refused"), std::string::npos);
  EXPECT_EQ(nodes_.installs_, 0);
}

TEST_F(ReconfigToken, SealedByAnotherTargetIsAConcurrentReconfiguration) {
  const ReplicaSet other = Set(kC, {kC, kD}, 2);
  nodes_.node(kB).state = NodeReconfigReply::State::kSealed;
  nodes_.node(kB).target = other;
  ActivationWarnings warnings;
  TokenReconfigResult r = ReconfigureToken(nodes_, "t", from_, to_, warnings);
  EXPECT_EQ(r.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(r.concurrent);
  EXPECT_NE(r.status.message().find("a concurrent reconfiguration of the token is in progress"),
            std::string::npos)
      << r.status.ToString();
  EXPECT_NE(r.status.message().find("to " + ConfigString(other)), std::string::npos)
      << r.status.ToString();
  EXPECT_EQ(nodes_.installs_, 0);
}

// The first run seals and installs but the activation reaches only B; the second run finds B
// active at the target and goes straight to the activation.
TEST_F(ReconfigToken, SecondRunCompletesAnInterruptedOne) {
  nodes_.node(kC).fail_activate = true;
  nodes_.node(kD).fail_activate = true;
  {
    ActivationWarnings warnings;
    TokenReconfigResult r = ReconfigureToken(nodes_, "t", from_, to_, warnings);
    EXPECT_FALSE(r.status.ok());
    EXPECT_NE(r.status.message().find("run the same command again"), std::string::npos);
    warnings.WaitForAll();
  }
  EXPECT_EQ(nodes_.node(kB).state, NodeReconfigReply::State::kActive);
  EXPECT_EQ(nodes_.node(kC).state, NodeReconfigReply::State::kSealed);
  nodes_.node(kC).fail_activate = false;
  nodes_.node(kD).fail_activate = false;
  const int installs = nodes_.installs_;
  ActivationWarnings warnings;
  TokenReconfigResult r = ReconfigureToken(nodes_, "t", from_, to_, warnings);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.resumed);
  EXPECT_EQ(nodes_.installs_, installs);
  for (const char* n : {kB, kC, kD}) {
    EXPECT_EQ(nodes_.node(n).state, NodeReconfigReply::State::kActive) << n;
  }
  EXPECT_EQ(nodes_.node(kA).state, NodeReconfigReply::State::kRetired);
  // A third run changes nothing and succeeds.
  TokenReconfigResult again = ReconfigureToken(nodes_, "t", from_, to_, warnings);
  EXPECT_TRUE(again.status.ok()) << again.status.ToString();
  warnings.WaitForAll();
  EXPECT_TRUE(warnings.Lines().empty());
}

// Interrupted after the seal: the seal answers for the same target are accepted again.
TEST_F(ReconfigToken, SealForTheSameTargetIsAcceptedAgain) {
  for (const char* n : {kA, kB, kC}) {
    nodes_.node(n).state = NodeReconfigReply::State::kSealed;
    nodes_.node(n).target = to_;
  }
  ActivationWarnings warnings;
  TokenReconfigResult r = ReconfigureToken(nodes_, "t", from_, to_, warnings);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_FALSE(r.resumed);
  EXPECT_EQ(nodes_.installs_, 3);
}

TEST(ReconfigRun, EveryTokenOfThePlanWithADeadNode) {
  const ClusterConfig current = Parse(R"(
- tokens: {prefix: t, from: 0, to: 49}
  writer: 127.0.0.1:50051
  readers: [127.0.0.1:50051, 127.0.0.1:50052, 127.0.0.1:50053]
)",
                                      "cur.yaml");
  const ClusterConfig next = Parse(R"(
- tokens: {prefix: t, from: 0, to: 49}
  writer: 127.0.0.1:50052
  readers: [127.0.0.1:50052, 127.0.0.1:50053, 127.0.0.1:50054]
)",
                                   "new.yaml");
  StatusOr<ReconfigPlan> plan = PlanReconfiguration(current, next);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->TokensToMove(), 50u);
  // One fake node state per token, as every token has its own records.
  class PerToken : public ReconfigNodes {
   public:
    PerToken(const ReplicaSet& yaml) : yaml_(yaml) {}
    FakeNodes& For(const std::string& token) {
      std::lock_guard<std::mutex> lock(mu_);
      std::unique_ptr<FakeNodes>& f = fakes_[token];
      if (!f) {
        f = std::make_unique<FakeNodes>(yaml_, std::vector<std::string>{kA, kB, kC, kD});
        f->node(kA).mode = FakeNodes::Mode::kDown;
      }
      return *f;
    }
    void Seal(const std::string& n, const std::string& t, const ReplicaSet& from,
              const ReplicaSet& to, ReconfigCallback done) override {
      For(t).Seal(n, t, from, to, std::move(done));
    }
    void Install(const std::string& n, const std::string& t, const ReplicaSet& to,
                 const Register& reg, ReconfigCallback done) override {
      For(t).Install(n, t, to, reg, std::move(done));
    }
    void Activate(const std::string& n, const std::string& t, const ReplicaSet& to,
                  ReconfigCallback done) override {
      For(t).Activate(n, t, to, std::move(done));
    }

   private:
    const ReplicaSet yaml_;
    std::mutex mu_;
    std::map<std::string, std::unique_ptr<FakeNodes>> fakes_;
  } nodes(plan->moves[0].from);
  std::FILE* progress = std::tmpfile();
  ASSERT_NE(progress, nullptr);
  ReconfigRunOptions options;
  options.parallel = 4;
  options.progress = progress;
  ReconfigSummary s = RunReconfiguration(nodes, *plan, options);
  EXPECT_EQ(s.tokens, 50u);
  EXPECT_EQ(s.moved, 50u);
  EXPECT_EQ(s.failed, 0u);
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find(std::string(kA) + " did not take the new configuration of 50"),
            std::string::npos)
      << s.warnings[0];
  std::rewind(progress);
  char line[512] = {};
  ASSERT_NE(std::fgets(line, sizeof line, progress), nullptr);
  EXPECT_EQ(std::string(line).rfind("token-admin reconfigure: 50 of 50 tokens done, 0 failed", 0),
            0u)
      << line;
  EXPECT_EQ(std::fgets(line, sizeof line, progress), nullptr);  // not a terminal: one line
  std::fclose(progress);
}

// ---- The applied file ----

TEST(ReconfigApplied, RoundTripsWithTheNewEpochs) {
  const ClusterConfig current = Parse(kCurrent, "cur.yaml");
  const ClusterConfig next = Parse(kNew, "new.yaml");
  StatusOr<std::string> text = AppliedConfigYaml(current, next, "written by a test\nline 2");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(text->rfind("# written by a test\n# line 2\n", 0), 0u) << *text;
  const ClusterConfig applied = Parse(*text, "applied.yaml");
  ASSERT_EQ(applied.size(), next.size());
  std::map<std::string, uint64_t> want = {{"t0", 1}, {"t4", 1}, {"t5", 0}, {"t9", 0},
                                          {"x", 0},  {"y", 3},  {"z", 4},  {"a#b", 1},
                                          {"k0", 1}, {"[x]", 1}, {"q\"r", 1}, {"k10", 1}};
  for (const auto& [id, epoch] : want) {
    std::optional<TokenReplication> t = applied.Find(id);
    ASSERT_TRUE(t) << id;
    EXPECT_EQ(t->set->epoch, epoch) << id;
    EXPECT_TRUE(SameReplication(*t->set, *next.Find(id)->set)) << id;
  }
  EXPECT_NE(text->find("- tokens: {prefix: t, from: 0, to: 4}\n  writer: 127.0.0.1:50052\n"
                       "  readers: [127.0.0.1:50052, 127.0.0.1:50053, 127.0.0.1:50054]\n"
                       "  epoch: 1\n"),
            std::string::npos)
      << *text;
  // The applied file against itself: nothing more to move.
  StatusOr<ReconfigPlan> again = PlanReconfiguration(applied, applied);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->moves.empty());
  // A token of a range whose neighbours stay: the range is split at it.
  const ClusterConfig part = Parse(R"(
- tokens: {prefix: "", from: 0, to: 9}
  writer: 127.0.0.1:50051
  readers: [127.0.0.1:50051]
)",
                                   "part.yaml");
  const ClusterConfig one = Parse(R"(
- tokens: {prefix: "", from: 0, to: 4}
  writer: 127.0.0.1:50051
  readers: [127.0.0.1:50051]
- token: 5
  writer: 127.0.0.1:50052
  readers: [127.0.0.1:50052]
- tokens: {prefix: "", from: 6, to: 9}
  writer: 127.0.0.1:50051
  readers: [127.0.0.1:50051]
)",
                                  "one.yaml");
  StatusOr<std::string> split = AppliedConfigYaml(part, one, "");
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  EXPECT_EQ(*split,
            "- tokens: {prefix: \"\", from: 0, to: 4}\n  writer: 127.0.0.1:50051\n"
            "  readers: [127.0.0.1:50051]\n"
            "- token: 5\n  writer: 127.0.0.1:50052\n  readers: [127.0.0.1:50052]\n  epoch: 1\n"
            "- tokens: {prefix: \"\", from: 6, to: 9}\n  writer: 127.0.0.1:50051\n"
            "  readers: [127.0.0.1:50051]\n");
}

TEST(ReconfigApplied, DefaultPath) {
  EXPECT_EQ(DefaultAppliedPath("new.yaml"), "new.applied.yaml");
  EXPECT_EQ(DefaultAppliedPath("/etc/ts/new.yml"), "/etc/ts/new.applied.yml");
  EXPECT_EQ(DefaultAppliedPath("dir.d/new"), "dir.d/new.applied.yaml");
}

}  // namespace
}  // namespace tokenstore
