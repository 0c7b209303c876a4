// What a fault run must have exercised (issue 11, item 3: a run with zero faults or zero
// successful operations passed, and partitions were skipped silently without root).
#include "chaos/exercise.h"

#include <gtest/gtest.h>

#include "chaos/run_outcome.h"

namespace tokenstore::chaos {
namespace {

const std::set<FaultKind> kAll(std::begin(kAllFaultKinds), std::end(kAllFaultKinds));

// A run of six workers with `writes` and `reads` ok each, every kind in kAll injected and
// healed `faults` times.
Exercise RunOf(uint64_t writes, uint64_t reads, int faults) {
  Exercise e;
  ClientCounts w;
  w.writes.ok = writes;
  w.reads.ok = reads;
  e.workers.assign(6, w);
  e.requested = kAll;
  for (FaultKind k : kAllFaultKinds) e.faults[k] = {faults, faults};
  return e;
}

ExerciseMinimums Minimums(uint64_t ok_ops, uint64_t per_worker, int faults_per_kind) {
  return {.ok_ops = ok_ops, .ok_ops_per_worker = per_worker, .faults_per_kind = faults_per_kind};
}

bool Exercised(const Exercise& e, const ExerciseMinimums& min) {
  return OutcomeOf(checker::Verdict{}, 0, Shortfalls(e, min).empty()) == RunOutcome::kLinearizable;
}

TEST(Exercise, DefaultsScaleWithTheDuration) {
  const ExerciseMinimums min = DefaultMinimums(180);
  EXPECT_EQ(min.ok_ops, 360u);
  EXPECT_EQ(min.ok_ops_per_worker, 36u);
  EXPECT_EQ(min.faults_per_kind, 2);
  EXPECT_EQ(DefaultMinimums(10).faults_per_kind, 1);
  EXPECT_EQ(DefaultMinimums(10).ok_ops, 20u);
}

TEST(Exercise, ARunThatMeetsEveryMinimumIsExercised) {
  EXPECT_TRUE(Shortfalls(RunOf(100, 200, 3), Minimums(600, 100, 3)).empty());
  EXPECT_TRUE(Exercised(RunOf(100, 200, 3), Minimums(600, 100, 3)));
}

TEST(Exercise, ZeroFaultsOfARequestedKindIsNotTested) {
  Exercise e = RunOf(100, 200, 3);
  e.faults.erase(FaultKind::kRestore);
  EXPECT_EQ(Shortfalls(e, Minimums(1, 1, 1)),
            std::vector<std::string>{"restore: injected 0, healed 0; at least 1 of each needed"});
  EXPECT_FALSE(Exercised(e, Minimums(1, 1, 1)));
  // A kind not asked for needs nothing.
  e.requested.erase(FaultKind::kRestore);
  EXPECT_TRUE(Exercised(e, Minimums(1, 1, 1)));
}

TEST(Exercise, AFaultInjectedButNeverHealedDoesNotCount) {
  Exercise e = RunOf(100, 200, 3);
  e.faults[FaultKind::kWipe] = {.injected = 3, .healed = 2};
  EXPECT_EQ(Shortfalls(e, Minimums(1, 1, 3)),
            std::vector<std::string>{"wipe: injected 3, healed 2; at least 3 of each needed"});
}

TEST(Exercise, TooFewOkOperationsIsNotTested) {
  EXPECT_EQ(Shortfalls(RunOf(0, 0, 3), Minimums(1, 0, 3)),
            (std::vector<std::string>{"writes: 0 ok, at least 1 needed",
                                      "reads: 0 ok, at least 1 needed"}));
  // Writes and reads are counted apart: plenty of reads do not make up for too few writes.
  EXPECT_EQ(Shortfalls(RunOf(10, 1000, 3), Minimums(100, 0, 3)),
            std::vector<std::string>{"writes: 60 ok, at least 100 needed"});
}

TEST(Exercise, AWorkerThatDidTooLittleIsNotTested) {
  Exercise e = RunOf(100, 200, 3);
  e.workers[4].reads.ok = 0;  // the totals still clear the run's minimum
  EXPECT_EQ(Shortfalls(e, Minimums(600, 10, 3)),
            std::vector<std::string>{"worker 4 reads: 0 ok, at least 10 needed"});
}

TEST(Exercise, AFunctionTheWorkloadDoesNotDoIsNotAskedFor) {
  Exercise e = RunOf(0, 200, 3);
  e.write_fraction = 0;
  EXPECT_TRUE(Shortfalls(e, Minimums(100, 10, 3)).empty());
  e = RunOf(100, 0, 3);
  e.write_fraction = 1;
  EXPECT_TRUE(Shortfalls(e, Minimums(100, 10, 3)).empty());
}

TEST(Exercise, BiasScenariosCountLikeAFaultKind) {
  Exercise e = RunOf(100, 200, 3);
  e.scenarios = 0;
  EXPECT_EQ(
      Shortfalls(e, Minimums(1, 1, 1)),
      std::vector<std::string>{"lag-then-lose-data scenarios: 0 completed, at least 1 needed"});
  e.scenarios = 1;
  EXPECT_TRUE(Shortfalls(e, Minimums(1, 1, 1)).empty());
}

// What keeps a run going past its planned duration: the fault kinds only, never the ok
// operations (more time cannot excuse a stalled workload, only a slow nemesis).
TEST(Exercise, FaultShortfallsIgnoreOperationsAndClearOnceEveryKindHealedEnough) {
  Exercise e = RunOf(0, 0, 2);
  e.faults[FaultKind::kRestore] = {2, 1};
  EXPECT_EQ(FaultShortfalls(e.requested, e.faults, std::nullopt, Minimums(1000, 100, 2)),
            (std::vector<std::string>{"restore: injected 2, healed 1; at least 2 of each needed"}));
  e.faults[FaultKind::kRestore] = {3, 2};
  EXPECT_TRUE(FaultShortfalls(e.requested, e.faults, std::nullopt, Minimums(1000, 100, 2)).empty());
  EXPECT_EQ(FaultShortfalls(e.requested, e.faults, 1, Minimums(0, 0, 2)).size(), 1u);
}

// Online reconfiguration is a fault kind like the others: by name, and tallied.
TEST(FaultKind, EveryKindRoundTripsByNameReconfigureIncluded) {
  for (FaultKind k : kAllFaultKinds) EXPECT_EQ(ParseFaultKind(FaultKindName(k)), k);
  EXPECT_STREQ(FaultKindName(FaultKind::kReconfigure), "reconfigure");
  EXPECT_EQ(ParseFaultKind("reconfigure"), FaultKind::kReconfigure);
  EXPECT_EQ(ParseFaultKind("reconfig"), std::nullopt);
  EXPECT_EQ(kAll.count(FaultKind::kReconfigure), 1u);
}

TEST(Exercise, AReconfigurationMovedButNotMovedBackIsShort) {
  Exercise e = RunOf(1000, 1000, 2);
  e.faults[FaultKind::kReconfigure] = {.injected = 2, .healed = 1};
  EXPECT_EQ(FaultShortfalls(e.requested, e.faults, std::nullopt, Minimums(0, 0, 2)),
            (std::vector<std::string>{
                "reconfigure: injected 2, healed 1; at least 2 of each needed"}));
  EXPECT_FALSE(Exercised(e, Minimums(10, 1, 2)));
  e.faults[FaultKind::kReconfigure] = {.injected = 3, .healed = 3};
  EXPECT_TRUE(Exercised(e, Minimums(10, 1, 2)));
  // Not asked for: not needed.
  e.requested.erase(FaultKind::kReconfigure);
  e.faults.erase(FaultKind::kReconfigure);
  EXPECT_TRUE(Exercised(e, Minimums(10, 1, 2)));
}

TEST(Exercise, PartitionsWithoutNamespacesCannotRun) {
  const std::optional<std::string> why = CannotRun(kAll, false, "--loopback given");
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("partition"), std::string::npos) << *why;
  EXPECT_NE(why->find("--loopback given"), std::string::npos) << *why;
  EXPECT_EQ(CannotRun(kAll, true, ""), std::nullopt);
  EXPECT_EQ(CannotRun({FaultKind::kKill, FaultKind::kPause}, false, "not root"), std::nullopt);
}

}  // namespace
}  // namespace tokenstore::chaos
