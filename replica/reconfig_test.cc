// Online reconfiguration at the protocol core (docs/reconfiguration.md): seal, transfer and
// activate driven against ReplicaCore nodes over the simulated network, with operations
// running meanwhile, each history judged by the linearizability checker.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "replica/replica_core.h"
#include "replica/testing/sim_cluster.h"

namespace tokenstore {
namespace {

using testing::Cluster;
using testing::Explain;
using testing::kA;
using testing::kB;
using testing::kC;
using testing::kD;
using namespace std::chrono_literals;

constexpr char kE[] = "127.0.0.1:5";

// Token 1 on A B C (writer A); tokens 8 and 9 only make D and E nodes of the cluster.
constexpr char kFiveNodes[] = R"(
- token: 1
  writer: 127.0.0.1:1
  readers: [127.0.0.1:1, 127.0.0.1:2, 127.0.0.1:3]
- token: 8
  writer: 127.0.0.1:4
  readers: [127.0.0.1:4, 127.0.0.1:5]
- token: 9
  writer: 127.0.0.1:5
  readers: [127.0.0.1:4, 127.0.0.1:5]
)";

ReplicaSet Set(std::string writer, std::vector<std::string> readers, uint64_t epoch) {
  ReplicaSet s;
  s.writer = std::move(writer);
  s.readers = std::move(readers);
  s.epoch = epoch;
  s.fingerprint = s.ComputeFingerprint();
  return s;
}

// The tool's three phases (admin/reconfigure.cc does them over gRPC); each call goes straight
// to a node's core, as an RPC that arrives at once. Nodes that are down are skipped, as the
// tool's calls to them would fail; each phase needs a majority of its set.
class Mover {
 public:
  Mover(Cluster& c, std::string token, ReplicaSet from, ReplicaSet to)
      : c_(c), token_(std::move(token)), from_(std::move(from)), to_(std::move(to)) {}

  // Seals at `nodes` (a majority of `from`); returns the highest register they answered.
  Register Seal(const std::vector<std::string>& nodes) {
    Register highest;
    for (const std::string& n : nodes) {
      StatusOr<ReconfigAnswer> a = c_.core(n).HandleSeal(token_, from_, to_);
      EXPECT_TRUE(a.ok()) << n << ": " << a.status().ToString();
      if (a.ok() && highest.stamp() < a->reg.stamp()) highest = a->reg;
    }
    return highest;
  }
  void Install(const std::vector<std::string>& nodes, const Register& reg) {
    for (const std::string& n : nodes) {
      StatusOr<ReconfigAnswer> a = c_.core(n).HandleInstall(token_, to_, reg);
      EXPECT_TRUE(a.ok()) << n << ": " << a.status().ToString();
    }
  }
  void Activate(const std::vector<std::string>& nodes) {
    for (const std::string& n : nodes) {
      StatusOr<ReconfigAnswer> a = c_.core(n).HandleActivate(token_, to_);
      EXPECT_TRUE(a.ok()) << n << ": " << a.status().ToString();
    }
  }

