#include "replica/timestamp_allocator.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "replica/unsafe_bug.h"
#include "storage/memory_register_store.h"

namespace tokenstore {
namespace {

TEST(TimestampAllocator, IncreasesAndReservesAheadInBlocks) {
  MemoryRegisterStore store;
  TimestampAllocator alloc(store, 10);
  EXPECT_EQ(*alloc.Next("t"), 1u);
  EXPECT_EQ(*store.GetReservedTimestamp("t"), 10u);
  for (uint64_t i = 2; i <= 10; ++i) EXPECT_EQ(*alloc.Next("t"), i);
  EXPECT_EQ(*store.GetReservedTimestamp("t"), 10u);
  EXPECT_EQ(*alloc.Next("t"), 11u);
  EXPECT_EQ(*store.GetReservedTimestamp("t"), 20u);
  EXPECT_EQ(*alloc.Next("other"), 1u);  // tokens are independent
}

TEST(TimestampAllocator, RestartSkipsEverythingReserved) {
  MemoryRegisterStore store;
  {
    TimestampAllocator alloc(store, 10);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(alloc.Next("t").ok());
  }
  TimestampAllocator again(store, 10);
  EXPECT_EQ(*again.Next("t"), 11u);
}

// The reuse-timestamp UnsafeBug really reuses: what token-sim must catch.
TEST(TimestampAllocator, UnsafeReuseIssuesThePreviousRunsTimestampsAgain) {
  MemoryRegisterStore store;
  {
    TimestampAllocator alloc(store, 10);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(alloc.Next("t").ok());
  }
  TimestampAllocator again(store, 10, /*unsafe_reuse=*/true);
  ASSERT_TRUE(again.Observe("t", 3).ok());  // ignored too
  EXPECT_EQ(*again.Next("t"), 1u);
}

TEST(UnsafeBug, NamesRoundTrip) {
  for (std::string_view name : UnsafeBugNames()) {
    ASSERT_TRUE(ParseUnsafeBug(name).has_value()) << name;
    EXPECT_EQ(UnsafeBugName(*ParseUnsafeBug(name)), name);
  }
  EXPECT_EQ(ParseUnsafeBug("reuse-timestamp"), UnsafeBug::kReuseTimestamp);
  EXPECT_FALSE(ParseUnsafeBug("no-such-bug").has_value());
}

TEST(TimestampAllocator, ObserveJumpsAboveAndIsDurable) {
  MemoryRegisterStore store;
  {
    TimestampAllocator alloc(store, 10);
    ASSERT_TRUE(alloc.Next("t").ok());
    ASSERT_TRUE(alloc.Observe("t", 500).ok());
    EXPECT_EQ(*alloc.Next("t"), 501u);
    ASSERT_TRUE(alloc.Observe("t", 3).ok());  // lower: no effect
    EXPECT_EQ(*alloc.Next("t"), 502u);
  }
  TimestampAllocator again(store, 10);
  EXPECT_GT(*again.Next("t"), 502u);
}

TEST(TimestampAllocator, ConcurrentCallersNeverShareATimestamp) {
  MemoryRegisterStore store;
  TimestampAllocator alloc(store, 7);
  std::vector<std::vector<uint64_t>> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) got[t].push_back(*alloc.Next("t"));
    });
  }
  for (auto& th : threads) th.join();
  std::set<uint64_t> all;
  for (const auto& v : got) {
    for (size_t i = 1; i < v.size(); ++i) EXPECT_LT(v[i - 1], v[i]);
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), 4000u);
  EXPECT_GE(*store.GetReservedTimestamp("t"), 4000u);
}

}  // namespace
}  // namespace tokenstore
