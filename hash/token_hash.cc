#include "hash/token_hash.h"

#include <algorithm>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

#include "hash/sha256.h"
#include "hash/token_hash_internal.h"

namespace tokenstore {
namespace hash_internal {
namespace {

// UINT64_MAX, and 2^64 (one past it, see TokenMessage::Increment), have 20 digits.
constexpr size_t kMaxDigits = 20;

// Room for the part of the prefix that did not fill a block (< 64 bytes), up to 20 digits
// and the 9 bytes of minimal padding: at most 92 bytes, so two blocks always suffice.
constexpr size_t kTailCapacity = 2 * kSha256BlockSize;

// How many hashes run between two looks at the StopCondition: about 0.1 ms with SHA-NI and
// at most about 1 ms on the portable path with two-block messages, which keeps the
// "stops within a millisecond or so" promise; one clock read per 2048 hashes costs
// nothing measurable.
constexpr uint64_t kStopCheckInterval = 2048;

// Messages handed to the SHA-256 code per call: amortises the call and lets the SHA-NI code
// hash messages in pairs, while the batch buffer (16 * 128 bytes) stays in L1.
constexpr size_t kBatchSize = 16;

// A thread gets at least this many hashes, or starting it costs more than it saves.
constexpr uint64_t kMinHashesPerThread = 4096;

// Work is handed out in chunks, several per thread, so a thread that is descheduled for a
// while (or a slower core) does not hold up the whole computation.
constexpr uint64_t kChunksPerThread = 8;

// At most this many hashes per chunk, so that a helper gives its place in a HashThreadBudget
// back soon (between chunks) when another computation starts: milliseconds with SHA-NI,
// about a tenth of a second on the portable code.
constexpr uint64_t kMaxChunk = uint64_t{1} << 18;

// Guards against absurd max_threads values.
constexpr unsigned kMaxThreads = 256;

// The message name + " " + decimal(x) for a fixed name and a moving x.
//
// The complete 64-byte blocks of name + " " are compressed once into midstate_, so long
// names cost nothing extra per hash. The remaining prefix bytes, the digits and the padding
// live in tail_: one block when they fit in 64 bytes (always for names up to 34 bytes,
// whatever x), else two.
// Moving to the next x only touches the digits that change.
class TokenMessage {
 public:
  TokenMessage(Sha256Impl impl, std::string_view name) {
    Sha256Stream stream(impl);
    stream.Update(name);
    stream.Update(" ");
    std::memcpy(midstate_, stream.state(), sizeof(midstate_));
    prefix_length_ = stream.length();
    const std::string_view pending = stream.pending();
    digits_offset_ = pending.size();
    std::memcpy(tail_, pending.data(), pending.size());
  }

  const uint32_t* midstate() const { return midstate_; }
  size_t num_blocks() const { return num_blocks_; }

  // Writes the padded tail for the current x (num_blocks() blocks) to dst, which has room
  // for kTailCapacity bytes.
  void CopyTo(uint8_t* dst) const {
    std::memcpy(dst, tail_, kTailCapacity);
    dst[last_digit_offset_] = static_cast<uint8_t>('0' + last_digit_);
  }

  // Formats x from scratch: once per chunk of work, not per hash.
  void SetX(uint64_t x) {
    char digits[kMaxDigits];
    size_t n = 0;
    do {
      digits[kMaxDigits - 1 - n] = static_cast<char>('0' + x % 10);
      x /= 10;
      ++n;
    } while (x != 0);
    std::memcpy(tail_ + digits_offset_, digits + kMaxDigits - n, n);
    num_digits_ = n;
    last_digit_ = static_cast<unsigned>(digits[kMaxDigits - 1] - '0');
    WritePadding();
  }

