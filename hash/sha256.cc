#include "hash/sha256.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TOKENSTORE_HAVE_SHA_NI 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define TOKENSTORE_HAVE_SHA_NI 0
#endif

namespace tokenstore::hash_internal {
namespace {

alignas(64) constexpr uint32_t kRoundConstants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// ---------------------------------------------------------------------------------------
// Portable implementation.

inline uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

inline uint32_t LoadBigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

inline void StoreBigEndian32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// One block, FIPS 180-4 section 6.2.2. The message schedule is kept as a 16-word ring so it
// stays in registers; the loops are fully unrolled by the compiler at -O2 and above.
inline void PortableCompressBlock(uint32_t state[8], const uint8_t* block) {
  uint32_t w[16];
  for (int i = 0; i < 16; ++i) w[i] = LoadBigEndian32(block + 4 * i);

  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  uint32_t e = state[4], f = state[5], g = state[6], h = state[7];

#pragma GCC unroll 64
  for (int i = 0; i < 64; ++i) {
    if (i >= 16) {
      const uint32_t w15 = w[(i - 15) & 15];
      const uint32_t w2 = w[(i - 2) & 15];
      const uint32_t s0 = Rotr(w15, 7) ^ Rotr(w15, 18) ^ (w15 >> 3);
      const uint32_t s1 = Rotr(w2, 17) ^ Rotr(w2, 19) ^ (w2 >> 10);
      w[i & 15] += s0 + w[(i - 7) & 15] + s1;
    }
    const uint32_t sum1 = Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25);
    const uint32_t ch = (e & f) ^ (~e & g);
    const uint32_t t1 = h + sum1 + ch + kRoundConstants[i] + w[i & 15];
    const uint32_t sum0 = Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22);
    const uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
    const uint32_t t2 = sum0 + maj;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }

  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
  state[4] += e;
  state[5] += f;
  state[6] += g;
  state[7] += h;
}

void PortableCompress(uint32_t state[8], const uint8_t* blocks, size_t num_blocks) {
  for (size_t i = 0; i < num_blocks; ++i) {
    PortableCompressBlock(state, blocks + i * kSha256BlockSize);
  }
}

void PortableTailBatch(const uint32_t midstate[8], const uint8_t* tails, size_t stride,
                       size_t blocks_per_message, size_t count, uint64_t* out) {
  for (size_t i = 0; i < count; ++i) {
    uint32_t state[8];
    std::memcpy(state, midstate, sizeof(state));
    PortableCompress(state, tails + i * stride, blocks_per_message);
    out[i] = (uint64_t{state[0]} << 32) | state[1];
  }
}

// ---------------------------------------------------------------------------------------
// SHA-NI implementation.
//
// The SHA extensions keep the eight working variables in two registers, ABEF and CDGH
// (lane 3 down to lane 0: A B E F and C D G H). sha256rnds2 does two rounds, and each one
// depends on the previous, so a single message is bound by its latency; hashing independent
// messages in lockstep lets the unit overlap them, which is why the batch function works on
// groups of kShaNiLanes messages.

#if TOKENSTORE_HAVE_SHA_NI

#define TOKENSTORE_SHA_TARGET __attribute__((target("sha,sse4.1")))
#define TOKENSTORE_SHA_INLINE __attribute__((target("sha,sse4.1"), always_inline)) inline

// Standard-order state (A..H) to the ABEF/CDGH register pair.
TOKENSTORE_SHA_INLINE void ShaNiLoadState(const uint32_t state[8], __m128i* abef, __m128i* cdgh) {
  __m128i dcba = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[0]));
  __m128i hgfe = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[4]));
  const __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
  const __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
  *abef = _mm_alignr_epi8(cdab, efgh, 8);
  *cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
}

TOKENSTORE_SHA_INLINE void ShaNiStoreState(__m128i abef, __m128i cdgh, uint32_t state[8]) {
  const __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
  const __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
  const __m128i dcba = _mm_blend_epi16(feba, dchg, 0xF0);
  const __m128i hgfe = _mm_alignr_epi8(dchg, feba, 8);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&state[0]), dcba);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&state[4]), hgfe);
}

// The first 8 digest bytes as a big-endian integer are A:B, the upper half of ABEF.
TOKENSTORE_SHA_INLINE uint64_t ShaNiPrefix64(__m128i abef) {
  return static_cast<uint64_t>(_mm_extract_epi64(abef, 1));
}

