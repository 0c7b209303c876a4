// The token hash engine (SPEC section 2).
//
//   H(name, x) = first 8 bytes, read big-endian, of SHA-256 over the ASCII bytes of
//                name + " " + decimal(x)
//
// MinHash() finds the minimum of H over a half-open range [begin, end) and the x where it is
// reached; ties go to the smallest x, so the result is deterministic. Large ranges are split
// over several threads. Hashing does no heap allocation and no formatting per hash.
//
// Thread-safety: every function here is safe to call concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/core_clock.h"
#include "common/status.h"

namespace tokenstore {

// H(name, x) for one x. Slow path meant for tests and single values.
uint64_t TokenHash(std::string_view name, uint64_t x);

struct HashMin {
  uint64_t value = 0;  // min of H(name, x)
  uint64_t x = 0;      // smallest x where it is reached
  friend bool operator==(const HashMin&, const HashMin&) = default;
};

// When to give up a long computation. Both are optional; the engine checks them every few
// thousand hashes, so it stops within a millisecond or so of either firing.
struct StopCondition {
  const std::atomic<bool>* cancelled = nullptr;  // stop when it becomes true
  std::optional<Clock::time_point> deadline;
  const CoreClock* clock = nullptr;  // what `deadline` is compared with; null: the steady clock
};

// A bound on the threads that hash at once across the MinHash calls that share it (a
// replica's --hash-threads). A calling thread always hashes at once, and counts while it
// does; a call adds helper threads only while fewer than `limit` threads hash, and a helper
// gives its place back, at the end of its chunk of work (2^18 hashes at most), when a calling
// thread that came since took the count over `limit`. So a lone large computation uses the
// whole budget, concurrent ones share it, and no more than `limit` threads hash at once but
// for the length of a chunk, as long as at most `limit` threads call (a replica's hash pool).
//
// Thread-safety: safe for concurrent use.
class HashThreadBudget {
 public:
  explicit HashThreadBudget(unsigned limit) : limit_(limit == 0 ? 1 : limit) {}
  HashThreadBudget(const HashThreadBudget&) = delete;
  HashThreadBudget& operator=(const HashThreadBudget&) = delete;

  unsigned limit() const { return limit_; }
  // Threads hashing now, and the most that ever hashed at once (for tests).
  unsigned busy() const { return busy_.load(); }
  unsigned peak() const { return peak_.load(); }

  // A calling thread starts hashing.
  void Enter();
  // A helper may start hashing: counted and true while fewer than limit() hash.
  bool TryEnter();
  // A thread that entered stops hashing.
  void Leave();
  // Leave() when more than limit() hash; true when it did (a helper then stops).
  bool LeaveIfOver();

 private:
  void NotePeak(unsigned busy);

  const unsigned limit_;
  std::atomic<unsigned> busy_{0};
  std::atomic<unsigned> peak_{0};
};

struct MinHashOptions {
  // Upper bound on worker threads; 0 means std::thread::hardware_concurrency().
  unsigned max_threads = 0;
  // Shared with other calls: helper threads start only while it has room. Not owned; null:
  // only max_threads bounds this call.
  HashThreadBudget* budget = nullptr;
  // Ranges smaller than this are hashed on the calling thread only.
  uint64_t parallel_threshold = uint64_t{1} << 20;
};

// Minimum of H(name, x) over x in [begin, end).
//
// Returns std::nullopt when the range is empty (begin >= end). Returns CANCELLED or
// DEADLINE_EXCEEDED when `stop` fires before the whole range is hashed.
StatusOr<std::optional<HashMin>> MinHash(std::string_view name, uint64_t begin, uint64_t end,
                                         const StopCondition& stop = {},
                                         const MinHashOptions& options = {});

// The smaller of two optional minima (ties: smaller x). Used to combine partial and the
// rest of the range into final.
std::optional<HashMin> CombineMin(const std::optional<HashMin>& a,
                                  const std::optional<HashMin>& b);

// Name of the SHA-256 implementation in use ("sha-ni" or "portable"), for benchmarks and logs.
const char* Sha256ImplementationName();

}  // namespace tokenstore