  // x -> x + 1, as decimal addition. Also valid from UINT64_MAX (giving 2^64, still 20
  // digits), which lets the scan loop advance unconditionally after the last x of a range.
  //
  // The last digit lives in a member rather than in tail_: a byte store into tail_ followed
  // by CopyTo's wide loads of the same bytes defeats store-to-load forwarding; that stall
  // cost about a sixth of the SHA-NI hash rate when measured. This way tail_ is written
  // only every tenth x.
  void Increment() {
    if (last_digit_ != 9) {
      ++last_digit_;
      return;
    }
    last_digit_ = 0;
    uint8_t* const first = tail_ + digits_offset_;
    uint8_t* p = first + num_digits_ - 1;  // the last digit's slot, which holds '0'
    while (p != first) {
      --p;
      if (*p != '9') {
        ++*p;
        return;
      }
      *p = '0';
    }
    // It was all nines: the result is 1 followed by num_digits_ zeros. This moves the
    // padding and may push the message into a second block.
    *first = '1';
    first[num_digits_] = '0';
    ++num_digits_;
    WritePadding();
  }

 private:
  // Also puts the '0' placeholder in the last digit's slot (see Increment).
  void WritePadding() {
    const size_t used = digits_offset_ + num_digits_;
    last_digit_offset_ = used - 1;
    tail_[last_digit_offset_] = '0';
    std::memset(tail_ + used, 0, kTailCapacity - used);
    tail_[used] = 0x80;
    num_blocks_ = used + 9 <= kSha256BlockSize ? 1 : 2;
    const uint64_t bit_length = (prefix_length_ + num_digits_) * 8;
    uint8_t* const length_field = tail_ + num_blocks_ * kSha256BlockSize - 8;
    for (int i = 0; i < 8; ++i) {
      length_field[i] = static_cast<uint8_t>(bit_length >> (56 - 8 * i));
    }
  }

  uint32_t midstate_[8];
  uint64_t prefix_length_ = 0;  // bytes of name + " "
  size_t digits_offset_ = 0;    // where the digits start in tail_
  size_t num_digits_ = 0;
  size_t last_digit_offset_ = 0;  // digits_offset_ + num_digits_ - 1
  unsigned last_digit_ = 0;       // the last digit of x; its slot in tail_ holds '0'
  size_t num_blocks_ = 1;
  alignas(64) uint8_t tail_[kTailCapacity] = {};
};

// Evaluates a StopCondition, plus a flag through which parallel workers tell each other to
// stop once one of them has seen the condition fire.
class StopChecker {
 public:
  StopChecker(const StopCondition& stop, const std::atomic<int>* abort_code)
      : stop_(stop), abort_code_(abort_code) {}

  // kOk to carry on, else why to stop.
  StatusCode Check() const {
    if (abort_code_ != nullptr) {
      const int code = abort_code_->load(std::memory_order_relaxed);
      if (code != 0) return static_cast<StatusCode>(code);
    }
    if (stop_.cancelled != nullptr && stop_.cancelled->load(std::memory_order_relaxed)) {
      return StatusCode::kCancelled;
    }
    if (stop_.deadline.has_value() &&
        (stop_.clock ? stop_.clock->now() : Clock::now()) >= *stop_.deadline) {
      return StatusCode::kDeadlineExceeded;
    }
    return StatusCode::kOk;
  }

