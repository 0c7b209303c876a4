#include "replica/quorum.h"

#include <gtest/gtest.h>

#include "replica/quorum_round.h"

namespace tokenstore {
namespace {

TEST(MajorityOf, StrictMajority) {
  EXPECT_EQ(MajorityOf(1), 1u);
  EXPECT_EQ(MajorityOf(2), 2u);
  EXPECT_EQ(MajorityOf(3), 2u);
  EXPECT_EQ(MajorityOf(4), 3u);
  EXPECT_EQ(MajorityOf(5), 3u);
  EXPECT_EQ(MajorityOf(6), 4u);
  EXPECT_EQ(MajorityOf(7), 4u);
}

// Each row: a sequence of replies ('s' success, 'f' failure) and the state after each.
struct CounterCase {
  size_t replicas;
  const char* replies;
  const char* states;  // 'p' pending, 'r' reached, 'i' impossible
};

TEST(QuorumCounter, Table) {
  const CounterCase cases[] = {
      {3, "ss", "pr"},       {3, "sfs", "ppr"},     {3, "ff", "pi"},
      {3, "fsf", "ppi"},     {5, "sssff", "pprrr"}, {5, "fffss", "ppiii"},
      {5, "ffsss", "pppp" "r"}, {1, "s", "r"},      {1, "f", "i"},
      {4, "ssfs", "pppr"},   {4, "ff", "pi"},
  };
  for (const auto& c : cases) {
    QuorumCounter q(c.replicas, MajorityOf(c.replicas));
    for (size_t i = 0; c.replies[i] != '\0'; ++i) {
      QuorumState s = c.replies[i] == 's' ? q.AddSuccess() : q.AddFailure();
      char got = s == QuorumState::kPending ? 'p' : s == QuorumState::kReached ? 'r' : 'i';
      EXPECT_EQ(got, c.states[i]) << "replicas=" << c.replicas << " replies=" << c.replies
                                  << " at " << i;
    }
  }
}

TEST(QuorumRound, DecidesOnceAtMajorityAndCancelsStragglers) {
  int done_calls = 0;
  Status result = Status::Internal("unset");
  size_t answers = 0;
  auto round = std::make_shared<QuorumRound<int>>(
      std::vector<std::string>{"a", "b", "c"}, "test", /*cancel_stragglers=*/true,
      [&](Status st, std::vector<QuorumRound<int>::Answer> a) {
        ++done_calls;
        result = st;
        answers = a.size();
      });
  int cancelled = 0;
  for (size_t i = 0; i < 3; ++i) round->SetCancel(i, [&] { ++cancelled; });
  round->OnReply(0, 1);
  EXPECT_EQ(done_calls, 0);
  round->OnReply(2, 3);
  EXPECT_EQ(done_calls, 1);
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(answers, 2u);
  EXPECT_EQ(cancelled, 1);  // only "b" was still running
  round->OnReply(1, 2);     // late reply: ignored
  EXPECT_EQ(done_calls, 1);
}

TEST(QuorumRound, FailsAsSoonAsMajorityIsOutOfReachAndNamesTheNodes) {
  Status result;
  int done_calls = 0;
  auto round = std::make_shared<QuorumRound<int>>(
      std::vector<std::string>{"n1", "n2", "n3"}, "store of token \"7\"", false,
      [&](Status st, std::vector<QuorumRound<int>::Answer>) {
        ++done_calls;
        result = st;
      });
  round->OnReply(0, Status::DeadlineExceeded("slow"));
  round->OnReply(1, Status::Unavailable("refused"));
  EXPECT_EQ(done_calls, 1);
  EXPECT_EQ(result.code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(result.message().find("store of token \"7\""), std::string::npos);
  EXPECT_NE(result.message().find("0 of 3 replicas answered, 2 needed"), std::string::npos);
  EXPECT_NE(result.message().find("n2: UNAVAILABLE: refused"), std::string::npos);
}

TEST(QuorumRound, StoreRoundsLeaveStragglersRunning) {
  int cancelled = 0;
  auto round = std::make_shared<QuorumRound<int>>(
      std::vector<std::string>{"a", "b", "c"}, "store", /*cancel_stragglers=*/false,
      [](Status, std::vector<QuorumRound<int>::Answer>) {});
  for (size_t i = 0; i < 3; ++i) round->SetCancel(i, [&] { ++cancelled; });
  round->OnReply(0, 1);
  round->OnReply(1, 1);
  EXPECT_EQ(cancelled, 0);
}

TEST(QuorumRound, CancelRegisteredAfterDecisionFiresImmediately) {
  auto round = std::make_shared<QuorumRound<int>>(
      std::vector<std::string>{"a", "b", "c"}, "read", true,
      [](Status, std::vector<QuorumRound<int>::Answer>) {});
  round->OnReply(0, 1);
  round->OnReply(1, 1);
  int cancelled = 0;
  round->SetCancel(2, [&] { ++cancelled; });
  EXPECT_EQ(cancelled, 1);
}

// The always-on checks (common/check.h): a reply counted twice could make a false majority.
TEST(QuorumRoundDeathTest, ASecondReplyFromOneReplicaAborts) {
  auto round = std::make_shared<QuorumRound<int>>(
      std::vector<std::string>{"a", "b", "c"}, "test", /*cancel_stragglers=*/false,
      [](Status, std::vector<QuorumRound<int>::Answer>) {});
  round->OnReply(0, 1);
  EXPECT_DEATH(round->OnReply(0, 1), "TS_CHECK.*replica a answered twice in one quorum round");
}

TEST(QuorumCounterDeathTest, MoreRepliesThanReplicasAbort) {
  QuorumCounter q(3, MajorityOf(3));
  q.AddSuccess();
  q.AddFailure();
  q.AddSuccess();
  EXPECT_DEATH(q.AddFailure(), "more replies than replicas");
}

}  // namespace
}  // namespace tokenstore
