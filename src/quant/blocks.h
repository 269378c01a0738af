// blocks.h — byte layouts of the ggml block-quantized types, field for field as GGUF stores them.
// All multi-byte fields are little-endian; `f16` fields hold IEEE binary16 bits. Blocks are
// copied in and out of file bytes with memcpy (file data is not necessarily aligned).
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace whale {

inline constexpr int kQK = 32;     // elements per legacy / IQ4_NL block
inline constexpr int kQK_K = 256;  // elements per K-quant / IQ super-block

// Q4_0: x = (q - 8) * d, q in [0, 15]; element j in the low nibble of qs[j], j+16 in the high.
struct BlockQ4_0 {
  std::uint16_t d;
  std::array<std::uint8_t, kQK / 2> qs;
};
// Q4_1: x = q * d + m.
struct BlockQ4_1 {
  std::uint16_t d;
  std::uint16_t m;
  std::array<std::uint8_t, kQK / 2> qs;
};
// Q5_0: x = (q - 16) * d; bit j of qh (a little-endian u32) is bit 4 of element j.
struct BlockQ5_0 {
  std::uint16_t d;
  std::array<std::uint8_t, 4> qh;
  std::array<std::uint8_t, kQK / 2> qs;
};
// Q5_1: x = q * d + m, q in [0, 31].
struct BlockQ5_1 {
  std::uint16_t d;
  std::uint16_t m;
  std::array<std::uint8_t, 4> qh;
  std::array<std::uint8_t, kQK / 2> qs;
};
// Q8_0: x = q * d.
struct BlockQ8_0 {
  std::uint16_t d;
  std::array<std::int8_t, kQK> qs;
};
// Q8_1: x = q * d; s = d * sum(q) caches the block sum for Q4_1/Q5_1 dot products.
struct BlockQ8_1 {
  std::uint16_t d;
  std::uint16_t s;
  std::array<std::int8_t, kQK> qs;
};

// Q2_K: 16 sub-blocks of 16; scales[i] = 4-bit scale (low) | 4-bit min (high);
// x = d * sc * q - dmin * m with q in [0, 3].
struct BlockQ2_K {
  std::array<std::uint8_t, kQK_K / 16> scales;
  std::array<std::uint8_t, kQK_K / 4> qs;
  std::uint16_t d;
  std::uint16_t dmin;
};
// Q3_K: 16 sub-blocks of 16 with 6-bit scales (biased by 32) packed into 12 bytes;
// q = 2 low bits from qs, minus 4 when the hmask bit is clear; x = d * (sc - 32) * q.
struct BlockQ3_K {
  std::array<std::uint8_t, kQK_K / 8> hmask;
  std::array<std::uint8_t, kQK_K / 4> qs;
  std::array<std::uint8_t, 12> scales;
  std::uint16_t d;
};
// Q4_K: 8 sub-blocks of 32, 6-bit scale and 6-bit min each packed into 12 bytes;
// x = d * sc * q - dmin * m with q in [0, 15].
struct BlockQ4_K {
  std::uint16_t d;
  std::uint16_t dmin;
  std::array<std::uint8_t, 12> scales;
  std::array<std::uint8_t, kQK_K / 2> qs;
};
// Q5_K: as Q4_K plus a fifth bit per element in qh; q in [0, 31].
struct BlockQ5_K {
  std::uint16_t d;
  std::uint16_t dmin;
  std::array<std::uint8_t, 12> scales;
  std::array<std::uint8_t, kQK_K / 8> qh;
  std::array<std::uint8_t, kQK_K / 2> qs;
};
// Q6_K: 16 sub-blocks of 16 with int8 scales; q = 4 low bits (ql) | 2 high bits (qh) - 32;
// x = d * sc * q.
struct BlockQ6_K {
  std::array<std::uint8_t, kQK_K / 2> ql;
  std::array<std::uint8_t, kQK_K / 4> qh;
  std::array<std::int8_t, kQK_K / 16> scales;
  std::uint16_t d;
};
// Q8_K: activations for K-quant dot products. d is an f32 (not f16); bsums[j] is the sum of
// qs[16j .. 16j+15].
struct BlockQ8_K {
  float d;
  std::array<std::int8_t, kQK_K> qs;
  std::array<std::int16_t, kQK_K / 16> bsums;
};

// IQ4_NL: x = d * kIq4nlValues[q], q a nibble laid out as in Q4_0.
struct BlockIQ4_NL {
  std::uint16_t d;
  std::array<std::uint8_t, kQK / 2> qs;
};
// IQ4_XS: 8 sub-blocks of 32 with 6-bit scales (biased by 32): low 4 bits in scales_l
// (two per byte, even sub-block in the low nibble), high 2 bits in scales_h (2 bits per
// sub-block); x = d * (ls - 32) * kIq4nlValues[q].
struct BlockIQ4_XS {
  std::uint16_t d;
  std::uint16_t scales_h;
  std::array<std::uint8_t, kQK_K / 64> scales_l;
  std::array<std::uint8_t, kQK_K / 2> qs;
};

// IQ2_XXS: 8 sub-blocks of 32, each 4 groups of 8 described by two little-endian u32 in qs:
// the first holds 4 codebook indices (a byte per group), the second 4 x 7 sign bits (group l at
// bit 7l, see iq2_sign_byte) and the sub-block's 4-bit scale ls in bits 28-31;
// x = d * (0.5 + ls) * 0.25 * grid[index][j] * sign.
struct BlockIQ2_XXS {
  std::uint16_t d;
  std::array<std::uint16_t, kQK_K / 8> qs;
};
// IQ1_S: 8 sub-blocks of 32, each 4 groups of 8 indexing the 2048-entry codebook with 11 bits:
// the low 8 in qs[4 * ib + l], the high 3 in bits 3l..3l+2 of qh[ib]; qh[ib] bits 12-14 hold the
// sub-block's scale ls and bit 15 the sign of its shift: x = d * (2 ls + 1) * (grid + delta),
// delta = -1/8 when bit 15 is set, +1/8 otherwise.
struct BlockIQ1_S {
  std::uint16_t d;
  std::array<std::uint8_t, kQK_K / 8> qs;
  std::array<std::uint16_t, kQK_K / 32> qh;
};
// IQ1_M: as IQ1_S but each 16 elements have their own 3-bit scale and each 8 their own shift
// sign, and there is no d field: sub-block ib's two scales are bits 6(ib%2)..+2 and +3..+5 of
// the little-endian u16 scales[ib / 2]; the top nibbles of the four u16 form d's f16 bits
// (u16 k's nibble is bits 4k..4k+3). qh[2 ib + l / 2] holds, for group l, the index's high 3
// bits at bit 4(l % 2) and the shift sign at bit 4(l % 2) + 3.
struct BlockIQ1_M {
  std::array<std::uint8_t, kQK_K / 8> qs;
  std::array<std::uint8_t, kQK_K / 16> qh;
  std::array<std::uint8_t, kQK_K / 32> scales;
};

// The 16 non-uniform levels shared by IQ4_NL and IQ4_XS (part of the format definition).
inline constexpr std::array<std::int8_t, 16> kIq4nlValues = {
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);
static_assert(sizeof(BlockIQ4_NL) == 18);
static_assert(sizeof(BlockIQ4_XS) == 136);
static_assert(sizeof(BlockIQ2_XXS) == 66);
static_assert(sizeof(BlockIQ1_S) == 50);
static_assert(sizeof(BlockIQ1_M) == 56);

// Copies block `index` out of (possibly unaligned) file bytes.
template <class Block>
Block load_block(const std::byte* src, std::int64_t index) {
  Block b;
  std::memcpy(&b, src + index * static_cast<std::int64_t>(sizeof(Block)), sizeof(Block));
  return b;
}

template <class Block>
void store_block(const Block& b, std::byte* dst, std::int64_t index) {
  std::memcpy(dst + index * static_cast<std::int64_t>(sizeof(Block)), &b, sizeof(Block));
}

// The 6-bit scale and 6-bit min of sub-block j (0..7) of a Q4_K / Q5_K block: sub-blocks 0-3
// use the low 6 bits of bytes j and j+4; sub-blocks 4-7 take 4 bits from byte j+4 and their
// top 2 bits from the spare high bits of bytes j-4 and j.
struct ScaleMin {
  std::uint8_t scale;
  std::uint8_t min;
};
inline ScaleMin k4_scale_min(const std::array<std::uint8_t, 12>& s, int j) {
  if (j < 4)
    return {static_cast<std::uint8_t>(s[j] & 63), static_cast<std::uint8_t>(s[j + 4] & 63)};
  return {static_cast<std::uint8_t>((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4)),
          static_cast<std::uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4))};
}