 private:
  Cluster& c_;
  std::string token_;
  ReplicaSet from_;
  ReplicaSet to_;
};

ReplicaSet Initial() { return Set(kA, {kA, kB, kC}, 0); }

// Writes at `writer` and reads at `readers`, one every millisecond of virtual time for
// `span`, each name unique; the network runs them along with whatever else is scheduled.
void StartLoad(Cluster& c, const std::string& writer, const std::vector<std::string>& readers,
               std::chrono::milliseconds span, int* counter) {
  for (auto at = 0ms; at < span; at += 1ms) {
    c.net().After(at, [&c, writer, counter] {
      c.StartWrite(writer, WriteArgs{"1", "v" + std::to_string(++*counter), 0, 1, 5});
    });
    for (const std::string& r : readers) {
      c.net().After(at, [&c, r] {
        // A read that fails (ABORTED while sealed) stays pending in the history.
        c.core(r).Read("1", c.Ctx(), [](StatusOr<CoreReadResult>) {});
      });
    }
  }
}

TEST(Reconfig, GrowsFrom3To5WhileWritesRunAndLosesNothing) {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    Cluster c(seed, kFiveNodes);
    c.net().SetDelay(100us, 2ms);
    ASSERT_TRUE(c.Write(kA, WriteArgs{"1", "before", 0, 1, 5}).ok());
    const ReplicaSet to = Set(kA, {kA, kB, kC, kD, kE}, 1);
    Mover m(c, "1", Initial(), to);
    int counter = 0;
    StartLoad(c, kA, {}, 12ms, &counter);
    // The phases happen while the writes run, at times that differ by seed.
    const auto seal_at = std::chrono::microseconds(500 * static_cast<int64_t>(seed));
    Register transferred;
    c.net().After(seal_at, [&] { transferred = m.Seal({kA, kB, kC}); });
    c.net().After(seal_at + 1ms, [&] { m.Install({kA, kB, kC, kD, kE}, transferred); });
    c.net().After(seal_at + 2ms, [&] { m.Activate({kA, kB, kC, kD, kE}); });
    bool over = false;
    c.net().After(60ms, [&] { over = true; });
    c.net().RunWhile([&] { return !over; });

    // After: every replica of the new set reads the last acknowledged write, at epoch 1.
    auto w = c.Write(kA, WriteArgs{"1", "after", 0, 1, 5});
    ASSERT_TRUE(w.ok()) << "seed " << seed << ": " << w.status().ToString();
    for (const char* r : {kA, kB, kC, kD, kE}) {
      auto read = c.Read(r, "1");
      ASSERT_TRUE(read.ok()) << "seed " << seed << " " << r << ": " << read.status().ToString();
      EXPECT_EQ(read->value.name, "after") << "seed " << seed << " " << r;
    }
    EXPECT_EQ(c.store(kD).Get("1")->epoch, 1u) << "seed " << seed;
    const checker::Verdict v = c.CheckHistory();
    EXPECT_TRUE(v.linearizable) << "seed " << seed << ": " << Explain(v);
  }
}

TEST(Reconfig, MovesTheWriterAndItsTimestampsKeepGrowing) {
  Cluster c(7, kFiveNodes);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.Write(kA, WriteArgs{"1", "a" + std::to_string(i), 0, 1, 5}).ok());
  const uint64_t old_ts = c.Read(kA, "1")->ts;
  Mover m(c, "1", Initial(), Set(kB, {kA, kB, kC}, 1));
  const Register M = m.Seal({kA, kB, kC});
  EXPECT_EQ(M.ts, old_ts);
  EXPECT_EQ(M.value.name, "a4");
  // Sealed: ABORTED, nothing started, for clients and the old writer alike.
  EXPECT_EQ(c.Write(kA, WriteArgs{"1", "sealed", 0, 1, 5}).status().code(), StatusCode::kAborted);
  EXPECT_EQ(c.Read(kB, "1").status().code(), StatusCode::kAborted);
  m.Install({kA, kB, kC}, M);
  m.Activate({kA, kB, kC});
  auto refused = c.Write(kA, WriteArgs{"1", "old writer", 0, 1, 5});
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("send writes to 127.0.0.1:2"), std::string::npos)
      << refused.status().message();
  auto w = c.Write(kB, WriteArgs{"1", "b0", 0, 1, 5});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_GT(w->ts, old_ts) << "the new writer issues above the transferred register";
  auto r = c.Read(kC, "1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value.name, "b0");
  EXPECT_EQ(r->ts, w->ts);
  EXPECT_TRUE(c.CheckHistory().linearizable) << Explain(c.CheckHistory());
}

