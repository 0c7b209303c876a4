#include "hash/token_hash.h"

#include <openssl/sha.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "hash/sha256.h"
#include "hash/token_hash_internal.h"

namespace tokenstore {
namespace {

using hash_internal::MinHashWith;
using hash_internal::Sha256Impl;
using hash_internal::TokenHashWith;

constexpr uint64_t kMax = UINT64_MAX;

// Both implementations; on a CPU without SHA-NI the second one silently runs the portable
// code (ResolveSha256Impl), so the tests stay meaningful there too.
constexpr Sha256Impl kImpls[] = {Sha256Impl::kPortable, Sha256Impl::kShaNi};

// The spec written as directly as possible, on an independent SHA-256 (OpenSSL).
uint64_t ReferenceHash(std::string_view name, uint64_t x) {
  const std::string message = std::string(name) + " " + std::to_string(x);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest);
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | digest[i];
  return value;
}

std::optional<HashMin> ReferenceMin(std::string_view name, uint64_t begin, uint64_t end) {
  std::optional<HashMin> best;
  for (uint64_t x = begin; x < end; ++x) {  // x < end <= UINT64_MAX: ++x never wraps
    const uint64_t h = ReferenceHash(name, x);
    if (!best.has_value() || h < best->value) best = HashMin{h, x};
  }
  return best;
}

std::string RandomName(std::mt19937_64& rng, size_t length) {
  std::uniform_int_distribution<int> printable(0x20, 0x7e);
  std::string name(length, ' ');
  for (char& c : name) c = static_cast<char>(printable(rng));
  return name;
}

MinHashOptions SingleThread() {
  MinHashOptions options;
  options.max_threads = 1;
  return options;
}

std::optional<HashMin> MustMinHash(Sha256Impl impl, std::string_view name, uint64_t begin,
                                   uint64_t end, const MinHashOptions& options = {}) {
  StatusOr<std::optional<HashMin>> result = MinHashWith(impl, name, begin, end, {}, options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : std::nullopt;
}

// --- SHA-256 itself -------------------------------------------------------------------

TEST(Sha256Test, KnownAnswers) {
  struct Vector {
    std::string message;
    const char* hex;
  };
  const Vector vectors[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {std::string(1000000, 'a'),
       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
  for (Sha256Impl impl : kImpls) {
    for (const Vector& v : vectors) {
      uint8_t digest[hash_internal::kSha256DigestSize];
      hash_internal::Sha256Digest(impl, v.message, digest);
      char hex[65];
      for (int i = 0; i < 32; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
      EXPECT_STREQ(hex, v.hex) << hash_internal::Sha256ImplName(impl) << " length "
                               << v.message.size();
    }
  }
}

TEST(Sha256Test, MatchesOpenSslForEveryLengthUpTo300) {
  std::mt19937_64 rng(7);
  for (size_t length = 0; length <= 300; ++length) {
    const std::string message = RandomName(rng, length);
    unsigned char expected[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(message.data()), message.size(), expected);
    for (Sha256Impl impl : kImpls) {
      uint8_t digest[hash_internal::kSha256DigestSize];
      hash_internal::Sha256Digest(impl, message, digest);
      EXPECT_EQ(0, std::memcmp(digest, expected, sizeof(expected)))
          << hash_internal::Sha256ImplName(impl) << " length " << length;
    }
  }
}

TEST(Sha256Test, ImplementationName) {
  const std::string name = Sha256ImplementationName();
  EXPECT_TRUE(name == "sha-ni" || name == "portable") << name;
  if (!hash_internal::ShaNiSupported()) {
    EXPECT_EQ(name, "portable");
  }
}

// --- H(name, x) -----------------------------------------------------------------------

TEST(TokenHashTest, MatchesOpenSslOnSmallRanges) {
  // Names around the one-block limit (34 bytes), the 64-byte block size and beyond.
  const std::string names[] = {"",
                               "abc",
                               "edge",
                               std::string(33, 'n'),
                               std::string(34, 'n'),
                               std::string(35, 'n'),
                               std::string(55, 'n'),
                               std::string(63, 'n'),
                               std::string(64, 'n'),
                               std::string(127, 'n'),
                               std::string(200, 'n')};
  const uint64_t special[] = {9,
                              10,
                              99,
                              100,
                              999999,
                              1000000,
                              uint64_t{1} << 32,
                              9999999999999999999u,
                              10000000000000000000u,
                              kMax - 1,
                              kMax};
  for (const std::string& name : names) {
    for (Sha256Impl impl : kImpls) {
      for (uint64_t x = 0; x <= 120; ++x) {
        ASSERT_EQ(TokenHashWith(impl, name, x), ReferenceHash(name, x))
            << "name length " << name.size() << " x " << x;
      }
      for (uint64_t x : special) {
        ASSERT_EQ(TokenHashWith(impl, name, x), ReferenceHash(name, x))
            << "name length " << name.size() << " x " << x;
      }
    }
    EXPECT_EQ(TokenHash(name, 12345), ReferenceHash(name, 12345));
  }
}

// --- MinHash: spec vectors ------------------------------------------------------------

TEST(MinHashTest, ReferenceVectorPartial) {
  // SPEC reference: name "abc", low 5, mid 25 -> partial = 902613196918738813 (at x = 15).
  for (Sha256Impl impl : kImpls) {
    EXPECT_EQ(MustMinHash(impl, "abc", 5, 25), (HashMin{902613196918738813u, 15}));
  }
  StatusOr<std::optional<HashMin>> partial = MinHash("abc", 5, 25);
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(*partial, (HashMin{902613196918738813u, 15}));
}

TEST(MinHashTest, ReferenceVectorFinal) {
  // Derived independently of this code base:
  //   $ python3 -c "import hashlib; h=lambda x: int.from_bytes(hashlib.sha256(b'abc %d' % x)
  //       .digest()[:8], 'big'); print(min((h(x), x) for x in range(5, 100)))"
  //   (60570345165277511, 70)
  const HashMin kFinal{60570345165277511u, 70};
  for (Sha256Impl impl : kImpls) {
    EXPECT_EQ(MustMinHash(impl, "abc", 5, 100), kFinal);
    // final = partial combined with the rest of the range, the way the replica computes it.
    EXPECT_EQ(CombineMin(MustMinHash(impl, "abc", 5, 25), MustMinHash(impl, "abc", 25, 100)),
              kFinal);
  }
  EXPECT_EQ(ReferenceMin("abc", 5, 100), kFinal);
}

// --- MinHash vs the plain reference ---------------------------------------------------

TEST(MinHashTest, DigitCountBoundaries) {
  struct Range {
    uint64_t begin, end;
  };
  const Range ranges[] = {
      {0, 12},
      {95, 105},
      {995, 1005},
      {999995, 1000005},
      {9999999995, 10000000005},
      {9999999999999999990u, 10000000000000000010u},  // 19 -> 20 digits
      {kMax - 20, kMax},
  };
  // Name lengths 0..130 move the digits across the block boundary, so growing by one digit
  // also switches the tail from one block to two for some of them.
  for (size_t length = 0; length <= 130; ++length) {
    const std::string name(length, static_cast<char>('a' + length % 26));
    for (const Range& r : ranges) {
      const std::optional<HashMin> expected = ReferenceMin(name, r.begin, r.end);
      for (Sha256Impl impl : kImpls) {
        ASSERT_EQ(MustMinHash(impl, name, r.begin, r.end), expected)
            << hash_internal::Sha256ImplName(impl) << " name length " << length << " [" << r.begin
            << ", " << r.end << ")";
      }
    }
  }
}

TEST(MinHashTest, RandomizedAgainstReference) {
  std::mt19937_64 rng(20240601);
  std::uniform_int_distribution<size_t> name_length(0, 200);
  std::uniform_int_distribution<uint64_t> range_length(1, 400);
  std::uniform_int_distribution<int> kind(0, 4);
  std::uniform_int_distribution<int> power(1, 19);
  uint64_t powers_of_ten[20];
  powers_of_ten[0] = 1;
  for (int i = 1; i < 20; ++i) powers_of_ten[i] = powers_of_ten[i - 1] * 10;

  for (int iteration = 0; iteration < 300; ++iteration) {
    const std::string name = RandomName(rng, name_length(rng));
    const uint64_t length = range_length(rng);
    uint64_t begin = 0;
    switch (kind(rng)) {
      case 0:  // small numbers
        begin = rng() % 1000;
        break;
      case 1: {  // straddling a power of ten
        const uint64_t p = powers_of_ten[power(rng)];
        begin = p - std::min<uint64_t>(p, 1 + rng() % length);
        break;
      }
      case 2:  // ending at or just below UINT64_MAX
        begin = kMax - length - rng() % 3;
        break;
      default:  // anywhere
        begin = rng() % (kMax - length);
        break;
    }
    const uint64_t end = begin + length;
    const std::optional<HashMin> expected = ReferenceMin(name, begin, end);
    ASSERT_TRUE(expected.has_value());
    MinHashOptions options;
    if (iteration % 3 == 0) {
      // Force the parallel path even on these small ranges.
      options.parallel_threshold = 0;
      options.max_threads = 3;
    }
    for (Sha256Impl impl : kImpls) {
      ASSERT_EQ(MustMinHash(impl, name, begin, end, options), expected)
          << hash_internal::Sha256ImplName(impl) << " iteration " << iteration << " name length "
          << name.size() << " [" << begin << ", " << end << ")";
    }
  }
}

TEST(MinHashTest, PortableMatchesShaNi) {
  if (!hash_internal::ShaNiSupported()) GTEST_SKIP() << "CPU has no SHA extensions";
  std::mt19937_64 rng(99);
  for (size_t length : {0, 3, 20, 34, 35, 50, 63, 64, 100, 190}) {
    const std::string name = RandomName(rng, length);
    const uint64_t begin = rng() % 1000000000000u;
    const uint64_t end = begin + 100000;
    const std::optional<HashMin> portable =
        MustMinHash(Sha256Impl::kPortable, name, begin, end, SingleThread());
    const std::optional<HashMin> sha_ni =
        MustMinHash(Sha256Impl::kShaNi, name, begin, end, SingleThread());
    ASSERT_TRUE(portable.has_value());
    EXPECT_EQ(portable, sha_ni) << "name length " << length;
    for (uint64_t x = begin; x < begin + 1000; ++x) {
      ASSERT_EQ(TokenHashWith(Sha256Impl::kPortable, name, x),
                TokenHashWith(Sha256Impl::kShaNi, name, x))
          << "name length " << length << " x " << x;
    }
  }
}

TEST(MinHashTest, ParallelMatchesSingleThread) {
  const uint64_t begin = 123456789;
  const uint64_t end = begin + 3 * (uint64_t{1} << 20);  // above the default threshold
  const std::optional<HashMin> single =
      MustMinHash(hash_internal::ActiveSha256Impl(), "token", begin, end, SingleThread());
  ASSERT_TRUE(single.has_value());
  // Default options: hardware_concurrency threads.
  StatusOr<std::optional<HashMin>> by_default = MinHash("token", begin, end);
  ASSERT_TRUE(by_default.ok());
  EXPECT_EQ(*by_default, single);
  for (unsigned threads : {2u, 3u, 8u}) {
    MinHashOptions options;
    options.max_threads = threads;
    EXPECT_EQ(MustMinHash(hash_internal::ActiveSha256Impl(), "token", begin, end, options), single)
        << threads << " threads";
  }
}

// --- MinHash edge cases ---------------------------------------------------------------

TEST(MinHashTest, EmptyRangeIsNullopt) {
  for (Sha256Impl impl : kImpls) {
    EXPECT_EQ(MustMinHash(impl, "abc", 5, 5), std::nullopt);
    EXPECT_EQ(MustMinHash(impl, "abc", 25, 5), std::nullopt);
    EXPECT_EQ(MustMinHash(impl, "abc", 0, 0), std::nullopt);
    EXPECT_EQ(MustMinHash(impl, "abc", kMax, kMax), std::nullopt);
  }
}

TEST(MinHashTest, OneElement) {
  for (Sha256Impl impl : kImpls) {
    for (uint64_t x : {uint64_t{0}, uint64_t{7}, uint64_t{9}, uint64_t{99}, kMax - 1}) {
      EXPECT_EQ(MustMinHash(impl, "abc", x, x + 1), (HashMin{ReferenceHash("abc", x), x}))
          << "x " << x;
    }
  }
}

TEST(MinHashTest, RangeEndingAtUint64Max) {
  const std::optional<HashMin> expected = ReferenceMin("abc", kMax - 100000, kMax);
  ASSERT_TRUE(expected.has_value());
  for (Sha256Impl impl : kImpls) {
    EXPECT_EQ(MustMinHash(impl, "abc", kMax - 100000, kMax, SingleThread()), expected);
    MinHashOptions parallel;
    parallel.parallel_threshold = 0;
    parallel.max_threads = 4;
    EXPECT_EQ(MustMinHash(impl, "abc", kMax - 100000, kMax, parallel), expected);
  }
}

TEST(MinHashTest, ResultIsSmallestXAndCombineBreaksTiesOnX) {
  const HashMin low_x{5, 10};
  const HashMin high_x{5, 20};
  EXPECT_EQ(CombineMin(low_x, high_x), low_x);
  EXPECT_EQ(CombineMin(high_x, low_x), low_x);
  EXPECT_EQ(CombineMin(HashMin{4, 30}, low_x), (HashMin{4, 30}));
  EXPECT_EQ(CombineMin(std::nullopt, high_x), high_x);
  EXPECT_EQ(CombineMin(high_x, std::nullopt), high_x);
  EXPECT_EQ(CombineMin(std::nullopt, std::nullopt), std::nullopt);

  // The reported x is where the minimum is reached; no other x in the range reaches it.
  const std::optional<HashMin> m = MustMinHash(hash_internal::ActiveSha256Impl(), "ties", 0, 5000);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(TokenHash("ties", m->x), m->value);
  for (uint64_t x = 0; x < 5000; ++x) {
    if (x < m->x) {
      EXPECT_GT(TokenHash("ties", x), m->value);
    } else {
      EXPECT_GE(TokenHash("ties", x), m->value);
    }
  }
}

// --- HashThreadBudget: --hash-threads bounds the hashing threads of all calls together --

MinHashOptions Budgeted(HashThreadBudget* budget) {
  MinHashOptions options;
  options.parallel_threshold = 0;  // parallel even on the small ranges of these tests
  options.max_threads = 8;
  options.budget = budget;
  return options;
}

// Catches a call that ignores the budget (no helper counted: the peak stays 1) or starts
// more helpers than it allows, and a budget left with threads counted after the call.
TEST(HashThreadBudgetTest, ALoneCallUsesTheBudgetAndGivesItBack) {
  const std::optional<HashMin> expected =
      MustMinHash(hash_internal::ActiveSha256Impl(), "budget", 0, 1 << 18, SingleThread());
  HashThreadBudget budget(3);
  EXPECT_EQ(MinHash("budget", 0, 1 << 18, {}, Budgeted(&budget)).value(), expected);
  EXPECT_GE(budget.peak(), 2u) << "no helper thread was counted";
  EXPECT_LE(budget.peak(), 3u);
  EXPECT_EQ(budget.busy(), 0u);
}

// Concurrent calls sharing a budget each get the right minimum and give every place back.
TEST(HashThreadBudgetTest, ConcurrentCallsShareTheBudget) {
  const std::optional<HashMin> expected =
      MustMinHash(hash_internal::ActiveSha256Impl(), "shared", 0, 1 << 17, SingleThread());
  HashThreadBudget budget(2);
  std::vector<std::thread> callers;
  std::atomic<int> wrong{0};
  for (int i = 0; i < 2; ++i) {
    callers.emplace_back([&] {
      for (int k = 0; k < 4; ++k) {
        if (MinHash("shared", 0, 1 << 17, {}, Budgeted(&budget)).value() != expected) ++wrong;
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(budget.busy(), 0u);
}

// Waits (bounded only against a hang) until `done` holds.
bool Eventually(const std::function<bool()>& done) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// A computation that holds the whole budget with a helper gives the helper's place to one
// that starts after it, so the two hash on no more threads than the budget allows. Catches
// helpers that keep their place (before the budget, every call hashed on a thread per core
// whatever --hash-threads said). Ranges no machine finishes; both are cancelled at the end.
TEST(HashThreadBudgetTest, AHelperGivesItsPlaceToACallThatStartsLater) {
  HashThreadBudget budget(2);
  std::atomic<bool> cancelled{false};
  StopCondition stop;
  stop.cancelled = &cancelled;
  std::vector<std::thread> callers;
  std::atomic<int> stopped{0};
  auto call = [&] {
    StatusOr<std::optional<HashMin>> r =
        MinHash("long", 0, uint64_t{1} << 50, stop, Budgeted(&budget));
    if (r.status().code() == StatusCode::kCancelled) ++stopped;
  };
  callers.emplace_back(call);
  ASSERT_TRUE(Eventually([&] { return budget.busy() == 2; })) << "the first call took no helper";
  callers.emplace_back(call);
  ASSERT_TRUE(Eventually([&] { return budget.peak() == 3; })) << "the second call never started";
  EXPECT_TRUE(Eventually([&] { return budget.busy() == 2; }))
      << "the first call's helper kept its place";
  cancelled = true;
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(stopped.load(), 2);
  EXPECT_EQ(budget.busy(), 0u);
}

// A call never waits for room: with the budget taken, it hashes alone on its own thread.
TEST(HashThreadBudgetTest, AFullBudgetLeavesTheCallerHashingAlone) {
  const std::optional<HashMin> expected =
      MustMinHash(hash_internal::ActiveSha256Impl(), "full", 0, 1 << 16, SingleThread());
  HashThreadBudget budget(2);
  budget.Enter();
  budget.Enter();
  EXPECT_FALSE(budget.TryEnter());
  EXPECT_EQ(MinHash("full", 0, 1 << 16, {}, Budgeted(&budget)).value(), expected);
  EXPECT_EQ(budget.peak(), 3u) << "the caller only, no helper";
  budget.Leave();
  EXPECT_TRUE(budget.TryEnter());
}

// --- MinHash stop conditions ----------------------------------------------------------

MinHashOptions ManyThreads() {
  MinHashOptions options;
  options.max_threads = 4;
  return options;
}

TEST(MinHashStopTest, CancelledBeforehand) {
  const std::atomic<bool> cancelled{true};
  StopCondition stop;
  stop.cancelled = &cancelled;
  for (const MinHashOptions& options : {SingleThread(), ManyThreads()}) {
    StatusOr<std::optional<HashMin>> small = MinHash("abc", 5, 25, stop, options);
    EXPECT_EQ(small.status().code(), StatusCode::kCancelled);
    StatusOr<std::optional<HashMin>> large = MinHash("abc", 0, uint64_t{1} << 40, stop, options);
    EXPECT_EQ(large.status().code(), StatusCode::kCancelled);
  }
}

TEST(MinHashStopTest, NotCancelledFlagLetsItFinish) {
  const std::atomic<bool> cancelled{false};
  StopCondition stop;
  stop.cancelled = &cancelled;
  stop.deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
  StatusOr<std::optional<HashMin>> result = MinHash("abc", 5, 25, stop);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, (HashMin{902613196918738813u, 15}));
}

TEST(MinHashStopTest, PastDeadline) {
  StopCondition stop;
  stop.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  for (const MinHashOptions& options : {SingleThread(), ManyThreads()}) {
    StatusOr<std::optional<HashMin>> result = MinHash("abc", 0, uint64_t{1} << 30, stop, options);
    EXPECT_EQ(result.status().code(), StatusCode::kDeadlineExceeded);
  }
}

TEST(MinHashStopTest, DeadlineFiresDuringHugeRange) {
  // 2^40 hashes would take hours; the deadline must stop every worker. Only the status is
  // asserted (timing on a loaded CI machine is not), but the call has to return.
  for (const MinHashOptions& options : {SingleThread(), MinHashOptions{}, ManyThreads()}) {
    StopCondition stop;
    stop.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
    StatusOr<std::optional<HashMin>> result =
        MinHash("abc", 1000, 1000 + (uint64_t{1} << 40), stop, options);
    EXPECT_EQ(result.status().code(), StatusCode::kDeadlineExceeded);
  }
  // Same near the top of the range, on the portable path.
  StopCondition stop;
  stop.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  StatusOr<std::optional<HashMin>> result = MinHashWith(
      Sha256Impl::kPortable, "abc", kMax - (uint64_t{1} << 40), kMax, stop, ManyThreads());
  EXPECT_EQ(result.status().code(), StatusCode::kDeadlineExceeded);
}

TEST(MinHashStopTest, CancelDuringHugeRange) {
  for (const MinHashOptions& options : {SingleThread(), ManyThreads()}) {
    std::atomic<bool> cancelled{false};
    StopCondition stop;
    stop.cancelled = &cancelled;
    std::thread canceller([&cancelled] {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      cancelled.store(true);
    });
    StatusOr<std::optional<HashMin>> result = MinHash("abc", 0, uint64_t{1} << 40, stop, options);
    canceller.join();
    EXPECT_EQ(result.status().code(), StatusCode::kCancelled);
  }
}

}  // namespace
}  // namespace tokenstore