// Compresses one block per lane, all lanes in lockstep so their latencies overlap.
template <int kLanes>
TOKENSTORE_SHA_INLINE void ShaNiCompressLanes(__m128i abef[kLanes], __m128i cdgh[kLanes],
                                              const uint8_t* const blocks[kLanes]) {
  const __m128i kByteSwap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i abef_save[kLanes];
  __m128i cdgh_save[kLanes];
  // w[l][q & 3] holds schedule words 4q..4q+3 of lane l; a ring of four quads suffices.
  __m128i w[kLanes][4];
  for (int l = 0; l < kLanes; ++l) {
    abef_save[l] = abef[l];
    cdgh_save[l] = cdgh[l];
    for (int q = 0; q < 4; ++q) {
      w[l][q] = _mm_shuffle_epi8(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks[l] + 16 * q)), kByteSwap);
    }
  }

#pragma GCC unroll 16
  for (int q = 0; q < 16; ++q) {
    const __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(&kRoundConstants[4 * q]));
#pragma GCC unroll 4
    for (int l = 0; l < kLanes; ++l) {
      if (q >= 4) {
        // W[q] = msg2(msg1(W[q-4], W[q-3]) + (words 4q-7..4q-4), W[q-1]).
        __m128i t = _mm_sha256msg1_epu32(w[l][q & 3], w[l][(q + 1) & 3]);
        t = _mm_add_epi32(t, _mm_alignr_epi8(w[l][(q + 3) & 3], w[l][(q + 2) & 3], 4));
        w[l][q & 3] = _mm_sha256msg2_epu32(t, w[l][(q + 3) & 3]);
      }
      const __m128i wk = _mm_add_epi32(w[l][q & 3], k);
      cdgh[l] = _mm_sha256rnds2_epu32(cdgh[l], abef[l], wk);
      abef[l] = _mm_sha256rnds2_epu32(abef[l], cdgh[l], _mm_shuffle_epi32(wk, 0x0E));
    }
  }

  for (int l = 0; l < kLanes; ++l) {
    abef[l] = _mm_add_epi32(abef[l], abef_save[l]);
    cdgh[l] = _mm_add_epi32(cdgh[l], cdgh_save[l]);
  }
}

TOKENSTORE_SHA_TARGET void ShaNiCompress(uint32_t state[8], const uint8_t* blocks,
                                         size_t num_blocks) {
  __m128i abef[1], cdgh[1];
  ShaNiLoadState(state, &abef[0], &cdgh[0]);
  for (size_t i = 0; i < num_blocks; ++i) {
    const uint8_t* lane_blocks[1] = {blocks + i * kSha256BlockSize};
    ShaNiCompressLanes<1>(abef, cdgh, lane_blocks);
  }
  ShaNiStoreState(abef[0], cdgh[0], state);
}

// Messages hashed in lockstep. Measured on the development machine (sha256rnds2: latency 4
// cycles, one issued every 3 cycles), 2 lanes beat 1 by about 8%; 3 and 4 lanes were no
// faster, since the SHA unit is then saturated and the extra state spills to the stack.
constexpr int kShaNiLanes = 2;

TOKENSTORE_SHA_TARGET void ShaNiTailBatch(const uint32_t midstate[8], const uint8_t* tails,
                                          size_t stride, size_t blocks_per_message, size_t count,
                                          uint64_t* out) {
  __m128i mid_abef, mid_cdgh;
  ShaNiLoadState(midstate, &mid_abef, &mid_cdgh);

  size_t i = 0;
  for (; i + kShaNiLanes <= count; i += kShaNiLanes) {
    __m128i abef[kShaNiLanes];
    __m128i cdgh[kShaNiLanes];
    for (int l = 0; l < kShaNiLanes; ++l) {
      abef[l] = mid_abef;
      cdgh[l] = mid_cdgh;
    }
    const uint8_t* const first_message = tails + i * stride;
    for (size_t b = 0; b < blocks_per_message; ++b) {
      const uint8_t* lane_blocks[kShaNiLanes];
      for (int l = 0; l < kShaNiLanes; ++l) {
        lane_blocks[l] = first_message + l * stride + b * kSha256BlockSize;
      }
      ShaNiCompressLanes<kShaNiLanes>(abef, cdgh, lane_blocks);
    }
    for (int l = 0; l < kShaNiLanes; ++l) out[i + l] = ShaNiPrefix64(abef[l]);
  }
  for (; i < count; ++i) {
    __m128i abef[1] = {mid_abef};
    __m128i cdgh[1] = {mid_cdgh};
    const uint8_t* message = tails + i * stride;
    for (size_t b = 0; b < blocks_per_message; ++b) {
      const uint8_t* lane_blocks[1] = {message + b * kSha256BlockSize};
      ShaNiCompressLanes<1>(abef, cdgh, lane_blocks);
    }
    out[i] = ShaNiPrefix64(abef[0]);
  }
}

