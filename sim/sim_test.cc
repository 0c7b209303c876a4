// The simulator's pieces (invariants, disk, history recording, report) and its determinism.
#include <gtest/gtest.h>

#include "config/cluster_config.h"
#include "sim/history_recorder.h"
#include "sim/invariants.h"
#include "sim/report.h"
#include "sim/sim_disk.h"
#include "sim/simulation.h"

namespace tokenstore::sim {
namespace {

using checker::EventType;
using testing::SimNetwork;

Register Reg(uint64_t ts, uint64_t origin, const std::string& name) {
  Register r;
  r.ts = ts;
  r.origin = origin;
  r.value.kind = ValueKind::kDefined;
  r.value.name = name;
  r.value.low = 0, r.value.mid = 1, r.value.high = 2;
  return r;
}

TEST(Invariants, TwoValuesAtOneStampAreReportedWithTheirTime) {
  SimNetwork clock(1);
  Invariants inv(clock);
  inv.OnOffered("t", Reg(3, 7, "a"));
  inv.OnOffered("t", Reg(3, 7, "a"));  // the same value again: fine
  inv.OnOffered("u", Reg(3, 7, "b"));  // another token: fine
  EXPECT_FALSE(inv.violated());
  inv.OnOffered("t", Reg(3, 7, "b"));
  ASSERT_TRUE(inv.violated());
  EXPECT_NE(inv.first()->find("at 0.000 ms: two values carry one stamp: token t"), std::string::npos)
      << *inv.first();
}

TEST(Invariants, AStoredStampGoesBackOnlyAfterTheDiskWasLost) {
  SimNetwork clock(1);
  Invariants inv(clock);
  inv.OnHeld("n1", "t", Stamp{0, 5, 1});
  inv.OnHeld("n2", "t", Stamp{0, 2, 1});  // another node: its own history
  inv.ForgetNode("n1");
  inv.OnHeld("n1", "t", Stamp{0, 0, 0});  // wiped
  EXPECT_FALSE(inv.violated());
  inv.OnHeld("n2", "t", Stamp{0, 1, 9});
  ASSERT_TRUE(inv.violated());
  EXPECT_NE(inv.first()->find("n2 held token t at 2/"), std::string::npos) << *inv.first();
}

TEST(SimDisk, ChecksEveryStoreAndCopiesItsContents) {
  SimNetwork clock(1);
  Invariants inv(clock);
  SimDisk disk("n1", std::make_unique<MemoryRegisterStore>(), inv);
  ASSERT_TRUE(disk.StoreIfNewer("t", Reg(2, 1, "a")).ok());
  ASSERT_TRUE(disk.PutNodeRecord("identity", "x").ok());
  std::unique_ptr<MemoryRegisterStore> copy = disk.Copy();
  EXPECT_EQ(copy->Get("t")->value.name, "a");
  EXPECT_EQ(**copy->GetNodeRecord("identity"), "x");
  std::vector<StoreItem> items = {{"t", Reg(2, 1, "b")}};
  (void)disk.StoreIfNewerBatch(items);  // not newer, but offered with another value
  EXPECT_TRUE(inv.violated());
}

TEST(HistoryRecorder, CreatesAreNamedByTheStampTheyIssuedAndUnknownStampsAreUnknown) {
  SimNetwork clock(1);
  HistoryRecorder h(clock);
  const int64_t create = h.InvokeWrite("t", "create-1", 0, 0, 0);
  const int64_t named = h.InvokeRead("t");
  const int64_t anonymous = h.InvokeRead("t");
  const int64_t initial = h.InvokeRead("t");
  h.ReadUndefined(named, Stamp{0, 4, 9});
  h.ReadUndefined(anonymous, Stamp{0, 5, 9});
  h.ReadUndefined(initial, Stamp{0, 0, 0});
  h.NameStamp("t", Stamp{0, 4, 9}, "create-1");  // the create's answer may come after the read
  h.WriteOk(create);
  std::vector<checker::Event> events = h.Finish();
  ASSERT_EQ(events.size(), 8u);
  EXPECT_EQ(events[4].name, "create-1");
  EXPECT_EQ(events[5].type, EventType::kInfo);
  EXPECT_EQ(events[6].type, EventType::kOk);
  EXPECT_FALSE(events[6].name.has_value());
  EXPECT_EQ(events[7].name, "create-1");
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].line, static_cast<int>(i + 1));
    if (i > 0) {
      EXPECT_LT(events[i - 1].time, events[i].time) << "one instant keeps its order";
    }
  }
  EXPECT_EQ(h.reads_unresolved(), 1u);
  EXPECT_TRUE(checker::ValidateHistory(events).ok());
}