// The 6-bit biased scale of sub-block j (0..15) of a Q3_K block: low 4 bits from byte j % 8
// (low nibble for j < 8, high for j >= 8), high 2 bits from byte 8 + j % 4 at bit 2 * (j / 4).
inline int q3k_scale(const std::array<std::uint8_t, 12>& s, int j) {
  const int low = (j < 8) ? (s[j] & 0xF) : (s[j - 8] >> 4);
  const int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
  return low | (high << 4);
}

// IQ2_XXS stores 7 sign bits per group of 8; the eighth makes the number of negative signs
// even. Bit j set: coordinate j is negative.
constexpr std::uint8_t iq2_sign_byte(unsigned seven_bits) {
  return static_cast<std::uint8_t>((seven_bits & 127u) | ((std::popcount(seven_bits & 127u) & 1u) << 7));
}

// Coordinate j of a codebook entry as an integer.
inline int grid_coord(std::uint64_t entry, int j) {
  return static_cast<std::int8_t>(static_cast<std::uint8_t>((entry >> (8 * j)) & 0xFF));
}

// The f16 bits of an IQ1_M block's d, gathered from the top nibbles of its four scale words.
inline std::uint16_t iq1m_d_bits(const std::array<std::uint8_t, kQK_K / 32>& s) {
  std::uint16_t bits = 0;
  for (int k = 0; k < 4; ++k) bits = static_cast<std::uint16_t>(bits | ((s[2 * k + 1] >> 4) << (4 * k)));
  return bits;
}
// The 3-bit scale of 16-element half h (0..15) of an IQ1_M block.
inline int iq1m_scale(const std::array<std::uint8_t, kQK_K / 32>& s, int h) {
  const int word = s[2 * (h / 4)] | (s[2 * (h / 4) + 1] << 8);
  return (word >> (3 * (h % 4))) & 7;
}

}  // namespace whale
