// SHA-256 for the token hash engine (internal to hash/).
//
// The engine hashes millions of short messages that share a prefix, so besides a plain
// whole-message digest this offers the two pieces the hot loop needs: a streaming hasher to
// compress the shared prefix once (the "midstate"), and a batch function that finishes many
// already-padded tails from that midstate and returns only the first 64 bits of each digest.
//
// Two interchangeable implementations exist: a portable C++ one and one using the x86 SHA
// extensions (SHA-NI). Both are always compiled; the SHA-NI one is only used when the CPU
// reports it. Every function takes the implementation explicitly so tests and benchmarks can
// run both on the same machine.
//
// Thread-safety: all functions are safe to call concurrently; Sha256Stream is a value type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tokenstore::hash_internal {

enum class Sha256Impl { kPortable, kShaNi };

inline constexpr size_t kSha256BlockSize = 64;
inline constexpr size_t kSha256DigestSize = 32;

inline constexpr uint32_t kSha256InitialState[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

// True when the CPU has the SHA extensions (and SSE4.1, which the SHA-NI code also uses).
bool ShaNiSupported();

// The implementation the engine uses: SHA-NI when supported, unless the environment variable
// TOKENSTORE_SHA256 is "portable" (read once, at first use), which lets operators and
// benchmarks rule out the SHA-NI path without rebuilding.
Sha256Impl ActiveSha256Impl();

// `impl` if this machine can run it, else kPortable. Every entry point of the engine resolves
// its implementation through this, so asking for SHA-NI on an old CPU is safe.
Sha256Impl ResolveSha256Impl(Sha256Impl impl);

// "sha-ni" or "portable".
const char* Sha256ImplName(Sha256Impl impl);

// Runs the compression function over `num_blocks` consecutive 64-byte blocks.
// REQUIRES: impl == ResolveSha256Impl(impl).
void Sha256Compress(Sha256Impl impl, uint32_t state[8], const uint8_t* blocks, size_t num_blocks);

// For each i in [0, count): starts from `midstate`, compresses the `blocks_per_message`
// blocks at tails + i * stride, and writes the first 8 digest bytes, read big-endian, to
// out[i]. The tails must already carry the SHA-256 padding and length.
// REQUIRES: impl == ResolveSha256Impl(impl); blocks_per_message >= 1.
void Sha256TailBatch(Sha256Impl impl, const uint32_t midstate[8], const uint8_t* tails,
                     size_t stride, size_t blocks_per_message, size_t count, uint64_t* out);

// Incremental SHA-256 over a fixed buffer (no heap). Besides producing digests, it exposes
// the state after the complete blocks seen so far plus the bytes still pending, which is
// exactly what a caller needs to keep hashing different suffixes after a common prefix.
class Sha256Stream {
 public:
  explicit Sha256Stream(Sha256Impl impl);

  void Update(std::string_view data);

  // State after all complete 64-byte blocks fed so far.
  const uint32_t* state() const { return state_; }
  // Bytes fed so far that are not part of a complete block (fewer than 64).
  std::string_view pending() const { return {reinterpret_cast<const char*>(buffer_), buffered_}; }
  // Total number of bytes fed.
  uint64_t length() const { return length_; }

  // Pads, compresses the rest and writes the digest. The stream must not be used afterwards.
  void Finish(uint8_t digest[kSha256DigestSize]);

 private:
  Sha256Impl impl_;
  uint32_t state_[8];
  uint64_t length_ = 0;
  uint8_t buffer_[kSha256BlockSize];
  size_t buffered_ = 0;
};

// SHA-256 of a whole message.
void Sha256Digest(Sha256Impl impl, std::string_view data, uint8_t digest[kSha256DigestSize]);

}  // namespace tokenstore::hash_internal