TEST(Simulation, ClusterYamlIsAValidSchemeForEverySize) {
  for (int replicas : {3, 5, 7}) {
    StatusOr<ClusterConfig> cfg = ParseClusterConfig(ClusterYaml(replicas), "sim.yaml");
    ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
    EXPECT_EQ(cfg->Nodes().size(), static_cast<size_t>(replicas));
    EXPECT_EQ(cfg->size(), static_cast<size_t>(replicas + 1));
    const std::vector<std::string> ids = cfg->FirstIds(4);
    ASSERT_EQ(ids.size(), 4u);
    const std::optional<TokenReplication> fourth = cfg->Find(ids[3]);
    ASSERT_TRUE(fourth);
    EXPECT_FALSE(fourth->IsReader(fourth->writer())) << "a writer that is no reader";
  }
  EXPECT_EQ(ValidateOptions(SimOptions{}), "");
  SimOptions four;
  four.replicas = 4;
  EXPECT_NE(ValidateOptions(four), "");
}

TEST(Simulation, TheSameSeedGivesTheSameHistoryByteForByte) {
  for (int replicas : {3, 5}) {
    SimOptions o;
    o.seed = 42;
    o.replicas = replicas;
    o.ops = 400;
    const SimResult a = RunSimulation(o);
    const SimResult b = RunSimulation(o);
    EXPECT_GT(a.verdict.operations, 300u);
    EXPECT_GT(a.stats.faults, 0u);
    EXPECT_EQ(HistoryText(a.history), HistoryText(b.history));
    ASSERT_EQ(a.trace.size(), b.trace.size());
    for (size_t i = 0; i < a.trace.size(); ++i) EXPECT_EQ(a.trace[i].what, b.trace[i].what);
    o.seed = 43;
    EXPECT_NE(HistoryText(RunSimulation(o).history), HistoryText(a.history));
  }
}

TEST(Simulation, AFailingSeedIsReportedAsAShortReadableHistory) {
  SimOptions o;
  o.seed = 1;
  o.bug = UnsafeBug::kReadLocal;
  const SimResult r = RunSimulation(o);
  ASSERT_TRUE(r.violation());
  const std::string report = FailureReport(r);
  EXPECT_EQ(report.rfind("seed 1: ", 0), 0u) << report;
  EXPECT_LT(std::count(report.begin(), report.end(), '\n'), 120) << report;
  o.bug = UnsafeBug::kNone;
  EXPECT_EQ(FailureReport(RunSimulation(o)), "");
}

TEST(Simulation, ReconfigurationsHappenAndEveryHistoryStaysLinearizable) {
  for (int replicas : {3, 5, 7}) {
    uint64_t started = 0, completed = 0;
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      SimOptions o;
      o.seed = seed;
      o.replicas = replicas;
      o.reconfigure = true;
      const SimResult r = RunSimulation(o);
      ASSERT_EQ(r.outcome, chaos::RunOutcome::kLinearizable)
          << replicas << " replicas:\n" << FailureReport(r);
      EXPECT_GT(r.verdict.operations, 500u) << "seed " << seed;
      started += r.stats.reconfigs_started;
      completed += r.stats.reconfigs_completed;
      EXPECT_GE(r.stats.reconfig_runs, r.stats.reconfigs_started);
    }
    EXPECT_GT(started, 20u) << replicas << " replicas";
    // At most one is under way when a run ends; interrupted runs are completed by later ones.
    EXPECT_GE(completed + 5, started) << replicas << " replicas";
  }
}

// The simulated admin's deliberate bug: without the transfer, the new set may not hold the
// last acknowledged value. It shows only when a move's new replicas make up part of the next
// read's majority before a write reaches them, so few seeds catch it: since the fixes of the
// seal (refused while rebuilding) and of later activations, seeds 118 and one more of 1-400
// with 7 replicas, 2 of 1-400 with 5 (first 179), none with 3 (every set is the whole
// cluster). The scan stops at the first catch; it allows for the draws shifting with changes.
TEST(Simulation, AnAdminThatSkipsTheInstallIsCaught) {  // [118]
  uint64_t first = 0;
  for (uint64_t seed = 1; seed <= 600 && first == 0; ++seed) {
    SimOptions o;
    o.seed = seed;
    o.replicas = 7;
    o.reconfigure = true;
    o.admin_skips_install = true;
    if (RunSimulation(o).violation()) first = seed;
  }
  EXPECT_NE(first, 0u);
}

}  // namespace
}  // namespace tokenstore::sim
