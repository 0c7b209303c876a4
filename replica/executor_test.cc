// ThreadPool with real threads (these run under ThreadSanitizer, label tsan): tasks from many
// submitters all run, on the pool's workers, and the destructor runs what is still queued.
#include "replica/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace tokenstore {
namespace {

using namespace std::chrono_literals;

// Catches a lost or doubled task, or a data race between Submit and the workers (TSan).
TEST(ThreadPool, RunsEveryTaskFromConcurrentSubmittersOnItsWorkers) {
  constexpr int kSubmitters = 4;
  constexpr int kTasksEach = 500;
  std::mutex mu;
  std::multiset<int> ran;            // GUARDED_BY(mu)
  std::set<std::thread::id> workers;  // GUARDED_BY(mu)
  std::set<std::thread::id> submitters;
  {
    ThreadPool pool(3, "test-pool");
    std::vector<std::thread> threads;
    for (int s = 0; s < kSubmitters; ++s) {
      threads.emplace_back([&, s] {
        for (int i = 0; i < kTasksEach; ++i) {
          pool.Submit([&, n = s * kTasksEach + i] {
            std::lock_guard<std::mutex> lock(mu);
            ran.insert(n);
            workers.insert(std::this_thread::get_id());
          });
        }
      });
    }
    for (std::thread& t : threads) {
      submitters.insert(t.get_id());
      t.join();
    }
  }  // the destructor finishes the queue
  ASSERT_EQ(ran.size(), size_t{kSubmitters * kTasksEach});
  for (int n = 0; n < kSubmitters * kTasksEach; ++n) EXPECT_EQ(ran.count(n), 1u) << n;
  EXPECT_LE(workers.size(), 3u);
  for (const std::thread::id& w : workers) EXPECT_EQ(submitters.count(w), 0u);
}

// Catches a destructor that drops queued tasks or joins before they ran: every worker is held
// busy while more tasks queue up, and the destructor starts before any of them could run.
TEST(ThreadPool, DestructorRunsTheQueuedTasksIncludingTasksTheySubmit) {
  std::atomic<int> ran{0};
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;  // GUARDED_BY(mu)
  int blocked = 0;       // GUARDED_BY(mu)
  std::thread releaser;
  {
    ThreadPool pool(2, "test-pool");
    for (int i = 0; i < 2; ++i) {
      pool.Submit([&] {
        std::unique_lock<std::mutex> lock(mu);
        ++blocked;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
      });
    }
    {
      std::unique_lock<std::mutex> lock(mu);
      ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return blocked == 2; }));
    }
    for (int i = 0; i < 10; ++i) {
      pool.Submit([&] {
        ++ran;
        pool.Submit([&] { ++ran; });  // a task's follow-up: the committer does this
      });
    }
    releaser = std::thread([&] {
      std::this_thread::sleep_for(10ms);  // lets the destructor begin first (not required)
      std::lock_guard<std::mutex> lock(mu);
      release = true;
      cv.notify_all();
    });
  }
  releaser.join();
  EXPECT_EQ(ran.load(), 20);
}

}  // namespace
}  // namespace tokenstore
