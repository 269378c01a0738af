// avx2_util.h — small AVX2 helpers for this folder's translation units only. Everything here
// has internal linkage (anonymous namespace), so no AVX2 code can be merged by the linker into
// a translation unit built for the baseline ISA (the ODR hazard of shared inline functions).
//
// The integer matmul kernels are compiled twice: for AVX2 (namespace whale::avx2) and, from the
// wrappers in ../x86_avx512_vnni/, with WHALE_VNNI defined and AVX512-VNNI + AVX512VL enabled
// (namespace whale::avx2_vnni: the same kernels, their int8 chains shortened by vpdpbusd / vpdpwssd,
// and every type's prefill, and Q4_K, Q5_K, Q6_K decode, on 512-bit registers: ../x86_avx512_vnni/
// *_512.h). All compute the same int32 sums, so results are bit-identical.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

#include "kernels/q8_matmul_args.h"
#include "kernels/tile_walk.h"

#ifndef WHALE_AVX2_NS
#define WHALE_AVX2_NS avx2
#endif

namespace whale::WHALE_AVX2_NS {
namespace {

// acc + Σ over each 4 consecutive bytes of u8 a · s8 b (int32 lanes). Without VNNI through the
// int16 pair step, which the callers keep below saturation, so both forms are exact.
inline __m256i dot_u8s8_add(__m256i acc, __m256i a, __m256i b) {
#if defined(WHALE_VNNI)
  return _mm256_dpbusd_epi32(acc, a, b);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1)));
#endif
}

// acc + the int16 pairs of p times the int16 pairs of s, summed per int32 lane.
inline __m256i madd_add(__m256i acc, __m256i p, __m256i s) {
#if defined(WHALE_VNNI)
  return _mm256_dpwssd_epi32(acc, p, s);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(p, s));
#endif
}

