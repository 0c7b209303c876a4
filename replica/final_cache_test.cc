// FinalCache: what it answers, what it keeps, and concurrent use (label tsan).
#include "replica/final_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace tokenstore {
namespace {

std::optional<HashMin> Final(uint64_t v) { return HashMin{v, v + 1}; }
// What Get answers when it holds Final(v).
std::optional<std::optional<HashMin>> Hit(uint64_t v) { return Final(v); }

// Catches a cache that answers a stamp it never saw (for another token, or another ts).
TEST(FinalCache, AnswersOnlyTheTokenAndStampItWasGiven) {
  FinalCache cache;
  EXPECT_FALSE(cache.Get("a", Stamp{0, 1, 7}).has_value());
  cache.Put("a", Stamp{0, 1, 7}, Final(100));
  EXPECT_EQ(cache.Get("a", Stamp{0, 1, 7}), Hit(100));
  EXPECT_FALSE(cache.Get("a", Stamp{0, 2, 7}).has_value());
  EXPECT_FALSE(cache.Get("b", Stamp{0, 1, 7}).has_value());
}

// Two writer incarnations can issue the same ts for different values (the origin breaks the
// tie, common/token_value.h). Catches a cache keyed by ts alone, which answered the second
// value with the first one's final (it failed so before the cache was keyed by the stamp).
TEST(FinalCache, TheSameTsFromAnotherWriterIncarnationIsAnotherEntry) {
  FinalCache cache;
  cache.Put("a", Stamp{0, 5, /*origin=*/111}, Final(100));
  EXPECT_FALSE(cache.Get("a", Stamp{0, 5, 222}).has_value());
  cache.Put("a", Stamp{0, 5, 222}, Final(200));
  EXPECT_EQ(cache.Get("a", Stamp{0, 5, 111}), Hit(100));
  EXPECT_EQ(cache.Get("a", Stamp{0, 5, 222}), Hit(200));
}

// An empty final (std::nullopt) is still an answer: a hit, not a miss.
TEST(FinalCache, AnEmptyFinalIsAHit) {
  FinalCache cache;
  cache.Put("a", Stamp{0, 1, 1}, std::nullopt);
  const auto hit = cache.Get("a", Stamp{0, 1, 1});
  ASSERT_TRUE(hit.has_value());
  EXPECT_FALSE(hit->has_value());
}

// Catches an unbounded cache (one entry per write, forever), eviction across tokens, and
// repeated Puts of one stamp taking more than one place.
TEST(FinalCache, KeepsTheLastStampsPutPerTokenAndEachStampOnce) {
  FinalCache cache(/*per_token=*/3);
  cache.Put("other", Stamp{0, 1, 1}, Final(9));
  for (int i = 0; i < 5; ++i) cache.Put("a", Stamp{0, 1, 1}, Final(1));  // one place, not five
  cache.Put("a", Stamp{0, 2, 1}, Final(2));
  cache.Put("a", Stamp{0, 3, 1}, Final(3));
  EXPECT_EQ(cache.Get("a", Stamp{0, 1, 1}), Hit(1));
  cache.Put("a", Stamp{0, 4, 1}, Final(4));  // the fourth: the first put goes
  EXPECT_FALSE(cache.Get("a", Stamp{0, 1, 1}).has_value());
  for (uint64_t ts : {2, 3, 4}) {
    EXPECT_EQ(cache.Get("a", Stamp{0, ts, 1}), Hit(ts)) << ts;
  }
  EXPECT_EQ(cache.Get("other", Stamp{0, 1, 1}), Hit(9));
  // A repeated Put keeps the first final (a stamp's final cannot change).
  cache.Put("a", Stamp{0, 4, 1}, Final(44));
  EXPECT_EQ(cache.Get("a", Stamp{0, 4, 1}), Hit(4));
}

// Real threads (label tsan): readers and writers of a few shared tokens. Catches races on the
// map and the per-token lists, and a hit that returns another stamp's final.
TEST(FinalCache, ConcurrentPutsAndGetsAnswerEachStampWithItsOwnFinal) {
  FinalCache cache(/*per_token=*/2);
  std::atomic<int> wrong{0}, hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; i < 2000; ++i) {
        const std::string token = "t" + std::to_string(i % 3);
        const Stamp stamp{i % 16, uint64_t(t % 2) + 1};
        const uint64_t value = stamp.ts * 10 + stamp.origin;
        if ((i + t) % 2 == 0) cache.Put(token, stamp, Final(value));
        if (auto got = cache.Get(token, stamp)) {
          ++hits;
          if (*got != Final(value)) ++wrong;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(hits.load(), 0);
}

}  // namespace
}  // namespace tokenstore
