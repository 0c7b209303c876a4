// StoreCommitter: group commits, results split back to their submitters.
#include "replica/store_committer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tokenstore {
namespace {

StoreItem Item(const std::string& token, uint64_t ts) {
  StoreItem item;
  item.token = token;
  item.reg.ts = ts;
  return item;
}

// Runs tasks inline and counts them.
class CountingExecutor final : public Executor {
 public:
  void Submit(std::function<void()> task) override {
    ++tasks;
    task();
  }
  int tasks = 0;
};

TEST(StoreCommitter, StoresSubmittedDuringACommitLeaveTogetherInTheNext) {
  CountingExecutor executor;
  std::vector<std::vector<std::string>> commits;
  StoreCommitter* self = nullptr;
  std::vector<std::vector<StatusOr<Stamp>>> answers(3);
  StoreCommitter committer(executor, [&](std::span<const StoreItem> items) {
    std::vector<std::string> tokens;
    std::vector<StatusOr<Stamp>> held;
    for (const StoreItem& item : items) {
      tokens.push_back(item.token);
      held.push_back(item.token == "bad" ? StatusOr<Stamp>(Status::Internal("disk"))
                                         : StatusOr<Stamp>(item.reg.stamp()));
    }
    commits.push_back(tokens);
    if (commits.size() == 1) {
      // Arrive while the first commit is syncing.
      self->Submit({Item("b", 2), Item("bad", 3)},
                   [&](std::vector<StatusOr<Stamp>> r) { answers[1] = std::move(r); });
      self->Submit({Item("c", 4)}, [&](std::vector<StatusOr<Stamp>> r) { answers[2] = std::move(r); });
    }
    return held;
  });
  self = &committer;
  committer.Submit({Item("a", 1)}, [&](std::vector<StatusOr<Stamp>> r) { answers[0] = std::move(r); });

  ASSERT_EQ(commits.size(), 2u);
  EXPECT_EQ(commits[0], std::vector<std::string>{"a"});
  EXPECT_EQ(commits[1], (std::vector<std::string>{"b", "bad", "c"}));
  EXPECT_EQ(executor.tasks, 1) << "one commit loop served all three";
  ASSERT_EQ(answers[0].size(), 1u);
  EXPECT_EQ(answers[0][0]->ts, 1u);
  ASSERT_EQ(answers[1].size(), 2u);
  EXPECT_EQ(answers[1][0]->ts, 2u);
  EXPECT_EQ(answers[1][1].status().code(), StatusCode::kInternal);
  ASSERT_EQ(answers[2].size(), 1u);
  EXPECT_EQ(answers[2][0]->ts, 4u);

  // Idle again: the next Store starts a new commit loop at once.
  std::vector<StatusOr<Stamp>> later;
  committer.Submit({Item("d", 5)}, [&](std::vector<StatusOr<Stamp>> r) { later = std::move(r); });
  EXPECT_EQ(executor.tasks, 2);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0]->ts, 5u);
}

}  // namespace
}  // namespace tokenstore
