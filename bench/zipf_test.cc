#include "bench/zipf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace tokenstore::bench {
namespace {

// The ranks follow the Zipfian law: rank 0 is drawn about 1 / zeta(n) of the time, and the
// top 1 % of a million ranks take most of the draws at theta 0.99 (about 60 %: the sum of
// 1/r^0.99 over 10,000 ranks against over 1,000,000).
TEST(ZipfianChooser, RanksFollowTheLaw) {
  const uint64_t n = 1'000'000;
  ZipfianChooser z(n, 0.99);
  std::mt19937_64 rng(7);
  const int draws = 200'000;
  int rank0 = 0, top1pct = 0;
  for (int i = 0; i < draws; ++i) {
    const uint64_t r = z.NextRank(rng);
    ASSERT_LT(r, n);
    rank0 += r == 0;
    top1pct += r < n / 100;
  }
  // zeta(1e6, 0.99) is about 15.4: rank 0 has about 6.5 % of the draws.
  EXPECT_NEAR(static_cast<double>(rank0) / draws, 1.0 / 15.4, 0.01);
  EXPECT_GT(static_cast<double>(top1pct) / draws, 0.5);
  EXPECT_LT(static_cast<double>(top1pct) / draws, 0.75);
}

// Scrambling spreads the hot ranks over the whole index space, and stays in it.
TEST(ZipfianChooser, ScrambleSpreadsHotRanks) {
  const uint64_t n = 1'000'000;
  ZipfianChooser z(n, 0.99);
  std::vector<uint64_t> hot;
  for (uint64_t r = 0; r < 100; ++r) hot.push_back(z.Scramble(r));
  for (uint64_t t : hot) EXPECT_LT(t, n);
  const auto in_first_tenth = std::count_if(hot.begin(), hot.end(), [&](uint64_t t) { return t < n / 10; });
  EXPECT_LT(in_first_tenth, 30);  // about 10 expected; unscrambled it would be 100
  std::sort(hot.begin(), hot.end());
  EXPECT_EQ(std::unique(hot.begin(), hot.end()), hot.end());  // no two hot ranks collide here
}

TEST(ZipfianChooser, OneTokenAlwaysZero) {
  ZipfianChooser z(1, 0.5);
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(z.Next(rng), 0u);
}

}  // namespace
}  // namespace tokenstore::bench
