// DeadlineWatch with real threads (label tsan): deadlines added and poked from many threads
// are each expired once, never early, and a missed wake-up shows as a hang (the watch's
// periodic wake-up is set to an hour, so only Poke can wake it in time).
#include "replica/deadline_watch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

namespace tokenstore {
namespace {

using namespace std::chrono_literals;

// A party of the watch with deadlines added from any thread. Records when each one expired.
class Party {
 public:
  explicit Party(DeadlineWatch& watch) : watch_(watch) {
    watch_.Add([this](Clock::time_point now) { return Expire(now); });
  }

  // Adds deadline number `id`, then pokes the watch as PeerBatcher does.
  void Add(int id, Clock::time_point deadline) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.emplace(deadline, id);
    }
    watch_.Poke(deadline);
  }

  // Waits (bounded: only a hang fails) until `n` deadlines expired.
  bool WaitExpired(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 60s, [&] { return expired_.size() >= n; });
  }

  // id -> (deadline, when the watch expired it); an id expired twice fails the test.
  std::map<int, std::pair<Clock::time_point, Clock::time_point>> expired() {
    std::lock_guard<std::mutex> lock(mu_);
    return expired_;
  }
  int calls() const { return calls_.load(); }

 private:
  Clock::time_point Expire(Clock::time_point now) {
    ++calls_;
    std::lock_guard<std::mutex> lock(mu_);
    while (!pending_.empty() && pending_.begin()->first <= now) {
      const auto [deadline, id] = *pending_.begin();
      pending_.erase(pending_.begin());
      EXPECT_TRUE(expired_.emplace(id, std::make_pair(deadline, now)).second) << id;
    }
    cv_.notify_all();
    return pending_.empty() ? Clock::time_point::max() : pending_.begin()->first;
  }

  DeadlineWatch& watch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<Clock::time_point, int> pending_;  // GUARDED_BY(mu_)
  std::map<int, std::pair<Clock::time_point, Clock::time_point>> expired_;  // GUARDED_BY(mu_)
  std::atomic<int> calls_{0};
};

// Catches a lost Poke (a deadline before the watch's next wake-up that does not wake it: a
// hang here, as the periodic wake-up is an hour away), a deadline expired early or twice, and
// races between Poke/Add on the callers' threads and the watch's thread (TSan).
TEST(DeadlineWatch, DeadlinesPokedFromManyThreadsExpireOnceAndNeverEarly) {
  std::optional<Party> parties[2];  // destroyed after the watch, whose thread calls them
  DeadlineWatch watch(/*max_sleep=*/1h);
  Party& a = parties[0].emplace(watch);
  Party& b = parties[1].emplace(watch);
  constexpr int kThreads = 4;
  constexpr int kEach = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::uniform_int_distribution<int> ms(0, 30);
      for (int i = 0; i < kEach; ++i) {
        Party& p = (i % 2 == 0) ? a : b;
        p.Add(t * kEach + i, Clock::now() + std::chrono::milliseconds(ms(rng)));
        if (i % 10 == 0) std::this_thread::sleep_for(1ms);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(a.WaitExpired(kThreads * kEach / 2)) << "a deadline never expired";
  ASSERT_TRUE(b.WaitExpired(kThreads * kEach / 2)) << "a deadline never expired";
  for (Party* p : {&a, &b}) {
    for (const auto& [id, times] : p->expired()) {
      EXPECT_GE(times.second, times.first) << "deadline " << id << " expired early";
    }
  }
}

// Catches an expire function that runs after Stop() returned (it would touch a party that is
// being destroyed) and a Stop that does not wake a watch sleeping for an hour (a hang).
TEST(DeadlineWatch, StopEndsTheThreadAndNoExpireRunsAfterIt) {
  std::optional<Party> party;
  auto watch = std::make_unique<DeadlineWatch>(/*max_sleep=*/1h);
  Party& p = party.emplace(*watch);
  p.Add(1, Clock::now());
  ASSERT_TRUE(p.WaitExpired(1));
  watch->Stop();
  const int calls = p.calls();
  p.Add(2, Clock::now());  // pokes a stopped watch: nothing may run
  watch.reset();
  EXPECT_EQ(p.calls(), calls);
  EXPECT_EQ(p.expired().count(2), 0u);
}

}  // namespace
}  // namespace tokenstore
