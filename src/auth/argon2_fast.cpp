// argon2id (RFC 9106) with a per-thread reusable work area. See argon2_fast.hpp for why.
//
// The structure of the fill loop (segments, index_alpha, address generation) follows RFC 9106
// section 3 and the reference implementation (CC0); the vectorised BLAKE2 rounds follow the
// well-known layouts of the reference's SSE/AVX2 code and libsodium's AVX-512F code. Every kernel
// is differential-tested against libsodium in tests/unit/argon2_fast_test.cpp.
#include "auth/argon2_fast.hpp"

#include <sodium.h>
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GATEHOUSE_ARGON2_X86 1
#include <immintrin.h>
#endif

namespace gatehouse::auth {
namespace {

static_assert(std::endian::native == std::endian::little,
              "argon2 blocks are little-endian 64-bit words; this code reads them natively");

constexpr std::size_t kBlockWords = 128;
constexpr std::size_t kBlockBytes = 1024;
constexpr uint32_t kSyncPoints = 4;
constexpr uint32_t kVersion = 0x13;
constexpr uint32_t kTypeArgon2id = 2;
constexpr std::size_t kHugePage = 2u * 1024 * 1024;
constexpr uint32_t kMaxLanes = 0xFFFFFF;

struct alignas(64) Block {
  uint64_t v[kBlockWords];
};
static_assert(sizeof(Block) == kBlockBytes);

// next = G(prev, ref), or next ^= G(prev, ref) when xor_into (passes after the first, v1.3).
// With next_ref, the kernel prefetches the reference block of the block after `next`.
struct NextRef;
using CompressFn = void (*)(const Block* prev, const Block* ref, Block* next, bool xor_into,
                            const NextRef* next_ref);

struct Instance {
  Block* memory;
  uint32_t passes;
  uint32_t lanes;
  uint32_t memory_blocks;   // m' = 4 * p * floor(m / 4p)
  uint32_t lane_length;     // q = m' / p
  uint32_t segment_length;  // q / 4
  CompressFn compress;
};

uint32_t IndexAlpha(const Instance& in, uint32_t pass, uint32_t slice, uint32_t index,
                    uint32_t pseudo_rand, bool same_lane) {
  uint32_t area;
  if (pass == 0) {
    if (slice == 0) {
      area = index - 1;  // only this lane's blocks so far
    } else if (same_lane) {
      area = slice * in.segment_length + index - 1;
    } else {
      area = slice * in.segment_length - (index == 0 ? 1 : 0);
    }
  } else if (same_lane) {
    area = in.lane_length - in.segment_length + index - 1;
  } else {
    area = in.lane_length - in.segment_length - (index == 0 ? 1 : 0);
  }
  uint64_t relative = pseudo_rand;
  relative = (relative * relative) >> 32;
  relative = area - 1 - ((static_cast<uint64_t>(area) * relative) >> 32);
  const uint32_t start =
      (pass != 0 && slice != kSyncPoints - 1) ? (slice + 1) * in.segment_length : 0;
  // start + relative < 2 * lane_length: a subtraction instead of a division (this sits on the
  // latency chain from one block to the next).
  uint64_t position = start + relative;
  if (position >= in.lane_length) position -= in.lane_length;
  return static_cast<uint32_t>(position);
}

// Where the reference block of a data-dependent block lies, from the first word of the block
// before it. Handed to a kernel so that, as soon as it knows the first word of the block it is
// computing, it can prefetch the next block's reference block (a random 1 KiB in a 19 MiB area,
// usually not in L1/L2) while it finishes the rest: this hides most of the memory latency.
struct NextRef {
  const Instance* in;
  uint32_t pass;
  uint32_t slice;
  uint32_t lane;
  uint32_t index;  // of the next block within its segment
};

const Block* FindRef(const Instance& in, uint32_t pass, uint32_t slice, uint32_t lane,
                     uint32_t index, uint64_t pseudo_rand);

inline void PrefetchBlock(const Block* block) {
  const char* bytes = static_cast<const char*>(static_cast<const void*>(block));
  for (std::size_t k = 0; k < kBlockBytes; k += 64) __builtin_prefetch(bytes + k, 0, 3);
}

inline void PrefetchNextRef(const NextRef* next_ref, uint64_t first_word) {
  if (next_ref == nullptr) return;
  PrefetchBlock(FindRef(*next_ref->in, next_ref->pass, next_ref->slice, next_ref->lane,
                        next_ref->index, first_word));
}

// ---------------------------------------------------------------------------------------------
// Portable kernel.

inline uint64_t Rotr64(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

inline uint64_t BlaMka(uint64_t a, uint64_t b) {
  return a + b + 2 * (a & 0xFFFFFFFFu) * (b & 0xFFFFFFFFu);
}

inline void GB(uint64_t& a, uint64_t& b, uint64_t& c, uint64_t& d) {
  a = BlaMka(a, b);
  d = Rotr64(d ^ a, 32);
  c = BlaMka(c, d);
  b = Rotr64(b ^ c, 24);
  a = BlaMka(a, b);
  d = Rotr64(d ^ a, 16);
  c = BlaMka(c, d);
  b = Rotr64(b ^ c, 63);
}

// The permutation P on 16 words: w[k] is at v[index(k)].
template <typename Index>
inline void PermuteP(uint64_t* v, Index index) {
  uint64_t w[16];
  for (int k = 0; k < 16; ++k) w[k] = v[index(k)];
  GB(w[0], w[4], w[8], w[12]);
  GB(w[1], w[5], w[9], w[13]);
  GB(w[2], w[6], w[10], w[14]);
  GB(w[3], w[7], w[11], w[15]);
  GB(w[0], w[5], w[10], w[15]);
  GB(w[1], w[6], w[11], w[12]);
  GB(w[2], w[7], w[8], w[13]);
  GB(w[3], w[4], w[9], w[14]);
  for (int k = 0; k < 16; ++k) v[index(k)] = w[k];
}

void CompressPortable(const Block* prev, const Block* ref, Block* next, bool xor_into,
                      const NextRef* next_ref) {
  Block r;
  Block keep;
  for (std::size_t k = 0; k < kBlockWords; ++k) {
    r.v[k] = prev->v[k] ^ ref->v[k];
    keep.v[k] = xor_into ? r.v[k] ^ next->v[k] : r.v[k];
  }
  // Rows: 8 runs of P over 16 consecutive words.
  for (int i = 0; i < 8; ++i) {
    PermuteP(r.v, [i](int k) { return 16 * i + k; });
  }
  // Columns: P over the word pairs (2j, 2j+1) of every row.
  for (int j = 0; j < 8; ++j) {
    PermuteP(r.v, [j](int k) { return 16 * (k / 2) + 2 * j + (k % 2); });
    if (j == 0) PrefetchNextRef(next_ref, r.v[0] ^ keep.v[0]);
  }
  for (std::size_t k = 0; k < kBlockWords; ++k) next->v[k] = keep.v[k] ^ r.v[k];
}

#ifdef GATEHOUSE_ARGON2_X86

// ---------------------------------------------------------------------------------------------
// AVX2 kernel: a row of 16 words is 4 registers A B C D; a column pair is gathered from two rows
// with permute2x128.

#define GH_TARGET_AVX2 __attribute__((target("avx2")))

GH_TARGET_AVX2 inline __m256i MulAdd256(__m256i x, __m256i y) {
  const __m256i z = _mm256_mul_epu32(x, y);
  return _mm256_add_epi64(_mm256_add_epi64(x, y), _mm256_add_epi64(z, z));
}

GH_TARGET_AVX2 inline __m256i Ror32_256(__m256i x) {
  return _mm256_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1));
}
GH_TARGET_AVX2 inline __m256i Ror24_256(__m256i x) {
  const __m256i mask = _mm256_setr_epi8(3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10, 3, 4,
                                        5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10);
  return _mm256_shuffle_epi8(x, mask);
}
GH_TARGET_AVX2 inline __m256i Ror16_256(__m256i x) {
  const __m256i mask = _mm256_setr_epi8(2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9, 2, 3,
                                        4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9);
  return _mm256_shuffle_epi8(x, mask);
}
GH_TARGET_AVX2 inline __m256i Ror63_256(__m256i x) {
  return _mm256_xor_si256(_mm256_srli_epi64(x, 63), _mm256_add_epi64(x, x));
}

// Half of a BLAKE2 round (the four column G's), on two independent 4x4 states at once.
GH_TARGET_AVX2 inline void HalfRound256(__m256i& a0, __m256i& b0, __m256i& c0, __m256i& d0,
                                        __m256i& a1, __m256i& b1, __m256i& c1, __m256i& d1) {
  a0 = MulAdd256(a0, b0);
  a1 = MulAdd256(a1, b1);
  d0 = Ror32_256(_mm256_xor_si256(d0, a0));
  d1 = Ror32_256(_mm256_xor_si256(d1, a1));
  c0 = MulAdd256(c0, d0);
  c1 = MulAdd256(c1, d1);
  b0 = Ror24_256(_mm256_xor_si256(b0, c0));
  b1 = Ror24_256(_mm256_xor_si256(b1, c1));
  a0 = MulAdd256(a0, b0);
  a1 = MulAdd256(a1, b1);
  d0 = Ror16_256(_mm256_xor_si256(d0, a0));
  d1 = Ror16_256(_mm256_xor_si256(d1, a1));
  c0 = MulAdd256(c0, d0);
  c1 = MulAdd256(c1, d1);
  b0 = Ror63_256(_mm256_xor_si256(b0, c0));
  b1 = Ror63_256(_mm256_xor_si256(b1, c1));
}

GH_TARGET_AVX2 inline void Round256(__m256i& a0, __m256i& b0, __m256i& c0, __m256i& d0, __m256i& a1,
                                    __m256i& b1, __m256i& c1, __m256i& d1) {
  HalfRound256(a0, b0, c0, d0, a1, b1, c1, d1);
  // Diagonalise: lane k of B, C, D moves to k-1, k-2, k-3.
  b0 = _mm256_permute4x64_epi64(b0, _MM_SHUFFLE(0, 3, 2, 1));
  b1 = _mm256_permute4x64_epi64(b1, _MM_SHUFFLE(0, 3, 2, 1));
  c0 = _mm256_permute4x64_epi64(c0, _MM_SHUFFLE(1, 0, 3, 2));
  c1 = _mm256_permute4x64_epi64(c1, _MM_SHUFFLE(1, 0, 3, 2));
  d0 = _mm256_permute4x64_epi64(d0, _MM_SHUFFLE(2, 1, 0, 3));
  d1 = _mm256_permute4x64_epi64(d1, _MM_SHUFFLE(2, 1, 0, 3));
  HalfRound256(a0, b0, c0, d0, a1, b1, c1, d1);
  b0 = _mm256_permute4x64_epi64(b0, _MM_SHUFFLE(2, 1, 0, 3));
  b1 = _mm256_permute4x64_epi64(b1, _MM_SHUFFLE(2, 1, 0, 3));
  c0 = _mm256_permute4x64_epi64(c0, _MM_SHUFFLE(1, 0, 3, 2));
  c1 = _mm256_permute4x64_epi64(c1, _MM_SHUFFLE(1, 0, 3, 2));
  d0 = _mm256_permute4x64_epi64(d0, _MM_SHUFFLE(0, 3, 2, 1));
  d1 = _mm256_permute4x64_epi64(d1, _MM_SHUFFLE(0, 3, 2, 1));
}

GH_TARGET_AVX2 void CompressAvx2(const Block* prev, const Block* ref, Block* next, bool xor_into,
                                 const NextRef* next_ref) {
  // s[k] holds words 4k..4k+3; row i is s[4i..4i+3].
  __m256i s[32];
  __m256i keep[32];
  const auto* p = static_cast<const __m256i*>(static_cast<const void*>(prev));
  const auto* q = static_cast<const __m256i*>(static_cast<const void*>(ref));
  auto* n = static_cast<__m256i*>(static_cast<void*>(next));
  for (int k = 0; k < 32; ++k) {
    s[k] = _mm256_xor_si256(_mm256_load_si256(p + k), _mm256_load_si256(q + k));
    keep[k] = xor_into ? _mm256_xor_si256(s[k], _mm256_load_si256(n + k)) : s[k];
  }
  for (int i = 0; i < 8; i += 2) {
    __m256i* r0 = &s[4 * i];
    __m256i* r1 = &s[4 * i + 4];
    Round256(r0[0], r0[1], r0[2], r0[3], r1[0], r1[1], r1[2], r1[3]);
  }
  // Column 2c takes the low 128 bits of s[4r + c] for rows r, column 2c+1 the high ones; A is
  // rows 0-1, B rows 2-3, C rows 4-5, D rows 6-7.
  for (int c = 0; c < 4; ++c) {
    __m256i v[8];
    for (int g = 0; g < 4; ++g) {
      const __m256i lo_row = s[4 * (2 * g) + c];
      const __m256i hi_row = s[4 * (2 * g + 1) + c];
      v[g] = _mm256_permute2x128_si256(lo_row, hi_row, 0x20);      // column 2c
      v[4 + g] = _mm256_permute2x128_si256(lo_row, hi_row, 0x31);  // column 2c+1
    }
    Round256(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    for (int g = 0; g < 4; ++g) {
      s[4 * (2 * g) + c] = _mm256_permute2x128_si256(v[g], v[4 + g], 0x20);
      s[4 * (2 * g + 1) + c] = _mm256_permute2x128_si256(v[g], v[4 + g], 0x31);
    }
    if (c == 0) {  // words 0..3 are final now
      PrefetchNextRef(next_ref, static_cast<uint64_t>(
                                    _mm256_extract_epi64(_mm256_xor_si256(s[0], keep[0]), 0)));
    }
  }
  for (int k = 0; k < 32; ++k) _mm256_store_si256(n + k, _mm256_xor_si256(s[k], keep[k]));
}

// ---------------------------------------------------------------------------------------------
// AVX-512F kernel: a register holds two 4-word groups (two rows' A, or two columns' A), so each
// Round512 call runs four BLAKE2 rounds in parallel.

#define GH_TARGET_AVX512 __attribute__((target("avx512f")))

// GCC 12's avx512fintrin.h initialises its "undefined" registers from themselves, which
// -Wuninitialized reports at every inlined use (GCC bug 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

GH_TARGET_AVX512 inline __m512i MulAdd512(__m512i x, __m512i y) {
  const __m512i z = _mm512_mul_epu32(x, y);
  return _mm512_add_epi64(_mm512_add_epi64(x, y), _mm512_add_epi64(z, z));
}

GH_TARGET_AVX512 inline void HalfRound512(__m512i& a0, __m512i& b0, __m512i& c0, __m512i& d0,
                                          __m512i& a1, __m512i& b1, __m512i& c1, __m512i& d1) {
  a0 = MulAdd512(a0, b0);
  a1 = MulAdd512(a1, b1);
  d0 = _mm512_ror_epi64(_mm512_xor_si512(d0, a0), 32);
  d1 = _mm512_ror_epi64(_mm512_xor_si512(d1, a1), 32);
  c0 = MulAdd512(c0, d0);
  c1 = MulAdd512(c1, d1);
  b0 = _mm512_ror_epi64(_mm512_xor_si512(b0, c0), 24);
  b1 = _mm512_ror_epi64(_mm512_xor_si512(b1, c1), 24);
  a0 = MulAdd512(a0, b0);
  a1 = MulAdd512(a1, b1);
  d0 = _mm512_ror_epi64(_mm512_xor_si512(d0, a0), 16);
  d1 = _mm512_ror_epi64(_mm512_xor_si512(d1, a1), 16);
  c0 = MulAdd512(c0, d0);
  c1 = MulAdd512(c1, d1);
  b0 = _mm512_ror_epi64(_mm512_xor_si512(b0, c0), 63);
  b1 = _mm512_ror_epi64(_mm512_xor_si512(b1, c1), 63);
}

GH_TARGET_AVX512 inline void Round512(__m512i& a0, __m512i& b0, __m512i& c0, __m512i& d0,
                                      __m512i& a1, __m512i& b1, __m512i& c1, __m512i& d1) {
  HalfRound512(a0, b0, c0, d0, a1, b1, c1, d1);
  // permutex_epi64 permutes within each 256-bit half, i.e. within each 4-word group.
  b0 = _mm512_permutex_epi64(b0, _MM_SHUFFLE(0, 3, 2, 1));
  b1 = _mm512_permutex_epi64(b1, _MM_SHUFFLE(0, 3, 2, 1));
  c0 = _mm512_permutex_epi64(c0, _MM_SHUFFLE(1, 0, 3, 2));
  c1 = _mm512_permutex_epi64(c1, _MM_SHUFFLE(1, 0, 3, 2));
  d0 = _mm512_permutex_epi64(d0, _MM_SHUFFLE(2, 1, 0, 3));
  d1 = _mm512_permutex_epi64(d1, _MM_SHUFFLE(2, 1, 0, 3));
  HalfRound512(a0, b0, c0, d0, a1, b1, c1, d1);
  b0 = _mm512_permutex_epi64(b0, _MM_SHUFFLE(2, 1, 0, 3));
  b1 = _mm512_permutex_epi64(b1, _MM_SHUFFLE(2, 1, 0, 3));
  c0 = _mm512_permutex_epi64(c0, _MM_SHUFFLE(1, 0, 3, 2));
  c1 = _mm512_permutex_epi64(c1, _MM_SHUFFLE(1, 0, 3, 2));
  d0 = _mm512_permutex_epi64(d0, _MM_SHUFFLE(0, 3, 2, 1));
  d1 = _mm512_permutex_epi64(d1, _MM_SHUFFLE(0, 3, 2, 1));
}

// One BLAKE2 round on a single pair of 4x4 states.
GH_TARGET_AVX512 inline void Round512x1(__m512i& a, __m512i& b, __m512i& c, __m512i& d) {
  for (int half = 0; half < 2; ++half) {
    a = MulAdd512(a, b);
    d = _mm512_ror_epi64(_mm512_xor_si512(d, a), 32);
    c = MulAdd512(c, d);
    b = _mm512_ror_epi64(_mm512_xor_si512(b, c), 24);
    a = MulAdd512(a, b);
    d = _mm512_ror_epi64(_mm512_xor_si512(d, a), 16);
    c = MulAdd512(c, d);
    b = _mm512_ror_epi64(_mm512_xor_si512(b, c), 63);
    if (half == 0) {
      b = _mm512_permutex_epi64(b, _MM_SHUFFLE(0, 3, 2, 1));
      c = _mm512_permutex_epi64(c, _MM_SHUFFLE(1, 0, 3, 2));
      d = _mm512_permutex_epi64(d, _MM_SHUFFLE(2, 1, 0, 3));
    } else {
      b = _mm512_permutex_epi64(b, _MM_SHUFFLE(2, 1, 0, 3));
      c = _mm512_permutex_epi64(c, _MM_SHUFFLE(1, 0, 3, 2));
      d = _mm512_permutex_epi64(d, _MM_SHUFFLE(0, 3, 2, 1));
    }
  }
}

// The kernel's steps share the block in registers: always inlined, so splitting it costs nothing.
#define GH_AVX512_STEP GH_TARGET_AVX512 inline __attribute__((always_inline))

// s[k] holds words 8k..8k+7 of prev ^ ref, where row i is s[2i] = (A, B) and s[2i+1] = (C, D);
// keep[k] is what the result is XORed with at the end (also the old `next` after pass 0).
GH_AVX512_STEP void LoadInput512(const Block* prev, const Block* ref, const Block* next,
                                 bool xor_into, __m512i (&s)[16], __m512i (&keep)[16]) {
  const auto* p = static_cast<const __m512i*>(static_cast<const void*>(prev));
  const auto* q = static_cast<const __m512i*>(static_cast<const void*>(ref));
  const auto* n = static_cast<const __m512i*>(static_cast<const void*>(next));
  for (int k = 0; k < 16; ++k) {
    s[k] = _mm512_xor_si512(_mm512_load_si512(p + k), _mm512_load_si512(q + k));
    keep[k] = xor_into ? _mm512_xor_si512(s[k], _mm512_load_si512(n + k)) : s[k];
  }
}

// Rows, four at a time: rows i and i+1 share registers (low half row i, high half row i+1).
GH_AVX512_STEP void RowRounds512(__m512i (&s)[16]) {
  for (int i = 0; i < 8; i += 4) {
    __m512i v[8];
    for (int h = 0; h < 2; ++h) {
      const __m512i ab0 = s[2 * (i + 2 * h)];
      const __m512i cd0 = s[2 * (i + 2 * h) + 1];
      const __m512i ab1 = s[2 * (i + 2 * h + 1)];
      const __m512i cd1 = s[2 * (i + 2 * h + 1) + 1];
      v[4 * h + 0] = _mm512_shuffle_i64x2(ab0, ab1, 0x44);  // A of both rows
      v[4 * h + 1] = _mm512_shuffle_i64x2(ab0, ab1, 0xEE);  // B
      v[4 * h + 2] = _mm512_shuffle_i64x2(cd0, cd1, 0x44);  // C
      v[4 * h + 3] = _mm512_shuffle_i64x2(cd0, cd1, 0xEE);  // D
    }
    Round512(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    for (int h = 0; h < 2; ++h) {
      s[2 * (i + 2 * h)] = _mm512_shuffle_i64x2(v[4 * h + 0], v[4 * h + 1], 0x44);
      s[2 * (i + 2 * h + 1)] = _mm512_shuffle_i64x2(v[4 * h + 0], v[4 * h + 1], 0xEE);
      s[2 * (i + 2 * h) + 1] = _mm512_shuffle_i64x2(v[4 * h + 2], v[4 * h + 3], 0x44);
      s[2 * (i + 2 * h + 1) + 1] = _mm512_shuffle_i64x2(v[4 * h + 2], v[4 * h + 3], 0xEE);
    }
  }
}

// Columns, two at a time: columns 4h..4h+3 live in the half-rows s[2r + h]. A register holds
// one column's 4-word group in each 256-bit half; c[pair][g] is group g (A B C D = rows 2g and
// 2g+1) of columns 2*pair and 2*pair+1.
GH_AVX512_STEP void ColumnRounds512(__m512i (&s)[16], const __m512i (&keep)[16],
                                    const NextRef* next_ref) {
  const __m512i gather_lo = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
  const __m512i gather_hi = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
  const __m512i scatter_even = _mm512_setr_epi64(0, 1, 4, 5, 8, 9, 12, 13);
  const __m512i scatter_odd = _mm512_setr_epi64(2, 3, 6, 7, 10, 11, 14, 15);
  __m512i c[4][4];
  for (int pair = 0; pair < 4; ++pair) {
    const int h = pair / 2;
    for (int g = 0; g < 4; ++g) {
      c[pair][g] = _mm512_permutex2var_epi64(s[2 * (2 * g) + h], pair % 2 ? gather_hi : gather_lo,
                                             s[2 * (2 * g + 1) + h]);
    }
  }
  // Columns 0 and 1 first, alone: word 0 of the result is then known, and the next block's
  // reference block can be fetched while the other six columns are computed.
  Round512x1(c[0][0], c[0][1], c[0][2], c[0][3]);
  PrefetchNextRef(next_ref, static_cast<uint64_t>(_mm_cvtsi128_si64(
                                _mm512_castsi512_si128(_mm512_xor_si512(c[0][0], keep[0])))));
  Round512(c[1][0], c[1][1], c[1][2], c[1][3], c[2][0], c[2][1], c[2][2], c[2][3]);
  Round512x1(c[3][0], c[3][1], c[3][2], c[3][3]);
  for (int h = 0; h < 2; ++h) {
    for (int g = 0; g < 4; ++g) {
      s[2 * (2 * g) + h] = _mm512_permutex2var_epi64(c[2 * h][g], scatter_even, c[2 * h + 1][g]);
      s[2 * (2 * g + 1) + h] = _mm512_permutex2var_epi64(c[2 * h][g], scatter_odd, c[2 * h + 1][g]);
    }
  }
}

GH_TARGET_AVX512 void CompressAvx512(const Block* prev, const Block* ref, Block* next,
                                     bool xor_into, const NextRef* next_ref) {
  __m512i s[16];
  __m512i keep[16];
  LoadInput512(prev, ref, next, xor_into, s, keep);
  RowRounds512(s);
  ColumnRounds512(s, keep, next_ref);
  auto* n = static_cast<__m512i*>(static_cast<void*>(next));
  for (int k = 0; k < 16; ++k) _mm512_store_si512(n + k, _mm512_xor_si512(s[k], keep[k]));
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // GATEHOUSE_ARGON2_X86

bool CpuHas(argon2_detail::Kernel kernel) {
  switch (kernel) {
    case argon2_detail::Kernel::kPortable:
      return true;
#ifdef GATEHOUSE_ARGON2_X86
    case argon2_detail::Kernel::kAvx2:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2");
    case argon2_detail::Kernel::kAvx512:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx512f");
#endif
    default:
      return false;
  }
}

argon2_detail::Kernel DetectBest() {
  using argon2_detail::Kernel;
  if (CpuHas(Kernel::kAvx512)) return Kernel::kAvx512;
  if (CpuHas(Kernel::kAvx2)) return Kernel::kAvx2;
  return Kernel::kPortable;
}

CompressFn CompressFor(argon2_detail::Kernel kernel) {
  switch (kernel) {
#ifdef GATEHOUSE_ARGON2_X86
    case argon2_detail::Kernel::kAvx512:
      return CompressAvx512;
    case argon2_detail::Kernel::kAvx2:
      return CompressAvx2;
#endif
    default:
      return CompressPortable;
  }
}

// ---------------------------------------------------------------------------------------------
// The per-thread work area.

class WorkArea {
 public:
  WorkArea() = default;
  WorkArea(const WorkArea&) = delete;
  WorkArea& operator=(const WorkArea&) = delete;
  ~WorkArea() { Release(); }

  // At least `blocks` blocks, or nullptr if they cannot be mapped.
  Block* Get(std::size_t blocks) {
    const std::size_t bytes = blocks * kBlockBytes;
    if (bytes <= size_) return static_cast<Block*>(base_);
    Release();
    // Whole 2 MiB pages, starting on a 2 MiB boundary, so that every page can be a huge one.
    const std::size_t size = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    const std::size_t span = size + kHugePage;
    void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    const auto start = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (start + kHugePage - 1) & ~static_cast<uintptr_t>(kHugePage - 1);
    if (aligned > start) munmap(raw, aligned - start);
    const uintptr_t end = start + span;
    if (end > aligned + size) munmap(reinterpret_cast<void*>(aligned + size), end - aligned - size);
    base_ = reinterpret_cast<void*>(aligned);
    size_ = size;
#ifdef MADV_HUGEPAGE
    madvise(base_, size_, MADV_HUGEPAGE);  // advisory: 4 KiB pages work too
#endif
#ifdef MADV_DONTDUMP
    madvise(base_, size_, MADV_DONTDUMP);  // never in a core dump
#endif
    // Touch every page now, once, rather than fault during the first hashes.
    std::memset(base_, 0, size_);
    return static_cast<Block*>(base_);
  }

  void Release() {
    if (base_ == nullptr) return;
    sodium_memzero(base_, size_);
    munmap(base_, size_);
    base_ = nullptr;
    size_ = 0;
  }

 private:
  void* base_ = nullptr;
  std::size_t size_ = 0;
};

thread_local WorkArea tls_work_area;

// ---------------------------------------------------------------------------------------------
// BLAKE2b helpers (libsodium's).

void StoreLe32(unsigned char* out, uint32_t value) {
  for (int k = 0; k < 4; ++k) out[k] = static_cast<unsigned char>(value >> (8 * k));
}

void Blake2bUpdateLe32(crypto_generichash_blake2b_state* state, uint32_t value) {
  unsigned char le[4];
  StoreLe32(le, value);
  crypto_generichash_blake2b_update(state, le, sizeof le);
}

// H' of RFC 9106 section 3.3, for out.size() in 1..2^32-1 (we use up to 1024).
void Blake2bLong(std::span<unsigned char> out, std::span<const unsigned char> in) {
  crypto_generichash_blake2b_state state;
  const auto out_len = static_cast<uint32_t>(out.size());
  if (out.size() <= crypto_generichash_blake2b_BYTES_MAX) {
    crypto_generichash_blake2b_init(&state, nullptr, 0, out.size());
    Blake2bUpdateLe32(&state, out_len);
    crypto_generichash_blake2b_update(&state, in.data(), in.size());
    crypto_generichash_blake2b_final(&state, out.data(), out.size());
    sodium_memzero(&state, sizeof state);
    return;
  }
  constexpr std::size_t kHalf = crypto_generichash_blake2b_BYTES_MAX / 2;
  unsigned char v[crypto_generichash_blake2b_BYTES_MAX];
  crypto_generichash_blake2b_init(&state, nullptr, 0, sizeof v);
  Blake2bUpdateLe32(&state, out_len);
  crypto_generichash_blake2b_update(&state, in.data(), in.size());
  crypto_generichash_blake2b_final(&state, v, sizeof v);
  std::size_t done = 0;
  std::memcpy(out.data(), v, kHalf);
  done += kHalf;
  while (out.size() - done > sizeof v) {
    crypto_generichash_blake2b(v, sizeof v, v, sizeof v, nullptr, 0);
    std::memcpy(out.data() + done, v, kHalf);
    done += kHalf;
  }
  const std::size_t last = out.size() - done;
  crypto_generichash_blake2b(v, last, v, sizeof v, nullptr, 0);
  std::memcpy(out.data() + done, v, last);
  sodium_memzero(v, sizeof v);
  sodium_memzero(&state, sizeof state);
}

// The compression kernels keep a block or two of password-derived state in their stack frames
// (register spills); overwrite that stack region once a hash is done.
__attribute__((noinline)) void BurnStack() {
  unsigned char scratch[16 * 1024];
  sodium_memzero(scratch, sizeof scratch);
}

void LoadBlock(Block* block, const unsigned char* bytes) {
  std::memcpy(block->v, bytes, kBlockBytes);
}

// ---------------------------------------------------------------------------------------------
// The fill loop (RFC 9106 section 3.4).

const Block* FindRef(const Instance& in, uint32_t pass, uint32_t slice, uint32_t lane,
                     uint32_t index, uint64_t pseudo_rand) {
  uint32_t ref_lane = in.lanes == 1 ? 0 : static_cast<uint32_t>((pseudo_rand >> 32) % in.lanes);
  if (pass == 0 && slice == 0) ref_lane = lane;  // other lanes have nothing yet
  const uint32_t ref_index =
      IndexAlpha(in, pass, slice, index, static_cast<uint32_t>(pseudo_rand), ref_lane == lane);
  return in.memory + static_cast<std::size_t>(in.lane_length) * ref_lane + ref_index;
}

// Data-independent addressing (the first half of the first pass, argon2i's half of argon2id):
// the pseudo-random words come 128 at a time from compressing a counter block twice.
struct AddressBlocks {
  Block zero{};
  Block input{};
  Block address{};
  Block scratch;

  AddressBlocks(const Instance& in, uint32_t pass, uint32_t lane, uint32_t slice) {
    input.v[0] = pass;
    input.v[1] = lane;
    input.v[2] = slice;
    input.v[3] = in.memory_blocks;
    input.v[4] = in.passes;
    input.v[5] = kTypeArgon2id;
  }
  void Next(const Instance& in) {
    ++input.v[6];
    in.compress(&zero, &input, &scratch, false, nullptr);
    in.compress(&zero, &scratch, &address, false, nullptr);
  }
};

void FillSegment(const Instance& in, uint32_t pass, uint32_t lane, uint32_t slice) {
  const bool data_independent = pass == 0 && slice < kSyncPoints / 2;
  AddressBlocks addresses(in, pass, lane, slice);
  const uint32_t first = (pass == 0 && slice == 0) ? 2 : 0;  // blocks 0 and 1 come from H0
  if (data_independent && first != 0) addresses.Next(in);
  uint32_t curr = lane * in.lane_length + slice * in.segment_length + first;
  uint32_t prev = (curr % in.lane_length == 0) ? curr + in.lane_length - 1 : curr - 1;
  NextRef next_ref{&in, pass, slice, lane, 0};
  for (uint32_t i = first; i < in.segment_length; ++i, ++curr, ++prev) {
    if (slice == 0 && i == 1) prev = curr - 1;  // block 1 of the lane follows block 0
    uint64_t pseudo_rand;
    if (data_independent) {
      if (i % kBlockWords == 0) addresses.Next(in);
      pseudo_rand = addresses.address.v[i % kBlockWords];
    } else {
      pseudo_rand = in.memory[prev].v[0];
    }
    const Block* ref = FindRef(in, pass, slice, lane, i, pseudo_rand);
    const bool has_next = i + 1 < in.segment_length;
    if (data_independent && has_next && (i + 1) % kBlockWords != 0) {
      // The next address is known already: fetch its block while this one is computed.
      PrefetchBlock(
          FindRef(in, pass, slice, lane, i + 1, addresses.address.v[(i + 1) % kBlockWords]));
    }
    next_ref.index = i + 1;
    in.compress(in.memory + prev, ref, in.memory + curr, pass != 0,
                (!data_independent && has_next) ? &next_ref : nullptr);
  }
}

// Within RFC 9106's bounds, and this code's: a tag of at most one block.
bool ValidInputs(const argon2_detail::Params& params, std::size_t password, std::size_t salt,
                 std::size_t secret, std::size_t ad, std::size_t out) {
  static constexpr std::size_t kMaxLen = 0xFFFFFFFFu;
  return params.passes >= 1 && params.lanes >= 1 && params.lanes <= kMaxLanes &&
         params.memory_kib >= 8 * params.lanes && salt >= 8 && out >= 16 && out <= kBlockBytes &&
         password <= kMaxLen && salt <= kMaxLen && secret <= kMaxLen && ad <= kMaxLen;
}

// The memory of `params` (m' = 4p * floor(m / 4p) blocks) in this thread's work area; its
// memory is null when the area cannot be had.
Instance MakeInstance(const argon2_detail::Params& params, argon2_detail::Kernel kernel) {
  Instance in{};
  in.passes = params.passes;
  in.lanes = params.lanes;
  in.segment_length = params.memory_kib / (params.lanes * kSyncPoints);
  in.lane_length = in.segment_length * kSyncPoints;
  in.memory_blocks = in.lane_length * params.lanes;
  in.compress = CompressFor(kernel);
  in.memory = tls_work_area.Get(in.memory_blocks);
  return in;
}

// H0 (section 3.2): every parameter and input, each length-prefixed.
void HashInputs(const argon2_detail::Params& params, std::string_view password,
                std::span<const unsigned char> salt, std::span<const unsigned char> secret,
                std::span<const unsigned char> ad, std::size_t out_len, unsigned char* h0) {
  crypto_generichash_blake2b_state state;
  crypto_generichash_blake2b_init(&state, nullptr, 0, crypto_generichash_blake2b_BYTES_MAX);
  Blake2bUpdateLe32(&state, params.lanes);
  Blake2bUpdateLe32(&state, static_cast<uint32_t>(out_len));
  Blake2bUpdateLe32(&state, params.memory_kib);
  Blake2bUpdateLe32(&state, params.passes);
  Blake2bUpdateLe32(&state, kVersion);
  Blake2bUpdateLe32(&state, kTypeArgon2id);
  Blake2bUpdateLe32(&state, static_cast<uint32_t>(password.size()));
  crypto_generichash_blake2b_update(&state, reinterpret_cast<const unsigned char*>(password.data()),
                                    password.size());
  for (const auto input : {salt, secret, ad}) {
    Blake2bUpdateLe32(&state, static_cast<uint32_t>(input.size()));
    crypto_generichash_blake2b_update(&state, input.data(), input.size());
  }
  crypto_generichash_blake2b_final(&state, h0, crypto_generichash_blake2b_BYTES_MAX);
  sodium_memzero(&state, sizeof state);
}

// Blocks 0 and 1 of every lane: H' of H0 followed by the block's number and the lane.
void FillFirstBlocks(const Instance& in,
                     unsigned char (&h0)[crypto_generichash_blake2b_BYTES_MAX + 8]) {
  alignas(64) unsigned char block_bytes[kBlockBytes];
  for (uint32_t lane = 0; lane < in.lanes; ++lane) {
    for (uint32_t k = 0; k < 2; ++k) {
      StoreLe32(h0 + crypto_generichash_blake2b_BYTES_MAX, k);
      StoreLe32(h0 + crypto_generichash_blake2b_BYTES_MAX + 4, lane);
      Blake2bLong(block_bytes, h0);
      LoadBlock(in.memory + static_cast<std::size_t>(lane) * in.lane_length + k, block_bytes);
    }
  }
  sodium_memzero(block_bytes, sizeof block_bytes);
}

// The tag: H' to its length of the XOR of every lane's last block.
void FinalTag(const Instance& in, std::span<unsigned char> out) {
  Block final_block = in.memory[in.lane_length - 1];
  for (uint32_t lane = 1; lane < in.lanes; ++lane) {
    const Block& last =
        in.memory[static_cast<std::size_t>(lane) * in.lane_length + in.lane_length - 1];
    for (std::size_t k = 0; k < kBlockWords; ++k) final_block.v[k] ^= last.v[k];
  }
  alignas(64) unsigned char block_bytes[kBlockBytes];
  std::memcpy(block_bytes, final_block.v, kBlockBytes);
  Blake2bLong(out, block_bytes);
  sodium_memzero(&final_block, sizeof final_block);
  sodium_memzero(block_bytes, sizeof block_bytes);
}

bool Compute(const argon2_detail::Params& params, std::string_view password,
             std::span<const unsigned char> salt, std::span<const unsigned char> secret,
             std::span<const unsigned char> ad, std::span<unsigned char> out,
             argon2_detail::Kernel kernel) {
  if (!ValidInputs(params, password.size(), salt.size(), secret.size(), ad.size(), out.size())) {
    return false;
  }
  if (kernel == argon2_detail::Kernel::kAuto) kernel = argon2_detail::BestKernel();
  if (!CpuHas(kernel)) return false;
  const Instance in = MakeInstance(params, kernel);
  if (in.memory == nullptr) return false;

  unsigned char h0[crypto_generichash_blake2b_BYTES_MAX + 8];
  HashInputs(params, password, salt, secret, ad, out.size(), h0);
  FillFirstBlocks(in, h0);
  sodium_memzero(h0, sizeof h0);
  for (uint32_t pass = 0; pass < in.passes; ++pass) {
    for (uint32_t slice = 0; slice < kSyncPoints; ++slice) {
      for (uint32_t lane = 0; lane < in.lanes; ++lane) FillSegment(in, pass, lane, slice);
    }
  }
  FinalTag(in, out);
  // Every block is password-derived: wipe what this hash used before returning.
  sodium_memzero(in.memory, static_cast<std::size_t>(in.memory_blocks) * kBlockBytes);
  BurnStack();
  return true;
}

// ---------------------------------------------------------------------------------------------
// PHC strings.

constexpr std::string_view kPhcPrefix = "$argon2id$v=19$m=";
constexpr std::size_t kMaxSaltBytes = 64;
constexpr std::size_t kMaxTagBytes = 64;
constexpr uint32_t kMaxFastLanes = 16;

void AppendBase64(std::string& out, std::span<const unsigned char> bytes) {
  constexpr int kVariant = sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
  char buffer[sodium_base64_ENCODED_LEN(1024, sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
  sodium_bin2base64(buffer, sizeof buffer, bytes.data(), bytes.size(), kVariant);
  out += buffer;
}

// A decimal without sign or leading zero that fits 32 bits, up to (not including) `stop`.
bool TakeDecimal(std::string_view& text, char stop, uint32_t& value) {
  const auto end = text.find(stop);
  if (end == std::string_view::npos || end == 0 || end > 10 || text[0] == '0') return false;
  uint64_t result = 0;
  for (std::size_t k = 0; k < end; ++k) {
    if (text[k] < '0' || text[k] > '9') return false;
    result = result * 10 + static_cast<uint64_t>(text[k] - '0');
  }
  if (result > 0xFFFFFFFFu) return false;
  value = static_cast<uint32_t>(result);
  text.remove_prefix(end + 1);
  return true;
}

bool TakeBase64(std::string_view text, unsigned char* out, std::size_t max, std::size_t& len) {
  if (text.empty()) return false;
  const char* end = nullptr;
  return sodium_base642bin(out, max, text.data(), text.size(), nullptr, &len, &end,
                           sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0 &&
         end == text.data() + text.size();
}

struct ParsedPhc {
  argon2_detail::Params params;
  unsigned char salt[kMaxSaltBytes];
  std::size_t salt_len = 0;
  unsigned char tag[kMaxTagBytes];
  std::size_t tag_len = 0;
};

// Only the canonical spelling with parameters our fast path serves; false means "ask libsodium".
bool ParseCanonicalPhc(std::string_view phc, ParsedPhc& parsed) {
  if (phc.substr(0, kPhcPrefix.size()) != kPhcPrefix) return false;
  std::string_view rest = phc.substr(kPhcPrefix.size());
  auto& p = parsed.params;
  if (!TakeDecimal(rest, ',', p.memory_kib) || rest.substr(0, 2) != "t=") return false;
  rest.remove_prefix(2);
  if (!TakeDecimal(rest, ',', p.passes) || rest.substr(0, 2) != "p=") return false;
  rest.remove_prefix(2);
  if (!TakeDecimal(rest, '$', p.lanes)) return false;
  const auto dollar = rest.find('$');
  if (dollar == std::string_view::npos) return false;
  if (!TakeBase64(rest.substr(0, dollar), parsed.salt, sizeof parsed.salt, parsed.salt_len) ||
      !TakeBase64(rest.substr(dollar + 1), parsed.tag, sizeof parsed.tag, parsed.tag_len)) {
    return false;
  }
  return p.passes >= 1 && p.lanes >= 1 && p.lanes <= kMaxFastLanes && p.memory_kib >= 8 * p.lanes &&
         p.memory_kib <= kArgon2idMemoryKiB && parsed.salt_len >= 8 && parsed.tag_len >= 16;
}

}  // namespace

namespace argon2_detail {

bool KernelAvailable(Kernel kernel) { return kernel == Kernel::kAuto || CpuHas(kernel); }

Kernel BestKernel() {
  static const Kernel best = DetectBest();
  return best;
}

const char* KernelName(Kernel kernel) {
  switch (kernel) {
    case Kernel::kAuto:
      return KernelName(BestKernel());
    case Kernel::kPortable:
      return "portable";
    case Kernel::kAvx2:
      return "avx2";
    case Kernel::kAvx512:
      return "avx512f";
  }
  return "?";
}

bool Argon2idRaw(const Params& params, std::string_view password,
                 std::span<const unsigned char> salt, std::span<const unsigned char> secret,
                 std::span<const unsigned char> associated_data, std::span<unsigned char> out,
                 Kernel kernel) {
  return Compute(params, password, salt, secret, associated_data, out, kernel);
}

std::string EncodePhc(const Params& params, std::span<const unsigned char> salt,
                      std::span<const unsigned char> tag) {
  std::string phc;
  phc.reserve(128);
  phc += kPhcPrefix;
  phc += std::to_string(params.memory_kib);
  phc += ",t=";
  phc += std::to_string(params.passes);
  phc += ",p=";
  phc += std::to_string(params.lanes);
  phc += '$';
  AppendBase64(phc, salt);
  phc += '$';
  AppendBase64(phc, tag);
  return phc;
}

}  // namespace argon2_detail

Result<std::string> HashArgon2id(std::string_view password) {
  unsigned char salt[kArgon2idSaltBytes];
  unsigned char tag[kArgon2idTagBytes];
  randombytes_buf(salt, sizeof salt);
  const argon2_detail::Params params;
  if (!Compute(params, password, salt, {}, {}, tag, argon2_detail::Kernel::kAuto)) {
    return Error{ErrorCode::kStorageFailure, "argon2id: out of memory"};
  }
  std::string phc = argon2_detail::EncodePhc(params, salt, tag);
  sodium_memzero(tag, sizeof tag);
  return phc;
}

bool VerifyArgon2id(std::string_view phc, std::string_view password) {
  if (phc.find('\0') != std::string_view::npos) return false;
  ParsedPhc parsed;
  if (!ParseCanonicalPhc(phc, parsed)) {
    const std::string terminated(phc);
    return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
  }
  unsigned char computed[kMaxTagBytes];
  if (!Compute(parsed.params, password, {parsed.salt, parsed.salt_len}, {}, {},
               {computed, parsed.tag_len}, argon2_detail::Kernel::kAuto)) {
    return false;
  }
  const bool match = sodium_memcmp(computed, parsed.tag, parsed.tag_len) == 0;
  sodium_memzero(computed, sizeof computed);
  return match;
}

void ReleaseArgon2idWorkArea() { tls_work_area.Release(); }

}  // namespace gatehouse::auth
