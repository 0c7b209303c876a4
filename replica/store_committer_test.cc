// StoreCommitter: group commits, results split back to their submitters.
#include "replica/store_committer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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

// Real threads (label tsan): submitters on several threads, commits on a thread pool.
// Catches a commit that runs while another is still running (two syncs at once, and the
// store's batch no longer one write), results handed to the wrong submitter or lost, a
// submitter left waiting (a hang: the wait fails after a minute), and races on the queue
// between Submit and the commit loop (TSan).
TEST(StoreCommitter, ConcurrentSubmittersOnAThreadPoolEachGetTheirOwnResults) {
  constexpr int kSubmitters = 6;
  constexpr int kGroupsEach = 100;
  auto pool = std::make_unique<ThreadPool>(4, "test-commit");
  std::atomic<bool> committing{false};
  std::atomic<int> overlaps{0}, commits{0};
  StoreCommitter committer(*pool, [&](std::span<const StoreItem> items) {
    if (committing.exchange(true)) ++overlaps;
    ++commits;
    std::vector<StatusOr<Stamp>> held;
    for (const StoreItem& item : items) {
      // An odd ts fails, as one item of a batch may; the others still succeed.
      held.push_back(item.reg.ts % 2 == 1 ? StatusOr<Stamp>(Status::Internal(item.token))
                                          : StatusOr<Stamp>(item.reg.stamp()));
    }
    committing = false;
    return held;
  });

  std::mutex mu;
  std::condition_variable cv;
  int answered = 0;     // GUARDED_BY(mu)
  int wrong = 0;        // GUARDED_BY(mu)
  std::vector<std::thread> threads;
  for (int s = 0; s < kSubmitters; ++s) {
    threads.emplace_back([&, s] {
      for (int g = 0; g < kGroupsEach; ++g) {
        // One to three items; ts = a number unique to (submitter, group, item).
        const uint64_t base = (uint64_t(s) * kGroupsEach + g) * 4;
        std::vector<StoreItem> items;
        for (int i = 0; i <= g % 3; ++i) {
          items.push_back(Item("t" + std::to_string(s) + "/" + std::to_string(g), base + i));
        }
        const size_t n = items.size();
        committer.Submit(std::move(items), [&, base, n](std::vector<StatusOr<Stamp>> r) {
          bool ok = r.size() == n;
          for (size_t i = 0; ok && i < n; ++i) {
            const uint64_t ts = base + i;
            ok = ts % 2 == 1 ? r[i].status().code() == StatusCode::kInternal
                             : (r[i].ok() && r[i]->ts == ts);
          }
          std::lock_guard<std::mutex> lock(mu);
          ++answered;
          if (!ok) ++wrong;
          cv.notify_all();
        });
      }
    });
  }
  for (std::thread& t : threads) t.join();
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60),
                            [&] { return answered == kSubmitters * kGroupsEach; }))
        << answered << " of " << kSubmitters * kGroupsEach << " submissions answered";
    EXPECT_EQ(wrong, 0);
  }
  pool.reset();  // drains the commit loop before the committer goes
  EXPECT_EQ(overlaps.load(), 0) << "two commits ran at once";
  EXPECT_LE(commits.load(), kSubmitters * kGroupsEach);
}

// The always-on check (common/check.h): a commit that answers fewer stores than it was given
// would hand a submitter results that belong to nobody.
TEST(StoreCommitterDeathTest, ACommitAnsweringTooFewStoresAborts) {
  CountingExecutor executor;
  StoreCommitter committer(executor, [](std::span<const StoreItem> items) {
    return std::vector<StatusOr<Stamp>>(items.size() - 1, Stamp{});
  });
  EXPECT_DEATH(committer.Submit({Item("t", 1), Item("u", 2)}, [](std::vector<StatusOr<Stamp>>) {}),
               "TS_CHECK.*a commit answered 1 of 2 stores");
}

}  // namespace
}  // namespace tokenstore
