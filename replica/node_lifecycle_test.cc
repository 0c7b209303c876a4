// The node lifecycle (SPEC section 10, issue 10) over the simulated network: replaced disks,
// restored copies, edited files and writer incarnations. Each test's comment says what it
// showed on the code before the lifecycle existed (commit 856a2ed).
#include "replica/node_lifecycle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>

#include "replica/testing/sim_cluster.h"

namespace tokenstore {
namespace {

using testing::Abc;
using testing::Cluster;
using testing::Explain;
using testing::kA;
using testing::kB;
using testing::kC;
using testing::kD;
using ::testing::HasSubstr;

WriteArgs Named(const std::string& name) { return WriteArgs{"1", name, 0, 1, 5}; }

// Runs a storage executor's tasks only when told: a writer whose disk sync has not happened
// yet when it crashes.
class ManualExecutor final : public Executor {
 public:
  void Submit(std::function<void()> task) override { tasks_.push_back(std::move(task)); }
  void RunOne() {
    auto t = std::move(tasks_.front());
    tasks_.pop_front();
    t();
  }
  size_t pending() const { return tasks_.size(); }
  void Discard() { tasks_.clear(); }

 private:
  std::deque<std::function<void()>> tasks_;
};

// Scenario 1's start: v1 everywhere, then v2 and v3 while C was down (C holds v1), then B's
// disk is lost.
void LagCThenWipeB(Cluster& c) {
  ASSERT_TRUE(c.Write(kA, Named("v1")).ok());
  c.net().SetDown(kC, true);
  ASSERT_TRUE(c.Write(kA, Named("v2")).ok());
  ASSERT_TRUE(c.Write(kA, Named("v3")).ok());
  c.net().SetDown(kC, false);
  c.Wipe(kB);
}

TEST(NodeLifecycle, IdentityRecordRoundTripsAndRejectsDamage) {
  NodeIdentity id{"c-1", "127.0.0.1:1", 3, 0xfeed, 7, 99, true};
  StatusOr<NodeIdentity> back = DecodeIdentity(EncodeIdentity(id));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, id);
  std::string cut = EncodeIdentity(id);
  cut.pop_back();
  EXPECT_EQ(DecodeIdentity(cut).status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(DecodeIdentity("cluster=c\n").status().message(), HasSubstr("no node"));
}

TEST(NodeLifecycle, NewClusterServesOnceEveryNodeAnsweredAndPeersKnowEachIncarnation) {
  Cluster c(101);  // BringUp: every node starts on an empty store
  for (const char* n : {kA, kB, kC, kD}) {
    EXPECT_EQ(c.core(n).lifecycle().state(), NodeState::kServing) << n;
  }
  // The peers recorded each node's identity, so a later copy can be told apart.
  EXPECT_TRUE(c.store(kB).GetNodeRecord(std::string("peer/") + kA)->has_value());
}

TEST(NodeLifecycle, FreshNodeWaitsForSilentPeersAndAcknowledgesNothingMeanwhile) {
  Cluster c(102);
  c.net().SetDown(kB, true);
  c.Wipe(kC);
  c.Restart(kC, UnsafeBug::kNone, /*bring_up=*/false);
  // C's data dir is empty; A holds nothing yet, B is silent: C cannot tell a new cluster from
  // a lost disk, so it waits.
  LifecycleProgress p = c.Advance(kC);
  EXPECT_EQ(p.state, NodeState::kFresh);
  EXPECT_THAT(p.waiting_for, ::testing::Contains(std::string(kB)));
  StatusOr<Stamp> st = c.core(kC).HandleStore("1", Register{1, {}, 5});
  EXPECT_EQ(st.status().code(), StatusCode::kUnavailable) << "a fresh node acknowledged a Store";
}

// Scenario 1 of issue 10. Before: B served its empty store and the read at C returned v1
// after v3 had been acknowledged.
TEST(NodeLifecycle, ReplacedReaderDiskIsRebuiltBeforeItCounts) {
  Cluster c(103);
  ASSERT_NO_FATAL_FAILURE(LagCThenWipeB(c));
  c.Restart(kB, UnsafeBug::kNone, /*bring_up=*/false);
  c.net().SetDown(kA, true);
  // B cannot rebuild without A: it does not count, so C's read finds no majority.
  LifecycleProgress p = c.Advance(kB);
  EXPECT_EQ(p.state, NodeState::kRebuilding);
  c.Advance(kB);
  EXPECT_FALSE(c.core(kB).lifecycle().Serves("1"));
  auto stale = c.Read(kC, "1");
  ASSERT_FALSE(stale.ok()) << "read returned " << stale->value.name << " at ts " << stale->ts;
  // A back: B rebuilds; A away again, C's majority is {C, B} and returns v3.
  c.net().SetDown(kA, false);
  ASSERT_TRUE(c.BringUp());
  EXPECT_EQ(c.store(kB).Get("1")->value.name, "v3");
  c.net().SetDown(kA, true);
  auto r = c.Read(kC, "1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value.name, "v3");
  EXPECT_TRUE(c.CheckHistory().linearizable) << Explain(c.CheckHistory());
}

// Scenario 2 of issue 10. Before: the wiped writer reissued timestamps below B's, v6 was
// acknowledged, and every read returned v5 once B was back.
TEST(NodeLifecycle, ReplacedWriterDiskLosesNoAcknowledgedWrite) {
  Cluster c(104);
  ASSERT_TRUE(c.Write(kA, Named("v1")).ok());
  c.net().SetDown(kC, true);
  for (const char* v : {"v2", "v3", "v4", "v5"}) ASSERT_TRUE(c.Write(kA, Named(v)).ok());
  c.net().SetDown(kC, false);
  c.Wipe(kA);
  c.Restart(kA, UnsafeBug::kNone, /*bring_up=*/false);
  c.net().SetDown(kB, true);
  c.Advance(kA);
  c.Advance(kA);
  auto refused = c.Write(kA, Named("v6"));
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable) << refused.status().ToString();
  c.net().SetDown(kB, false);
  ASSERT_TRUE(c.BringUp());
  c.net().SetDown(kB, true);
  auto w = c.Write(kA, Named("v6"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_GT(w->ts, 5u);
  c.net().SetDown(kB, false);
  for (const char* n : {kA, kB, kC}) {
    auto r = c.Read(n, "1");
    ASSERT_TRUE(r.ok()) << n << ": " << r.status().ToString();
    EXPECT_EQ(r->value.name, "v6") << n;
  }
}

// The seeded bug the fault run's skip-rebuild catch uses really breaks atomicity (pinned here,
// like the other seeded bugs in replica_core_test, so a refactoring cannot make it a no-op):
// scenario 1 with the bug returns v1 after v3 was acknowledged, and the checker token-chaos
// runs rejects the history (the deterministic gate; the wall-clock catch is not a CI gate).
// The scenario without the bug is ReplacedReaderDiskIsRebuiltBeforeItCounts above, whose history the checker accepts.
TEST(NodeLifecycle, SeededBugSkipRebuildServesAnEmptyDiskAndReadsGoStale) {
  Cluster c(115);
  ASSERT_NO_FATAL_FAILURE(LagCThenWipeB(c));
  c.Restart(kB, UnsafeBug::kSkipRebuild, /*bring_up=*/false);
  EXPECT_EQ(c.core(kB).lifecycle().state(), NodeState::kServing);
  c.net().SetDown(kA, true);
  auto r = c.Read(kC, "1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value.name, "v1") << "skip-rebuild should let {C, B} return C's stale v1";
  const checker::Verdict verdict = c.CheckHistory();
  EXPECT_FALSE(verdict.linearizable);
  EXPECT_FALSE(verdict.unknown) << Explain(verdict);
}

// A copy of C's data dir (v1), taken while C was stopped; C started again (its peers heard
// of that later start), then v2 and v3 while B was down (B holds v1).
std::unique_ptr<MemoryRegisterStore> CopyCThenWriteWithoutB(Cluster& c) {
  EXPECT_TRUE(c.Write(kA, Named("v1")).ok());
  auto copy = c.Snapshot(kC);
  c.Restart(kC);
  c.net().SetDown(kB, true);
  EXPECT_TRUE(c.Write(kA, Named("v2")).ok());
  EXPECT_TRUE(c.Write(kA, Named("v3")).ok());
  c.net().SetDown(kB, false);
  return copy;
}

// C, started on that copy, finds it older and rebuilds: with A away, {B, C} read v3.
void ExpectCopyDetectedAndRebuilt(Cluster& c) {
  LifecycleProgress p = c.Advance(kC);
  EXPECT_EQ(p.state, NodeState::kRebuilding) << p.event;
  EXPECT_THAT(p.event, HasSubstr("restored copy"));
  ASSERT_TRUE(c.BringUp());
  c.net().SetDown(kA, true);
  auto r = c.Read(kB, "1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value.name, "v3");
  EXPECT_TRUE(c.CheckHistory().linearizable) << Explain(c.CheckHistory());
}

// A data dir put back from a copy taken earlier. Before: C served its old registers; with A
// away, B (which missed v2 and v3) and C formed a majority and the read returned v1.
TEST(NodeLifecycle, RestoredCopyOfADataDirIsDetectedAndRebuilt) {
  Cluster c(105);
  auto copy = CopyCThenWriteWithoutB(c);
  c.Replace(kC, std::move(copy));
  c.Restart(kC, UnsafeBug::kNone, /*bring_up=*/false);
  ExpectCopyDetectedAndRebuilt(c);
}

// Found by token-sim (seed 479 with restored copies that crash early). Before: the copy's
// first start raised its boot counter to the one its peers had heard of (the later start),
// and the peers took the copy's Hello (same boot, another run) as newer and recorded it; that
// start crashed before any answer came back, and at the next start both looked current: C
// served its copy, and with A away the read at B returned v1 after v3 was acknowledged. The
// test fails on the code before (commit 0d9291e): the peer's record changes, and C serves.
TEST(NodeLifecycle, RestoredCopyWhoseFirstStartCrashedUnansweredIsStillDetected) {
  Cluster c(116);
  auto copy = CopyCThenWriteWithoutB(c);
  const std::string heard = **c.store(kA).GetNodeRecord(std::string("peer/") + kC);
  // The copy starts; its Hellos reach every peer, no answer comes back, and it crashes.
  c.Replace(kC, std::move(copy));
  c.Restart(kC, UnsafeBug::kNone, /*bring_up=*/false);
  for (const char* peer : {kA, kB, kD}) c.net().SetCut(peer, kC, true);
  LifecycleProgress aborted = c.Advance(kC);
  ASSERT_EQ(aborted.state, NodeState::kStarting) << aborted.event;
  ASSERT_EQ(aborted.waiting_for.size(), 3u);
  c.net().HealCuts();
  EXPECT_EQ(**c.store(kA).GetNodeRecord(std::string("peer/") + kC), heard)
      << "a start the peer was never confirmed replaced what it had heard of C";
  c.Restart(kC, UnsafeBug::kNone, /*bring_up=*/false);
  ExpectCopyDetectedAndRebuilt(c);
}

// C runs a start its peers have not recorded yet; `copy` is C's data dir from before it.
// With B down, A writes v2; then C crashes, the copy is put back and passes for current
// (nothing tells it apart), and with A away {B, C} read. The write must not have counted C.
void WriteWhileCUnrecordedThenRestoreCopy(Cluster& c, std::unique_ptr<MemoryRegisterStore> copy) {
  EXPECT_FALSE(c.core(kC).lifecycle().Acknowledges());
  c.net().SetDown(kB, true);
  auto w = c.Write(kA, Named("v2"));
  EXPECT_FALSE(w.ok()) << "C acknowledged a Store before any peer recorded its start";
  EXPECT_EQ(c.store(kC).Get("1")->value.name, "v2") << "the Store is applied all the same";
  c.Replace(kC, std::move(copy));
  c.Restart(kC);
  c.net().SetDown(kB, false);
  c.net().SetDown(kA, true);
  auto r = c.Read(kB, "1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value.name, "v1");
  EXPECT_TRUE(c.CheckHistory().linearizable) << Explain(c.CheckHistory());
}

// Found by token-sim (seed 528, once restores could hit a start under way). A copy of C's
// data dir (v1) is taken while C is stopped. C starts again: its check passes and it records
// its next start, but no peer has recorded that start yet when, with B down, A writes v2:
// before, C acknowledged the Store, so {A, C} acknowledged v2. C then crashes before any peer
// recorded its start, and the operator puts the copy back: every peer's record of C is
// explained by the copy, so the copy passes for current and serves v1, and with A away
// {B, C} read v1 after v2 was acknowledged, a history the checker rejects. Now a node
// acknowledges no Store until its start is recorded, so v2 is never acknowledged. (Fails
// without the fix: v2 is acknowledged and the history is not linearizable.)
TEST(NodeLifecycle, StartNotYetRecordedAcknowledgesNoStoreACopyWouldForget) {
  Cluster c(118);
  ASSERT_TRUE(c.Write(kA, Named("v1")).ok());
  auto copy = c.Snapshot(kC);
  c.Restart(kC, UnsafeBug::kNone, /*bring_up=*/false);
  LifecycleProgress checked = c.Advance(kC);  // the check passes; the announce is not sent
  ASSERT_EQ(checked.state, NodeState::kStarting) << checked.event;
  ASSERT_THAT(checked.event, HasSubstr("current"));
  WriteWhileCUnrecordedThenRestoreCopy(c, std::move(copy));
}

// The same through a rebuild: C's disk is lost and C rebuilds as a new incarnation, which no
// peer has recorded yet when A writes v2 with B down. Before, the rebuilding C acknowledged
// the Store; it crashed, a copy from before the loss was put back, passed for current (the
// peers knew only the copy's incarnation) and {B, C} read v1. Now a rebuilding node
// acknowledges Stores only once a majority of its peers recorded its incarnation. (Fails
// without the fix as the test above.)
TEST(NodeLifecycle, RebuildNotYetRecordedAcknowledgesNoStoreACopyWouldForget) {
  Cluster c(119);
  ASSERT_TRUE(c.Write(kA, Named("v1")).ok());
  auto copy = c.Snapshot(kC);
  c.Wipe(kC);
  c.Restart(kC, UnsafeBug::kNone, /*bring_up=*/false);
  ASSERT_EQ(c.Advance(kC).state, NodeState::kRebuilding);  // its Hello is not sent yet
  WriteWhileCUnrecordedThenRestoreCopy(c, std::move(copy));
}

// Once a majority of its peers recorded the rebuild's incarnation, the rebuilding node
// acknowledges Stores again (a write needs it while B is down) and serves rebuilt tokens.
TEST(NodeLifecycle, RebuildRecordedByAMajorityAcknowledgesStores) {
  Cluster c(120);
  ASSERT_TRUE(c.Write(kA, Named("v1")).ok());
  c.Wipe(kC);
  c.Restart(kC, UnsafeBug::kNone, /*bring_up=*/false);
  c.net().SetDown(kB, true);
  ASSERT_EQ(c.Advance(kC).state, NodeState::kRebuilding);
  LifecycleProgress p = c.Advance(kC);  // A and D record it; B is down
  ASSERT_EQ(p.state, NodeState::kRebuilding) << p.event;
  EXPECT_TRUE(c.core(kC).lifecycle().Acknowledges());
  EXPECT_TRUE(c.Write(kA, Named("v2")).ok());
}

// The bug the chaos run's restore fault found in the first version of the lifecycle: a node
// rebuilt after a wipe took incarnation 1 again, so a copy of its original dir (also
// incarnation 1) looked current. Peers now learn every identity, and a rebuild takes an
// incarnation above all they saw.
TEST(NodeLifecycle, CopyTakenBeforeAWipeIsStillDetectedAfterTheRebuild) {
  Cluster c(106);
  ASSERT_TRUE(c.Write(kA, Named("v1")).ok());
  auto before_wipe = c.Snapshot(kC);
  c.Wipe(kC);
  c.Restart(kC);  // rebuilt
  c.net().SetDown(kB, true);
  ASSERT_TRUE(c.Write(kA, Named("v2")).ok());
  c.net().SetDown(kB, false);
  c.Replace(kC, std::move(before_wipe));
  c.Restart(kC, UnsafeBug::kNone, /*bring_up=*/false);
  EXPECT_EQ(c.Advance(kC).state, NodeState::kRebuilding);
  ASSERT_TRUE(c.BringUp());
  c.net().SetDown(kA, true);
  auto r = c.Read(kB, "1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value.name, "v2");
}

// Found by token-sim (refusals "2 of 3 lost"). Before: an empty node took its incarnation
// number from the peers that answered first; A, the one that knew C's number 3, was away, so
// C took 2 and served with it, and its next plain restart took A's 3 for a later start of
// its own: a restored copy, rebuilt for nothing (fails so on commit 0d9291e).
TEST(NodeLifecycle, RebuildNeverTakesAnIncarnationNumberAPeerHeardOf) {
  Cluster c(117);
  ASSERT_TRUE(c.Write(kA, Named("v1")).ok());
  c.Wipe(kC);
  c.net().SetDown(kB, true);
  c.net().SetDown(kD, true);
  c.Restart(kC, UnsafeBug::kNone, /*bring_up=*/false);
  ASSERT_EQ(c.Advance(kC).state, NodeState::kRebuilding);  // A holds data: incarnation 2
  c.Restart(kC, UnsafeBug::kNone, /*bring_up=*/false);     // resumed as incarnation 3 ...
  c.Advance(kC);                                           // ... which A hears of
  ASSERT_THAT(**c.store(kA).GetNodeRecord(std::string("peer/") + kC), HasSubstr("incarnation=3"));
  // C's disk is lost again, and now A is the one away: B and D know only incarnation 1.
  c.Wipe(kC);
  c.net().SetDown(kB, false);
  c.net().SetDown(kD, false);
  c.net().SetDown(kA, true);
  c.Restart(kC, UnsafeBug::kNone, /*bring_up=*/false);
  c.Advance(kC);
  c.Advance(kC);
  c.net().SetDown(kA, false);
  ASSERT_TRUE(c.BringUp());
  c.Restart(kC, UnsafeBug::kNone, /*bring_up=*/false);
  LifecycleProgress p = c.Advance(kC);
  EXPECT_EQ(p.state, NodeState::kStarting) << p.event;
  EXPECT_THAT(p.event, ::testing::Not(HasSubstr("restored copy")));
  ASSERT_TRUE(c.BringUp());
  EXPECT_EQ(c.Read(kC, "1")->value.name, "v1");
}

TEST(NodeLifecycle, MoreThanAMinorityLostRefusesAndSaysWhyUnlessDataLossIsAccepted) {
  Cluster c(107);
  ASSERT_TRUE(c.Write(kA, Named("v1")).ok());
  c.Wipe(kB);
  c.Wipe(kC);
  c.Restart(kB, UnsafeBug::kNone, /*bring_up=*/false);
  c.Restart(kC, UnsafeBug::kNone, /*bring_up=*/false);
  Status refusal;
  for (int i = 0; i < 6 && refusal.ok(); ++i) {
    refusal = c.Advance(kB).fatal;
    if (refusal.ok()) c.Advance(kC);
  }
  ASSERT_FALSE(refusal.ok()) << "two of three replicas lost their data and B rebuilt anyway";
  EXPECT_EQ(refusal.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refusal.message(), HasSubstr("cannot rebuild token"));
  EXPECT_THAT(refusal.message(), HasSubstr("more than a minority"));
  EXPECT_THAT(refusal.message(), HasSubstr("--accept-data-loss"));
  // The operator accepts the loss: B completes from what A holds.
  Cluster::Setup unsafe;
  unsafe.bring_up = false;
  unsafe.lifecycle.accept_data_loss = true;
  c.Restart(kB, unsafe);
  for (int i = 0; i < 4 && c.core(kB).lifecycle().state() != NodeState::kServing; ++i) {
    ASSERT_TRUE(c.Advance(kB).fatal.ok());
  }
  EXPECT_EQ(c.core(kB).lifecycle().state(), NodeState::kServing);
  EXPECT_EQ(c.store(kB).Get("1")->value.name, "v1");
}

TEST(NodeLifecycle, RebuildingNodeAppliesStoresAndResumesAfterACrash) {
  Cluster c(108);
  ASSERT_TRUE(c.Write(kA, Named("v1")).ok());
  c.Wipe(kB);
  c.Restart(kB, UnsafeBug::kNone, /*bring_up=*/false);
  c.net().SetDown(kC, true);  // B cannot finish: it needs A and C
  c.Advance(kB);
  c.Advance(kB);
  ASSERT_EQ(c.core(kB).lifecycle().state(), NodeState::kRebuilding);
  // A write meanwhile: A and the rebuilding B acknowledge it (B applies Stores).
  ASSERT_TRUE(c.Write(kA, Named("v2")).ok());
  EXPECT_EQ(c.store(kB).Get("1")->value.name, "v2");
  // B crashes mid-rebuild and restarts on the same disk: it resumes, never serves before.
  c.Restart(kB, UnsafeBug::kNone, /*bring_up=*/false);
  EXPECT_EQ(c.core(kB).lifecycle().state(), NodeState::kRebuilding);
  c.net().SetDown(kC, false);
  ASSERT_TRUE(c.BringUp());
  EXPECT_EQ(c.Read(kB, "1")->value.name, "v2");
}

// Found by token-sim (issue 12). Before: a copy of a data dir taken mid-rebuild, restored
// after the node had served and issued stamps, resumed the rebuild under the same origin, and
// its older reservations let it issue those stamps again with other values.
TEST(NodeLifecycle, ResumedRebuildDrawsANewOrigin) {
  Cluster c(115);
  ASSERT_TRUE(c.Write(kA, Named("v1")).ok());
  c.Wipe(kB);
  c.Restart(kB, UnsafeBug::kNone, /*bring_up=*/false);
  c.net().SetDown(kC, true);  // B cannot finish: it needs A and C
  c.Advance(kB);
  c.Advance(kB);
  ASSERT_EQ(c.core(kB).lifecycle().state(), NodeState::kRebuilding);
  const uint64_t copied = c.core(kB).lifecycle().origin();
  auto copy = c.Snapshot(kB);
  c.net().SetDown(kC, false);
  ASSERT_TRUE(c.BringUp());
  c.Replace(kB, std::move(copy));
  c.Restart(kB);
  EXPECT_NE(c.core(kB).lifecycle().origin(), copied);
}

TEST(NodeLifecycle, DataDirOfAnotherNodeIsRefused) {
  Cluster c(109);
  c.Replace(kB, c.Snapshot(kA));
  ReplicaOptions opts;
  opts.self = kB;
  InlineExecutor inline_exec;
  ReplicaCore core(c.config(), opts, c.store(kB), c.net().TransportOf(kB), inline_exec, inline_exec,
                   c.net());
  Status st = core.Start();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr(std::string("belongs to node ") + kA));
}

// Scenario 3 of issue 10. Before: C's read succeeded with a two-node "majority" {A, C}.
TEST(NodeLifecycle, EditedReplicaSetIsRefusedAtOnceNamingBothNodesAndViews) {
  Cluster c(110);
  ASSERT_TRUE(c.Write(kA, Named("v1")).ok());
  // Token 1 loses reader B in C's file; the rest is the same.
  std::string yaml = testing::kConfig;
  const std::string all = "readers: [127.0.0.1:1, 127.0.0.1:2, 127.0.0.1:3]";
  yaml.replace(yaml.find(all), all.size(), "readers: [127.0.0.1:1, 127.0.0.1:3]");
  const ClusterConfig* edited = c.ParseOther(yaml);
  Cluster::Setup setup;
  setup.config = edited;
  c.Restart(kC, setup);
  const auto start = c.net().elapsed();
  auto r = c.Read(kC, "1", c.Ctx(std::chrono::milliseconds(10'000)));
  ASSERT_FALSE(r.ok());
  EXPECT_LT(c.net().elapsed() - start, std::chrono::milliseconds(100)) << "refused by a timeout";
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("token \"1\""));
  EXPECT_THAT(r.status().message(), HasSubstr(kA));
  EXPECT_THAT(r.status().message(), HasSubstr(kC));
  EXPECT_THAT(r.status().message(), HasSubstr("readers [127.0.0.1:1, 127.0.0.1:2, 127.0.0.1:3]"));
  EXPECT_THAT(r.status().message(), HasSubstr("readers [127.0.0.1:1, 127.0.0.1:3]"));
  // The nodes that agree carry on; token 3, on which all agree, too.
  EXPECT_TRUE(c.Read(kA, "1").ok());
  EXPECT_TRUE(c.Read(kC, "3").ok());
}

TEST(NodeLifecycle, ClientWithAnotherViewIsRefusedNamingTheToken) {
  Cluster c(111);
  OpContext ctx = c.Ctx();
  ctx.config_fingerprint = 12345;
  auto r = c.Read(kB, "1", ctx);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("token \"1\": the client's configuration differs"));
  ctx.config_fingerprint = c.config().Find("1")->Fingerprint();
  EXPECT_TRUE(c.Read(kB, "1", ctx).ok());
}

// Item 2 of issue 10. Before: replicas that held ts 7 of another writer incarnation (a writer
// that ran elsewhere meanwhile) acknowledged the writer's ts 2, the write returned OK, and
// reads returned "ghost".
TEST(NodeLifecycle, StoreAcknowledgedWithANewerForeignStampDoesNotCount) {
  Cluster c(112);
  ASSERT_TRUE(c.Write(kA, Named("v1")).ok());  // the writer is past its recovery read
  const Register ghost{7, TokenValue{ValueKind::kDefined, "ghost", 0, 1, 5, true, 123, 0}, 0x1234};
  ASSERT_TRUE(c.store(kB).StoreIfNewer("1", ghost).ok());
  ASSERT_TRUE(c.store(kC).StoreIfNewer("1", ghost).ok());
  auto w = c.Write(kA, Named("mine"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_GT(w->ts, 7u);
  for (const char* n : {kA, kB, kC}) EXPECT_EQ(c.Read(n, "1")->value.name, "mine") << n;
}

// Before: two values with ts 5 from two writer incarnations counted as "the majority agrees";
// a read returned one without imposing it and a later read the other.
TEST(NodeLifecycle, EqualTimestampsOfTwoIncarnationsAreOrderedAndImposed) {
  Cluster c(113);
  const TokenValue x{ValueKind::kDefined, "x", 0, 1, 5, true, 1, 0};
  const TokenValue y{ValueKind::kDefined, "y", 0, 1, 5, true, 2, 0};
  ASSERT_TRUE(c.store(kB).StoreIfNewer("1", Register{5, x, 1}).ok());
  ASSERT_TRUE(c.store(kC).StoreIfNewer("1", Register{5, y, 2}).ok());
  c.net().SetHeld(kA, kC, true);  // C's majority is {C, B}
  auto first = c.Read(kC, "1");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->fast_path) << "two stamps differ: the value must be imposed";
  c.net().SetHeld(kA, kC, false);
  c.net().SetHeld(kC, kB, true);  // B's majority is {B, A}
  auto second = c.Read(kB, "1");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->value.name, first->value.name);
}

// Item 5 of issue 10. Before: the writer sent a drop to the others while its own copy was
// still waiting for its disk; it crashed, its recovery read missed the drop (only C held it),
// it accepted writes to the token, and a read at C answered "dropped".
TEST(NodeLifecycle, DropIsOnTheWritersDiskBeforeAnyOtherReplicaSeesIt) {
  Cluster c(114);
  ASSERT_TRUE(c.Write(kA, Named("v1")).ok());
  ManualExecutor disk;
  Cluster::Setup slow;
  slow.storage = &disk;
  c.Restart(kA, slow);
  // Runs the network and A's disk until `done`.
  auto run = [&](const std::function<bool()>& done) {
    for (int i = 0; i < 1000 && !done(); ++i) {
      c.net().RunUntilIdle(1000);
      if (!done() && disk.pending() > 0) disk.RunOne();
    }
  };
  std::optional<StatusOr<CoreWriteResult>> w;
  c.core(kA).Write(Named("v2"), c.Ctx(), [&](StatusOr<CoreWriteResult> r) { w = std::move(r); });
  run([&] { return w.has_value(); });
  ASSERT_TRUE(w && w->ok());  // the writer knows the token now
  std::optional<StatusOr<uint64_t>> dropped;
  c.core(kA).Drop("1", c.Ctx(), [&](StatusOr<uint64_t> r) { dropped = std::move(r); });
  while (disk.pending() > 1) disk.RunOne();  // the v2 write's own Stores, if any left
  ASSERT_EQ(disk.pending(), 1u);
  disk.RunOne();  // the drop takes its timestamp; its Store to A's own disk is queued...
  c.net().RunUntilIdle(1000);  // ... and the network carries whatever was sent meanwhile
  EXPECT_NE(c.store(kC).Get("1")->value.kind, ValueKind::kDropped)
      << "C holds a tombstone the writer's disk does not";
  disk.Discard();  // A crashes before its disk synced the tombstone
  c.Restart(kA);
  c.net().SetHeld(kA, kC, true);  // C's majority is {C, B}
  auto r = c.Read(kC, "1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value.name, "v2");
  c.net().SetHeld(kA, kC, false);
  EXPECT_TRUE(c.Write(kA, Named("v3")).ok());
}


// The rebuild race the protocol model found (docs/model.md, "The rebuild race"). Writer A's
// Store of v2 reaches B, which acknowledges it, while A's own sync is still pending and C is
// out of A's reach. B loses its disk and restarts. Before: B's probes were answered at once,
// A's from memory without v2 (its sync pending) and C's with v1, so B rebuilt v1; A's sync
// then completed the round with {A, B as it was before the loss}, v2 was acknowledged, and a
// read at B (with C) returned v1 after it. Now B probes only after every round that may have
// counted its lost acknowledgement has ended (LifecycleOptions::rebuild_quiet), and a round
// that reaches its majority after its deadline does not count: v2 is not acknowledged, and
// the history stays atomic. (Both halves are needed: without the deadline check the round
// completes after B's quiet period just the same.)
TEST(NodeLifecycle, RebuildWaitsOutRoundsThatMayHaveCountedTheLostDisksAcknowledgement) {
  Cluster c(120);
  ASSERT_TRUE(c.Write(kA, Named("v1")).ok());
  ManualExecutor disk;
  Cluster::Setup slow;
  slow.storage = &disk;
  c.Restart(kA, slow);
  c.net().SetHeld(kA, kC, true);  // A's Stores to C wait
  auto w = c.StartWrite(kA, Named("v2"));
  // Run A's disk only until B holds v2: A's own Store of it is then queued on its disk.
  for (int i = 0; i < 1000 && c.store(kB).Get("1")->value.name != "v2"; ++i) {
    c.net().RunUntilIdle(1000);
    if (c.store(kB).Get("1")->value.name != "v2" && disk.pending() > 0) disk.RunOne();
  }
  ASSERT_EQ(c.store(kB).Get("1")->value.name, "v2");
  ASSERT_GT(disk.pending(), 0u);
  ASSERT_FALSE(w->has_value()) << "acknowledged before A's own Store";
  EXPECT_EQ(c.store(kA).Get("1")->value.name, "v1");

  c.Wipe(kB);
  c.Restart(kB, UnsafeBug::kNone, /*bring_up=*/false);
  for (int i = 0; i < 20 && c.core(kB).lifecycle().state() != NodeState::kServing; ++i) {
    ASSERT_TRUE(c.Advance(kB).fatal.ok());
  }
  ASSERT_EQ(c.core(kB).lifecycle().state(), NodeState::kServing);
  while (disk.pending() > 0) {  // A's sync lands now, after B's rebuild
    disk.RunOne();
    c.net().RunUntilIdle(1000);
  }
  ASSERT_TRUE(w->has_value());
  EXPECT_EQ(w->value().code(), StatusCode::kDeadlineExceeded) << w->value().ToString();

  c.net().SetDown(kA, true);  // B's majority is {B, C}
  auto r = c.Read(kB, "1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(c.CheckHistory().linearizable) << Explain(c.CheckHistory());
}

}  // namespace
}  // namespace tokenstore