 private:
  const StopCondition& stop_;
  const std::atomic<int>* abort_code_;
};

Status StopStatus(StatusCode code) {
  if (code == StatusCode::kCancelled) return Status::Cancelled("token hash computation cancelled");
  return Status::DeadlineExceeded("deadline exceeded during token hash computation");
}

// Minimum of H over [first, first + count). REQUIRES: count >= 1 and first + count does not
// wrap. Returns kOk and fills *result, or the reason the StopChecker gave for stopping.
StatusCode ScanRange(Sha256Impl impl, const TokenMessage& prototype, uint64_t first, uint64_t count,
                     const StopChecker& stop, HashMin* result) {
  TokenMessage message = prototype;
  message.SetX(first);
  alignas(64) uint8_t batch[kBatchSize][kTailCapacity];
  uint64_t hashes[kBatchSize];

  // Seeding with (UINT64_MAX, first) and replacing only on a strictly smaller value keeps the
  // smallest x among ties, including the degenerate all-UINT64_MAX case.
  uint64_t best_value = UINT64_MAX;
  uint64_t best_x = first;
  uint64_t done = 0;
  while (done < count) {
    if (const StatusCode code = stop.Check(); code != StatusCode::kOk) return code;
    const uint64_t interval_end = done + std::min(count - done, kStopCheckInterval);
    while (done < interval_end) {
      // A batch holds messages of one block count; a digit-count change that adds a block
      // ends the batch early.
      const size_t blocks = message.num_blocks();
      const size_t limit = static_cast<size_t>(std::min<uint64_t>(kBatchSize, interval_end - done));
      size_t n = 0;
      do {
        message.CopyTo(batch[n]);
        ++n;
        message.Increment();
      } while (n < limit && message.num_blocks() == blocks);
      Sha256TailBatch(impl, message.midstate(), batch[0], kTailCapacity, blocks, n, hashes);
      for (size_t i = 0; i < n; ++i) {
        if (hashes[i] < best_value) {
          best_value = hashes[i];
          best_x = first + done + i;
        }
      }
      done += n;
    }
  }
  *result = HashMin{best_value, best_x};
  return StatusCode::kOk;
}

unsigned NumThreads(uint64_t count, const MinHashOptions& options) {
  if (count < options.parallel_threshold) return 1;
  unsigned limit =
      options.max_threads != 0 ? options.max_threads : std::thread::hardware_concurrency();
  if (options.budget != nullptr) limit = std::min(limit, options.budget->limit());
  limit = std::clamp(limit, 1u, kMaxThreads);
  const uint64_t by_work = std::max<uint64_t>(1, count / kMinHashesPerThread);
  return static_cast<unsigned>(std::min<uint64_t>(limit, by_work));
}

}  // namespace

uint64_t TokenHashWith(Sha256Impl impl, std::string_view name, uint64_t x) {
  impl = ResolveSha256Impl(impl);
  TokenMessage message(impl, name);
  message.SetX(x);
  uint8_t tail[kTailCapacity];
  message.CopyTo(tail);
  uint64_t hash = 0;
  Sha256TailBatch(impl, message.midstate(), tail, kTailCapacity, message.num_blocks(), 1, &hash);
  return hash;
}

StatusOr<std::optional<HashMin>> MinHashWith(Sha256Impl impl, std::string_view name, uint64_t begin,
                                             uint64_t end, const StopCondition& stop,
                                             const MinHashOptions& options) {
  if (begin >= end) return std::optional<HashMin>();
  impl = ResolveSha256Impl(impl);
  const uint64_t count = end - begin;  // >= 1; end <= UINT64_MAX so begin + count never wraps
  const TokenMessage prototype(impl, name);
  const unsigned num_threads = NumThreads(count, options);
  HashThreadBudget* const budget = options.budget;
  // The calling thread hashes: it counts in the budget until it returns.
  if (budget != nullptr) budget->Enter();
  struct Leave {
    HashThreadBudget* budget;
    ~Leave() {
      if (budget != nullptr) budget->Leave();
    }
  } leave{budget};

  if (num_threads <= 1) {
    HashMin result;
    const StatusCode code =
        ScanRange(impl, prototype, begin, count, StopChecker(stop, nullptr), &result);
    if (code != StatusCode::kOk) return StopStatus(code);
    return std::optional<HashMin>(result);
  }

  const uint64_t chunk = std::clamp(count / (uint64_t{num_threads} * kChunksPerThread),
                                    kMinHashesPerThread, kMaxChunk);
  const uint64_t num_chunks = count / chunk + (count % chunk != 0 ? 1 : 0);
  std::atomic<uint64_t> next_chunk{0};
  std::atomic<int> abort_code{0};  // first StatusCode a worker stopped with, 0 while none
  std::vector<std::optional<HashMin>> partial(num_threads);

  // False when a helper gave its place in the budget back before the chunks ran out.
  auto work = [&](unsigned index) {
    const StopChecker checker(stop, &abort_code);
    for (;;) {
      if (index != 0 && budget != nullptr && budget->LeaveIfOver()) return false;
      // Overshoots num_chunks by at most one per thread, far from wrapping.
      const uint64_t c = next_chunk.fetch_add(1, std::memory_order_relaxed);
      if (c >= num_chunks) return true;
      const uint64_t offset = c * chunk;
      const uint64_t n = std::min(chunk, count - offset);
      HashMin chunk_min;
      const StatusCode code = ScanRange(impl, prototype, begin + offset, n, checker, &chunk_min);
      if (code != StatusCode::kOk) {
        int expected = 0;
        abort_code.compare_exchange_strong(expected, static_cast<int>(code));
        return true;
      }
      partial[index] = CombineMin(partial[index], chunk_min);
    }
  };

  std::vector<std::thread> helpers;
  helpers.reserve(num_threads - 1);
  for (unsigned i = 1; i < num_threads; ++i) {
    // The calling thread works through the whole chunk queue anyway, so the helpers that
    // did start (the budget had room, the thread could be created) suffice for the result.
    if (budget != nullptr && !budget->TryEnter()) break;
    try {
      helpers.emplace_back([&work, budget, i] {
        if (work(i) && budget != nullptr) budget->Leave();
      });
    } catch (const std::system_error&) {  // std::thread reports failure only by throwing
      if (budget != nullptr) budget->Leave();
      break;
    }
  }
  work(0);
  for (std::thread& helper : helpers) helper.join();

  if (const int code = abort_code.load(); code != 0) {
    return StopStatus(static_cast<StatusCode>(code));
  }
  // The minimum under the (value, x) order does not depend on which thread hashed which
  // chunk, so this is deterministic.
  std::optional<HashMin> result;
  for (const std::optional<HashMin>& p : partial) result = CombineMin(result, p);
  return result;
}

}  // namespace hash_internal

void HashThreadBudget::Enter() { NotePeak(busy_.fetch_add(1) + 1); }

bool HashThreadBudget::TryEnter() {
  unsigned busy = busy_.load();
  do {
    if (busy >= limit_) return false;
  } while (!busy_.compare_exchange_weak(busy, busy + 1));
  NotePeak(busy + 1);
  return true;
}

void HashThreadBudget::Leave() { busy_.fetch_sub(1); }

bool HashThreadBudget::LeaveIfOver() {
  unsigned busy = busy_.load();
  do {
    if (busy <= limit_) return false;
  } while (!busy_.compare_exchange_weak(busy, busy - 1));
  return true;
}

void HashThreadBudget::NotePeak(unsigned busy) {
  unsigned peak = peak_.load();
  while (busy > peak && !peak_.compare_exchange_weak(peak, busy)) {
  }
}

uint64_t TokenHash(std::string_view name, uint64_t x) {
  return hash_internal::TokenHashWith(hash_internal::ActiveSha256Impl(), name, x);
}

StatusOr<std::optional<HashMin>> MinHash(std::string_view name, uint64_t begin, uint64_t end,
                                         const StopCondition& stop, const MinHashOptions& options) {
  return hash_internal::MinHashWith(hash_internal::ActiveSha256Impl(), name, begin, end, stop,
                                    options);
}

std::optional<HashMin> CombineMin(const std::optional<HashMin>& a,
                                  const std::optional<HashMin>& b) {
  if (!a.has_value()) return b;
  if (!b.has_value()) return a;
  if (b->value < a->value || (b->value == a->value && b->x < a->x)) return b;
  return a;
}

const char* Sha256ImplementationName() {
  return hash_internal::Sha256ImplName(hash_internal::ActiveSha256Impl());
}

}  // namespace tokenstore