TEST(Reconfig, ReplacesADeadNodeWithMajoritiesOnly) {
  Cluster c(8, kFiveNodes);
  ASSERT_TRUE(c.Write(kA, WriteArgs{"1", "x", 0, 1, 5}).ok());
  c.net().SetDown(kC, true);
  const ReplicaSet to = Set(kA, {kA, kB, kD}, 1);
  Mover m(c, "1", Initial(), to);
  m.Install({kA, kB, kD}, m.Seal({kA, kB}));
  m.Activate({kA, kB, kD});
  ASSERT_TRUE(c.Write(kA, WriteArgs{"1", "y", 0, 1, 5}).ok());
  auto r = c.Read(kD, "1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value.name, "y");

  // C comes back with its old view: it cannot gather the old majority any more, so it
  // answers no stale value; told again (the tool run again), it retires and says where the
  // token went.
  c.net().SetDown(kC, false);
  EXPECT_FALSE(c.Read(kC, "1").ok());
  m.Activate({kC});
  auto moved = c.Read(kC, "1");
  EXPECT_EQ(moved.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(moved.status().message().find("moved to"), std::string::npos) << moved.status().message();
  std::optional<ReplicaSet> attached = c.core(kC).ConfigToAttach("1");
  ASSERT_TRUE(attached.has_value());
  EXPECT_EQ(attached->Fingerprint(), to.Fingerprint());
  EXPECT_TRUE(c.CheckHistory().linearizable) << Explain(c.CheckHistory());
}

// A node at an address the cluster's file never named, started on an empty disk with the new
// file, joins: it cannot rebuild the token while its peers still have the old view, takes the
// transfer and the activation, then rebuilds from the new set and serves. Without the
// lifecycle's lookup of the token's record (NodeLifecycle::SetConfigLookup) it never serves:
// its probes keep the file's view, which its peers refuse.
TEST(Reconfig, ANewNodeAtANewAddressJoinsAndServes) {
  Cluster c(14);  // tokens 1 and 3 on A B C, token 2 on B C D
  ASSERT_TRUE(c.Write(kA, WriteArgs{"1", "x", 0, 1, 5}).ok());
  const ClusterConfig* next = c.ParseOther(R"(
- token: 1
  writer: 127.0.0.1:1
  readers: [127.0.0.1:1, 127.0.0.1:2, 127.0.0.1:5]
- token: 2
  writer: 127.0.0.1:2
  readers: [127.0.0.1:3, 127.0.0.1:4]
- token: 3
  writer: 127.0.0.1:1
  readers: [127.0.0.1:1, 127.0.0.1:2, 127.0.0.1:3]
)");
  c.net().SetDown(kC, true);  // the node being replaced is dead
  c.Join(kE, next);
  for (int i = 0; i < 3; ++i) c.Advance(kE);
  EXPECT_NE(c.core(kE).lifecycle().state(), NodeState::kServing) << "served before the move";
  const ReplicaSet to = Set(kA, {kA, kB, kE}, 1);
  Mover m(c, "1", Initial(), to);
  m.Install({kA, kB, kE}, m.Seal({kA, kB}));
  m.Activate({kA, kB, kE});
  ASSERT_TRUE(c.BringUp()) << "the new node never served after its activation";
  auto r = c.Read(kE, "1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value.name, "x");
  ASSERT_TRUE(c.Write(kA, WriteArgs{"1", "y", 0, 1, 5}).ok());
  c.net().SetDown(kB, true);
  auto r2 = c.Read(kE, "1");
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(r2->value.name, "y");
}

// Without epochs in stamps this fails: the old writer's Store of ts 1000, which reached C
// while C had not heard of the change, would outrank every value the new writer issues, and
// the read would return it after a newer acknowledged write.
TEST(Reconfig, AStragglerOfTheOldWriterNeverOutranksTheNewEpoch) {
  Cluster c(9, kFiveNodes);
  ASSERT_TRUE(c.Write(kA, WriteArgs{"1", "x", 0, 1, 5}).ok());
  const ReplicaSet from = Initial();
  const ReplicaSet to = Set(kB, {kA, kB, kC}, 1);
  Mover m(c, "1", from, to);
  m.Install({kA, kB}, m.Seal({kA, kB}));  // C is not reached
  m.Activate({kA, kB});
  // A Store the old writer sent before the seal lands at C now, with a high ts.
  Register straggler;
  straggler.ts = 1000;
  straggler.origin = c.core(kA).lifecycle().origin();
  straggler.value = TokenValue{ValueKind::kDefined, "straggler", 1, 1, 5};
  StatusOr<Stamp> landed = c.core(kC).HandleStore("1", straggler, from.Fingerprint());
  ASSERT_TRUE(landed.ok()) << landed.status().ToString();
  ASSERT_TRUE(c.Write(kB, WriteArgs{"1", "new", 0, 1, 5}).ok());
  m.Activate({kC});  // the tool run again reaches C
  c.net().SetDown(kA, true);  // the read's majority is B and C
  auto r = c.Read(kB, "1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value.name, "new");
}

// Without the view check on the node's own answers this fails: A began a write at epoch 0
// before the seal, and once A had activated epoch 1 it counted its own Store plus C (never
// sealed) as a majority of the old set; the transfer never saw that write, and a read of the
// new set lost it.
TEST(Reconfig, TheOldWritersOwnNodeDoesNotCountOnceItMovedOn) {
  Cluster c(10, kFiveNodes);
  ASSERT_TRUE(c.Write(kA, WriteArgs{"1", "x", 0, 1, 5}).ok());
  c.Restart(kA);  // its next write starts with a recovery read
  c.net().SetHeld(kB, kA, true);
  c.net().SetHeld(kC, kA, true);
  auto pending = c.StartWrite(kA, WriteArgs{"1", "late", 0, 1, 5}, c.Ctx(60s));
  ASSERT_FALSE(pending->has_value()) << (*pending)->ToString();
  const ReplicaSet to = Set(kA, {kA, kB, kD}, 1);
  Mover m(c, "1", Initial(), to);
  m.Install({kA, kB, kD}, m.Seal({kA, kB}));
  m.Activate({kA, kB, kD});
  c.net().SetHeld(kC, kA, false);  // the recovery read completes with C's answer
  c.net().SetHeld(kB, kA, false);  // and B's refusal (it has moved on)
  c.net().RunWhile([&] { return !pending->has_value(); });
  ASSERT_TRUE(pending->has_value());
  // Its Stores went out: the outcome is unknown (UNAVAILABLE), never FAILED_PRECONDITION with
  // the new configuration attached, which a client would take as "nothing started" and send
  // again at the new writer (ReplicaCore::IssueError; without it this fails).
  EXPECT_EQ((*pending)->code(), StatusCode::kUnavailable) << (*pending)->ToString();
  EXPECT_NE((*pending)->message().find("may or may not have taken effect"), std::string::npos)
      << (*pending)->ToString();
  c.net().SetDown(kA, true);
  auto r = c.Read(kB, "1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const checker::Verdict v = c.CheckHistory();
  EXPECT_TRUE(v.linearizable) << Explain(v) << " (the late write " +
                                     std::string(pending->has_value() && (*pending)->ok()
                                                     ? "was acknowledged"
                                                     : "failed") +
                                     ", the read returned " + r->value.name + ")";
}

// The deliberate bug of item 4: the tool skips the transfer. The new set's majority never
// held the last write, so a read there returns an older value: the checker rejects it. The
// same scenario with the transfer is linearizable.
void MoveWithoutTransfer(Cluster& c, bool skip_transfer) {
  ASSERT_TRUE(c.Write(kA, WriteArgs{"1", "x", 0, 1, 5}).ok());
  const ReplicaSet to = Set(kA, {kA, kD, kE}, 1);
  Mover m(c, "1", Initial(), to);
  const Register M = m.Seal({kA, kB, kC});
  if (!skip_transfer) m.Install({kA, kD, kE}, M);
  m.Activate({kA, kB, kC, kD, kE});
  c.net().SetDown(kA, true);
  (void)c.Read(kD, "1");
}

TEST(Reconfig, SkippingTheTransferIsCaughtByTheChecker) {
  Cluster bad(11, kFiveNodes);
  ASSERT_NO_FATAL_FAILURE(MoveWithoutTransfer(bad, true));
  EXPECT_FALSE(bad.CheckHistory().linearizable) << "the checker accepted a lost write";
  Cluster good(11, kFiveNodes);
  ASSERT_NO_FATAL_FAILURE(MoveWithoutTransfer(good, false));
  EXPECT_TRUE(good.CheckHistory().linearizable) << Explain(good.CheckHistory());
}

TEST(Reconfig, AConcurrentReconfigurationIsRefusedNamingTheOther) {
  Cluster c(12, kFiveNodes);
  Mover first(c, "1", Initial(), Set(kA, {kA, kB, kD}, 1));
  first.Seal({kA, kB});
  StatusOr<ReconfigAnswer> other =
      c.core(kB).HandleSeal("1", Initial(), Set(kA, {kA, kB, kE}, 1));
  ASSERT_EQ(other.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(other.status().message().find("by another reconfiguration"), std::string::npos);
  EXPECT_NE(other.status().message().find("127.0.0.1:4"), std::string::npos)
      << other.status().message();
  // The same one again is accepted: a run that was interrupted continues.
  EXPECT_TRUE(c.core(kB).HandleSeal("1", Initial(), Set(kA, {kA, kB, kD}, 1)).ok());
  // A seal from a view the node does not have is refused.
  StatusOr<ReconfigAnswer> wrong =
      c.core(kC).HandleSeal("1", Set(kB, {kA, kB, kC}, 0), Set(kA, {kA, kB, kD}, 1));
  EXPECT_EQ(wrong.status().code(), StatusCode::kFailedPrecondition);
}

// A replica that left a token is added back by a later move, and one that missed a move (it
// stayed sealed) takes a later configuration: both were refused before (the fault run found
// the first: a token re-adding a retired node kept only two working replicas of three).
TEST(Reconfig, ARetiredOrLaggingReplicaTakesALaterConfiguration) {
  Cluster c(15, kFiveNodes);
  ASSERT_TRUE(c.Write(kA, WriteArgs{"1", "x", 0, 1, 5}).ok());
  const ReplicaSet e1 = Set(kA, {kA, kB, kD}, 1);  // C leaves
  Mover m1(c, "1", Initial(), e1);
  m1.Install({kA, kB, kD}, m1.Seal({kA, kB, kC}));
  m1.Activate({kA, kB, kC, kD});
  EXPECT_EQ(c.Read(kC, "1").status().code(), StatusCode::kFailedPrecondition) << "C retired";
  const ReplicaSet e2 = Set(kA, {kA, kB, kC}, 2);  // C comes back, D leaves
  Mover m2(c, "1", e1, e2);
  m2.Install({kA, kB, kC}, m2.Seal({kA, kB, kD}));
  m2.Activate({kA, kB, kC, kD});
  ASSERT_TRUE(c.Write(kA, WriteArgs{"1", "y", 0, 1, 5}).ok());
  c.net().SetDown(kB, true);  // the majority of e2 is now A and C
  auto r = c.Read(kC, "1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value.name, "y");
  c.net().SetDown(kB, false);

  // D: sealed for e2 -> e3 but the activation of e3 missed it; e4 reaches it.
  const ReplicaSet e3 = Set(kA, {kA, kB, kC, kD, kE}, 3);
  Mover m3(c, "1", e2, e3);
  m3.Install({kA, kB, kC, kD, kE}, m3.Seal({kA, kB, kC}));
  m3.Activate({kA, kB, kC, kE});
  const ReplicaSet e4 = Set(kA, {kA, kB, kD}, 4);
  EXPECT_TRUE(c.core(kD).HandleActivate("1", e4).ok());
  EXPECT_EQ(c.core(kD).HandleActivate("1", Set(kA, {kA, kB, kE}, 4)).status().code(),
            StatusCode::kFailedPrecondition)
      << "the same epoch with another set is a conflict";
  EXPECT_TRUE(c.CheckHistory().linearizable) << Explain(c.CheckHistory());
}

// A replica that lost its disk and is still rebuilding holds an empty register: counted in the
// seal's majority it would make the transfer carry nothing, and the acknowledged write would
// be lost on the new set. Without the refusal in HandleSeal this fails (the simulator found it:
// seed 1497 of 5 replicas).
TEST(Reconfig, ARebuildingReplicaDoesNotCountInASeal) {
  Cluster c(16, kFiveNodes);
  ASSERT_TRUE(c.Write(kA, WriteArgs{"1", "x", 0, 1, 5}).ok());
  c.Wipe(kC);  // an empty disk
  c.Restart(kC, UnsafeBug::kNone, /*bring_up=*/false);
  c.Advance(kC);  // it finds the cluster holds data: it rebuilds (after its quiet period)
  ASSERT_NE(c.core(kC).lifecycle().state(), NodeState::kServing);
  const ReplicaSet to = Set(kA, {kA, kD, kE}, 1);
  StatusOr<ReconfigAnswer> sealed = c.core(kC).HandleSeal("1", Initial(), to);
  EXPECT_EQ(sealed.status().code(), StatusCode::kUnavailable) << sealed.status().ToString();
  // With B the majority is a serving one, and the transfer carries the write.
  Mover m(c, "1", Initial(), to);
  const Register M = m.Seal({kA, kB});
  EXPECT_EQ(M.value.name, "x");
  m.Install({kA, kD, kE}, M);
  m.Activate({kA, kB, kD, kE});
  c.net().SetDown(kA, true);
  auto r = c.Read(kD, "1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value.name, "x");
}

TEST(Reconfig, RecordsSurviveARestartAndTheFileRuleHolds) {
  Cluster c(13, kFiveNodes);
  ASSERT_TRUE(c.Write(kA, WriteArgs{"1", "x", 0, 1, 5}).ok());
  const ReplicaSet to = Set(kB, {kA, kB, kC}, 1);
  Mover m(c, "1", Initial(), to);
  m.Seal({kA, kB, kC});
  c.Restart(kB);
  EXPECT_EQ(c.Read(kB, "1").status().code(), StatusCode::kAborted) << "still sealed";
  m.Install({kA, kB, kC}, c.core(kA).HandleTokenState("1")->reg);
  m.Activate({kA, kB, kC});
  c.Restart(kB);
  ASSERT_TRUE(c.Write(kB, WriteArgs{"1", "y", 0, 1, 5}).ok()) << "the record (epoch 1) holds "
                                                                 "over the older file";
  // A file that says epoch 1 with another replica set contradicts the record: refused.
  Cluster::Setup bad;
  bad.config = c.ParseOther(R"(
- token: 1
  epoch: 1
  writer: 127.0.0.1:3
  readers: [127.0.0.1:1, 127.0.0.1:2, 127.0.0.1:3]
- token: 8
  writer: 127.0.0.1:4
  readers: [127.0.0.1:4, 127.0.0.1:5]
- token: 9
  writer: 127.0.0.1:5
  readers: [127.0.0.1:4, 127.0.0.1:5]
)");
  ReplicaOptions opts;
  opts.self = kB;
  InlineExecutor inline_exec;
  ReplicaCore probe(*bad.config, opts, c.store(kB), c.net().TransportOf(kB), inline_exec,
                    inline_exec, c.net());
  Status st = probe.Start();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("same epoch"), std::string::npos) << st.message();
}

TEST(Reconfig, ConfigRecordsRoundTripAndRefuseDamage) {
  MemoryRegisterStore store;
  ConfigRecords records(store);
  const ReplicaSet* from = records.Intern(Set(kA, {kA, kB, kC}, 3));
  const ReplicaSet* to = records.Intern(Set(kB, {kB, kC, kD}, 4));
  EXPECT_EQ(records.Intern(Set(kA, {kA, kB, kC}, 3)), from) << "sets are shared";
  ASSERT_TRUE(records.Put("t", TokenConfigRecord{TokenConfigState::kSealed, from, to}).ok());
  ConfigRecords loaded(store);
  ASSERT_TRUE(loaded.Load().ok());
  std::optional<TokenConfigRecord> r = loaded.Find("t");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->state, TokenConfigState::kSealed);
  EXPECT_EQ(r->current->Fingerprint(), from->Fingerprint());
  EXPECT_EQ(r->target->Fingerprint(), to->Fingerprint());
  EXPECT_EQ(r->epoch(), 3u);
  const std::string good = EncodeTokenConfigRecord(*r);
  for (size_t cut = 0; cut < good.size(); ++cut) {
    StatusOr<DecodedTokenConfigRecord> d = DecodeTokenConfigRecord(good.substr(0, cut));
    EXPECT_FALSE(d.ok() && cut + 1 < good.size()) << "accepted a record cut at " << cut;
  }
  std::string backwards = good;
  backwards.replace(backwards.find("\n4 "), 3, "\n2 ");
  EXPECT_EQ(DecodeTokenConfigRecord(backwards).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace tokenstore
