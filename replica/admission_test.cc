#include "replica/admission.h"

#include <gtest/gtest.h>

#include <thread>

namespace tokenstore {
namespace {

TEST(Admission, PerTokenLimitLeavesOtherTokensServed) {
  Admission a(AdmissionLimits{10, 2});
  auto t1 = a.Enter("1");
  auto t2 = a.Enter("1");
  ASSERT_TRUE(t1.ok() && t2.ok());
  auto t3 = a.Enter("1");
  ASSERT_EQ(t3.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(t3.status().message().find("token \"1\" has its limit of 2"), std::string::npos)
      << t3.status().message();
  EXPECT_TRUE(a.Enter("2").ok());  // another token is not affected
  EXPECT_EQ(a.in_flight(), 2u);    // the refused and the released places are returned
  (*t1)->Release();
  EXPECT_TRUE(a.Enter("1").ok());
}

TEST(Admission, PerNodeLimit) {
  Admission a(AdmissionLimits{2, 2});
  auto t1 = a.Enter("1");
  auto t2 = a.Enter("2");
  ASSERT_TRUE(t1.ok() && t2.ok());
  auto t3 = a.Enter("3");
  ASSERT_EQ(t3.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(t3.status().message().find("--max-inflight"), std::string::npos);
  t2->reset();  // the last reference releases too
  EXPECT_EQ(a.in_flight(), 1u);
  EXPECT_TRUE(a.Enter("3").ok());
}

TEST(Admission, ReleaseIsIdempotentAndCountersLastOnlyWhileInUse) {
  Admission a(AdmissionLimits{1, 1});
  {
    auto t = a.Enter("1");
    ASSERT_TRUE(t.ok());
    (*t)->Release();
    (*t)->Release();
    EXPECT_EQ(a.in_flight(), 0u);
  }
  EXPECT_EQ(a.in_flight(), 0u);  // the destructor did not release a second time
  EXPECT_EQ(a.tokens_in_flight(), 0u);
  // A node may keep millions of tokens: only those with operations running have a counter.
  auto t9 = a.Enter("9");
  ASSERT_TRUE(t9.ok());
  EXPECT_EQ(a.tokens_in_flight(), 1u);
  t9->reset();
  EXPECT_EQ(a.tokens_in_flight(), 0u);
}

TEST(Admission, ConcurrentEntriesNeverExceedTheLimit) {
  Admission a(AdmissionLimits{1000, 3});
  std::atomic<size_t> peak{0}, held{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 2000; ++k) {
        auto t = a.Enter("1");
        if (!t.ok()) continue;
        size_t now = ++held;
        size_t p = peak.load();
        while (now > p && !peak.compare_exchange_weak(p, now)) {
        }
        --held;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(peak.load(), 3u);
  EXPECT_GE(peak.load(), 1u);
  EXPECT_EQ(a.in_flight(), 0u);
}

}  // namespace
}  // namespace tokenstore
