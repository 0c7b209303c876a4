// The nemesis's safety rule: faults are refused once a token would lose its healthy,
// connected majority.
#include "chaos/fault_model.h"

#include <gtest/gtest.h>

namespace tokenstore::chaos {
namespace {

const std::vector<TokenNodes> kThree = {{"", {0, 1, 2}}, {"1", {0, 1, 2}}, {"2", {0, 1, 2}}};
const std::vector<TokenNodes> kFive = {{"", {0, 1, 2, 3, 4}}, {"1", {0, 1, 2, 3, 4}}};

TEST(FaultModel, NoFaultIsHealthy) { EXPECT_TRUE(EveryTokenHasHealthyMajority({}, kThree)); }

TEST(FaultModel, OneNodeOfThreeMayFailAnyWay) {
  FaultState s;
  s.down = {1};
  EXPECT_TRUE(EveryTokenHasHealthyMajority(s, kThree));
  s.paused = {2};
  EXPECT_FALSE(EveryTokenHasHealthyMajority(s, kThree));
}

TEST(FaultModel, CrashStopMarksCountPerToken) {
  FaultState s;
  s.marks = {{0, "1"}, {1, "2"}};
  EXPECT_TRUE(EveryTokenHasHealthyMajority(s, kThree));
  s.marks.insert({2, "1"});
  EXPECT_FALSE(EveryTokenHasHealthyMajority(s, kThree));
  // A mark on a node that is also down is the same single faulty node.
  s.marks = {{1, "1"}};
  s.down = {1};
  EXPECT_TRUE(EveryTokenHasHealthyMajority(s, kThree));
}

TEST(FaultModel, PartitionsNeedAConnectedMajority) {
  FaultState s;
  s.cuts = {{0, 1}, {0, 2}};  // node 0 isolated
  EXPECT_TRUE(EveryTokenHasHealthyMajority(s, kThree));
  s.down = {1};  // and another node down: no majority left
  EXPECT_FALSE(EveryTokenHasHealthyMajority(s, kThree));
  s.down.clear();
  s.cuts = {{0, 1}};  // one link: {0, 2} and {1, 2} are connected majorities
  EXPECT_TRUE(EveryTokenHasHealthyMajority(s, kThree));
  s.cuts = {{0, 1}, {1, 2}, {0, 2}};
  EXPECT_FALSE(EveryTokenHasHealthyMajority(s, kThree));
}

TEST(FaultModel, FiveNodesSurviveTwo) {
  FaultState s;
  s.down = {0};
  s.paused = {1};
  EXPECT_TRUE(EveryTokenHasHealthyMajority(s, kFive));
  s.cuts = {{2, 3}};
  EXPECT_FALSE(EveryTokenHasHealthyMajority(s, kFive));
}

// A wiped or restored node is faulty from its kill until its health reports SERVING again:
// while it rebuilds, a second fault on another node would leave no healthy majority.
TEST(FaultModel, LostDataCountsUntilServing) {
  FaultState s;
  s.down = {1};
  s.lost_data = {1};
  EXPECT_TRUE(EveryTokenHasHealthyMajority(s, kThree));
  s.down.clear();
  s.starting = {1};  // restarted, NOT_SERVING while it rebuilds
  EXPECT_TRUE(EveryTokenHasHealthyMajority(s, kThree));
  s.paused = {2};
  EXPECT_FALSE(EveryTokenHasHealthyMajority(s, kThree));
  s.paused.clear();
  s.marks = {{0, "1"}};
  EXPECT_FALSE(EveryTokenHasHealthyMajority(s, kThree));
  // SERVING again: the node counts, and so may another fault.
  s.starting.clear();
  s.lost_data.clear();
  EXPECT_TRUE(EveryTokenHasHealthyMajority(s, kThree));
}

TEST(FaultModel, LostDataOnlyAtAMinority) {
  FaultState s;
  s.lost_data = {0, 1};  // two of five lost data: the other three hold every acknowledged write
  EXPECT_TRUE(EveryTokenHasHealthyMajority(s, kFive));
  s.lost_data.insert(2);
  EXPECT_FALSE(EveryTokenHasHealthyMajority(s, kFive));
  // Restarted but not serving yet also counts as faulty for a token's majority.
  s.lost_data = {0};
  s.starting = {1};
  s.paused = {2};
  EXPECT_FALSE(EveryTokenHasHealthyMajority(s, kFive));
}

}  // namespace
}  // namespace tokenstore::chaos