inline std::int32_t hsum_i32(__m128i s) {
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

inline std::int32_t hsum_i32(__m256i v) {
  return hsum_i32(_mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
}

inline float hsum_f32(__m128 s) {
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float hsum_f32(__m256 v) {
  return hsum_f32(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}

// An f16 field at p (any alignment), converted with F16C (exact).
inline float load_f16(const std::uint8_t* p) {
  std::uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// The f16 at p in all 8 lanes: a word broadcast and one conversion (the scalar conversion
// then a float broadcast took four instructions, in loops that are short of them).
inline __m256 broadcast_f16(const std::uint8_t* p) {
  std::int16_t h;
  std::memcpy(&h, p, 2);
  return _mm256_cvtph_ps(_mm_set1_epi16(h));
}

inline std::uint16_t load_u16(const std::uint8_t* p) {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

inline std::uint32_t load_u32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline std::uint64_t load_u64(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline float load_f32(const std::uint8_t* p) {
  float f;
  std::memcpy(&f, p, 4);
  return f;
}

inline __m256i load256(const std::uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

inline const std::uint8_t* bytes(const std::byte* p) {
  return reinterpret_cast<const std::uint8_t*>(p);
}

// A 32-element block unpacked by its type (x86_avx2/legacy_matmul.cpp, and Q8_0 in
// q8_0_matmul.cpp) for the decode tiles and block32_tile.h.
struct Block32Levels {
  __m256i q;  // 32 signed levels
  __m256 d;   // the block scale in every lane
  float m;    // the min (Q4_1 / Q5_1), else unused
};

// How far ahead the kernels prefetch weight bytes: kPrefetchBytes (q8_matmul_args.h).

// Prefetches the cache lines of the kBlock-byte block kPrefetchBytes past w. Prefetches never
// fault, so running past the end of the matrix is harmless.
template <int kBlock, int kAhead = kPrefetchBytes>
inline void prefetch_ahead(const std::uint8_t* w) {
#pragma GCC unroll 4
  for (int l = 0; l < kBlock; l += 64)
    _mm_prefetch(reinterpret_cast<const char*>(w + kAhead + l), _MM_HINT_T1);
}

// Decode tiles that multiply kRows consecutive rows side by side (block b of each row, then
// b + 1) call this at block b instead of prefetch_ahead per row. At decode every weight byte
// comes once from memory, and kRows prefetch fronts, each kPrefetchBytes ahead of its own row,
// streamed slower than one: Q4_K decode row pairs from memory, 2 threads, 2048x7168 0.27-0.39
// -> 0.18-0.27 ms alternated. One pointer walks the tile's bytes in address order instead,
// kRows blocks a step, kPrefetchBytes past the start of the tile's last row, so each row's
// block b was asked for before the tile reaches it; the next tile's pointer starts where this
// one's ends (rows are contiguous). Past the matrix's end it is harmless (prefetches never
// fault).
template <int kBlock, int kRows>
inline void prefetch_rows_in_order(const std::uint8_t* first_row, std::size_t row_bytes, std::int64_t b) {
  const std::uint8_t* p = first_row + (kRows - 1) * row_bytes + kPrefetchBytes + kRows * kBlock * b;
#pragma GCC unroll 16
  for (int l = 0; l < kRows * kBlock; l += 64) _mm_prefetch(reinterpret_cast<const char*>(p + l), _MM_HINT_T1);
}

// Matmuls of up to kDecodeTileTokens tokens (batched decode, an MoE expert's share of a short
// prefill) run the one-row decode tiles, which take up to 2 tokens, instead of the packed
// prefill walk: it packed the chunk and unpacked each block for 2-3 tokens, at about one
// token's speed (docs/kernels.md). tile(std::integral_constant<int, TT>{}, t0) for 2 tokens
// from 0 (when there are 2 or 3), then 1 (the last, when there are 1 or 3).
constexpr std::int64_t kDecodeTileTokens = 3;
template <class Tile>
void for_each_decode_token_tile(std::int64_t n_tokens, Tile&& tile) {
  if (n_tokens >= 2) tile(std::integral_constant<int, 2>{}, std::int64_t{0});
  if (n_tokens != 2) tile(std::integral_constant<int, 1>{}, n_tokens - 1);
}

// A 32-element type that also gives its levels as unsigned codes, level + T::kCodeOffset
// (T::codes256: Q4_0, Q4_1, Q5_0, Q5_1).
template <class T>
constexpr bool kHasCodes = requires(const std::uint8_t* p) { T::codes256(p); };

// 64-byte-aligned bytes that grow (never shrink) to the largest size asked: a thread's scratch,
// which allocates only while the widest input seen still grows.
class GrowingBuffer {
 public:
  GrowingBuffer() = default;
  GrowingBuffer(const GrowingBuffer&) = delete;
  GrowingBuffer& operator=(const GrowingBuffer&) = delete;
  ~GrowingBuffer() { std::free(bytes_); }

  // At least `size` bytes (their contents are not kept when it grows).
  std::uint8_t* get(std::size_t size) {
    if (size > capacity_) {
      std::free(bytes_);
      capacity_ = 0;
      bytes_ = static_cast<std::uint8_t*>(std::aligned_alloc(64, (size + 63) / 64 * 64));
      if (bytes_ == nullptr) throw std::bad_alloc();
      capacity_ = size;
    }
    return bytes_;
  }

 private:
  std::uint8_t* bytes_ = nullptr;
  std::size_t capacity_ = 0;
};

// What a decode kernel derives from its call's activations (a gather, offsets), in a buffer of
// the thread: built by fill(bytes) only when the activations (Q8MatmulArgs::x_generation, 0:
// always) or the source or size change. run_rows calls a kernel once per piece of rows, 16
// pieces a thread at decode, so without it every piece rebuilt the same bytes (a 1536 × 8960
// Q4_K piece spent ~3 % of its time on its gather).
class DerivedX {
 public:
  template <class Fill>
  const std::uint8_t* get(std::uint64_t generation, const void* source, std::size_t size, Fill&& fill) {
    std::uint8_t* bytes = buffer_.get(size);
    if (generation == 0 || generation != generation_ || source != source_ || size != size_) {
      generation_ = 0;  // not valid until filled
      fill(bytes);
      generation_ = generation;
      source_ = source;
      size_ = size;
    }
    return bytes;
  }

 private:
  GrowingBuffer buffer_;
  std::uint64_t generation_ = 0;
  const void* source_ = nullptr;
  std::size_t size_ = 0;
};

// Decode's x-only term for weights taken as unsigned codes c = level + kOffset:
// maddubs(kOffset, x) for every 32 quants of the call's tokens (int16 pairs, laid out like x),
// so a row takes its levels' products as maddubs(c, x) minus these, one vpsubw, instead of
// moving each level's sign onto x (two vpsignb, on the pipes vpmaddubsw needs). Exact while the
// codes are ≤ 63: both pair sums stay within int16. kHalvesAdded (the nibble types' lanes by
// nibble byte, whose kernels add a block's two 16-quant halves' pairs before vpmaddwd): the
// halves' 8 pairs added, 8 int16 per 32 quants (|Σ| ≤ 4 · 31 · 128). Once per call and thread
// (DerivedX).
template <int kOffset, bool kHalvesAdded = false>
const std::int16_t* decode_offsets(const Q8MatmulArgs& a) {
  thread_local DerivedX offsets;
  const std::int64_t n = a.n_tokens * a.cols;
  const std::size_t bytes = static_cast<std::size_t>(kHalvesAdded ? n / 2 : n);
  return reinterpret_cast<const std::int16_t*>(offsets.get(a.x_generation, a.x_qs, bytes, [&](std::uint8_t* out) {
    const __m256i k = _mm256_set1_epi8(kOffset);
    for (std::int64_t i = 0; i < n; i += 32) {
      const __m256i pairs = _mm256_maddubs_epi16(k, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.x_qs + i)));
      if constexpr (kHalvesAdded)
        _mm_store_si128(reinterpret_cast<__m128i*>(out + i / 2),
                        _mm_add_epi16(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1)));
      else
        _mm256_store_si256(reinterpret_cast<__m256i*>(out + i), pairs);
    }
  }));
}

// Tokens per prefill tile: the VNNI build may use 32 vector registers (AVX512VL), enough for
// 8 tokens' accumulators; AVX2's 16 hold 4.
#if defined(WHALE_VNNI)
constexpr int kPrefillTokens = 8;
#else
constexpr int kPrefillTokens = 4;
#endif

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