#endif  // TOKENSTORE_HAVE_SHA_NI

bool DetectShaNi() {
#if TOKENSTORE_HAVE_SHA_NI
  // CPUID rather than __builtin_cpu_supports("sha"), which clang 14 does not know.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  const bool sse41 = (ecx & bit_SSE4_1) != 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const bool sha = (ebx & bit_SHA) != 0;
  return sha && sse41;
#else
  return false;
#endif
}

}  // namespace

bool ShaNiSupported() {
  static const bool kSupported = DetectShaNi();
  return kSupported;
}

Sha256Impl ResolveSha256Impl(Sha256Impl impl) {
  return impl == Sha256Impl::kShaNi && ShaNiSupported() ? Sha256Impl::kShaNi
                                                        : Sha256Impl::kPortable;
}

Sha256Impl ActiveSha256Impl() {
  static const Sha256Impl kActive = [] {
    const char* forced = std::getenv("TOKENSTORE_SHA256");
    if (forced != nullptr && std::strcmp(forced, "portable") == 0) {
      return Sha256Impl::kPortable;
    }
    return ResolveSha256Impl(Sha256Impl::kShaNi);
  }();
  return kActive;
}

const char* Sha256ImplName(Sha256Impl impl) {
  return impl == Sha256Impl::kShaNi ? "sha-ni" : "portable";
}

void Sha256Compress(Sha256Impl impl, uint32_t state[8], const uint8_t* blocks, size_t num_blocks) {
#if TOKENSTORE_HAVE_SHA_NI
  if (impl == Sha256Impl::kShaNi) {
    ShaNiCompress(state, blocks, num_blocks);
    return;
  }
#endif
  PortableCompress(state, blocks, num_blocks);
}

void Sha256TailBatch(Sha256Impl impl, const uint32_t midstate[8], const uint8_t* tails,
                     size_t stride, size_t blocks_per_message, size_t count, uint64_t* out) {
#if TOKENSTORE_HAVE_SHA_NI
  if (impl == Sha256Impl::kShaNi) {
    ShaNiTailBatch(midstate, tails, stride, blocks_per_message, count, out);
    return;
  }
#endif
  PortableTailBatch(midstate, tails, stride, blocks_per_message, count, out);
}

Sha256Stream::Sha256Stream(Sha256Impl impl) : impl_(impl) {
  std::memcpy(state_, kSha256InitialState, sizeof(state_));
}

void Sha256Stream::Update(std::string_view data) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t n = data.size();
  length_ += n;
  if (buffered_ > 0) {
    const size_t take = n < kSha256BlockSize - buffered_ ? n : kSha256BlockSize - buffered_;
    std::memcpy(buffer_ + buffered_, p, take);
    buffered_ += take;
    p += take;
    n -= take;
    if (buffered_ < kSha256BlockSize) return;
    Sha256Compress(impl_, state_, buffer_, 1);
    buffered_ = 0;
  }
  const size_t full_blocks = n / kSha256BlockSize;
  if (full_blocks > 0) {
    Sha256Compress(impl_, state_, p, full_blocks);
    p += full_blocks * kSha256BlockSize;
    n -= full_blocks * kSha256BlockSize;
  }
  if (n > 0) {
    std::memcpy(buffer_, p, n);
    buffered_ = n;
  }
}

void Sha256Stream::Finish(uint8_t digest[kSha256DigestSize]) {
  // Padding: 0x80, zeros, then the bit length as a 64-bit big-endian integer; one or two
  // blocks depending on whether 9 more bytes fit after the pending ones.
  uint8_t tail[2 * kSha256BlockSize] = {};
  std::memcpy(tail, buffer_, buffered_);
  tail[buffered_] = 0x80;
  const size_t tail_blocks = buffered_ + 9 <= kSha256BlockSize ? 1 : 2;
  const uint64_t bit_length = length_ * 8;
  uint8_t* length_field = tail + tail_blocks * kSha256BlockSize - 8;
  StoreBigEndian32(length_field, static_cast<uint32_t>(bit_length >> 32));
  StoreBigEndian32(length_field + 4, static_cast<uint32_t>(bit_length));
  Sha256Compress(impl_, state_, tail, tail_blocks);
  for (int i = 0; i < 8; ++i) StoreBigEndian32(digest + 4 * i, state_[i]);
}

void Sha256Digest(Sha256Impl impl, std::string_view data, uint8_t digest[kSha256DigestSize]) {
  Sha256Stream stream(impl);
  stream.Update(data);
  stream.Finish(digest);
}

}  // namespace tokenstore::hash_internal
