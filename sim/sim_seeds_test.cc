// token-sim over ranges of seeds (label `sim`): a clean range has no violation, and every
// deliberate bug (replica/unsafe_bug.h) is caught within a fixed number of seeds. The
// budgets leave a wide margin over the first failing seed found when they were set (in
// brackets), so a change to the workload that makes a bug rarer fails here first.
#include <gtest/gtest.h>

#include "sim/report.h"
#include "sim/simulation.h"

namespace tokenstore::sim {
namespace {

// The first seed in [1, budget] whose run is a violation, or 0.
uint64_t FirstCatch(UnsafeBug bug, uint64_t budget, int replicas = 3) {
  for (uint64_t seed = 1; seed <= budget; ++seed) {
    SimOptions o;
    o.seed = seed;
    o.replicas = replicas;
    o.bug = bug;
    if (RunSimulation(o).violation()) return seed;
  }
  return 0;
}

TEST(SimSeeds, ACleanRangeHasNoViolation) {
  for (int replicas : {3, 5, 7}) {
    const uint64_t seeds = replicas == 3 ? 150 : 30;
    for (uint64_t seed = 1; seed <= seeds; ++seed) {
      SimOptions o;
      o.seed = seed;
      o.replicas = replicas;
      const SimResult r = RunSimulation(o);
      ASSERT_EQ(r.outcome, chaos::RunOutcome::kLinearizable)
          << replicas << " replicas:\n" << FailureReport(r);
      ASSERT_GT(r.verdict.operations, 500u) << "seed " << seed << " checked too little";
    }
  }
}

TEST(SimSeeds, ReadLocalIsCaught) {  // [1]
  EXPECT_NE(FirstCatch(UnsafeBug::kReadLocal, 10), 0u);
  EXPECT_NE(FirstCatch(UnsafeBug::kReadLocal, 10, /*replicas=*/5), 0u);
}

TEST(SimSeeds, SkipRebuildIsCaught) {  // [1]
  EXPECT_NE(FirstCatch(UnsafeBug::kSkipRebuild, 10), 0u);
}

TEST(SimSeeds, ReuseTimestampIsCaught) {  // [1]
  EXPECT_NE(FirstCatch(UnsafeBug::kReuseTimestamp, 10), 0u);
}

TEST(SimSeeds, SkipWriteBackIsCaught) {  // [23]
  EXPECT_NE(FirstCatch(UnsafeBug::kSkipWriteBack, 250), 0u);
}

}  // namespace
}  // namespace tokenstore::sim
