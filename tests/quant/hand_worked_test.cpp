// hand_worked_test.cpp — one block per type built byte by byte, with the dequantized values
// worked out by hand from the ggml block format definitions (arithmetic in the comments).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "quant/dequantize.h"
#include "quant/dtype.h"

namespace whale {
namespace {

// f16 bit patterns used below.
constexpr std::uint16_t kHalf = 0x3800;      // 0.5
constexpr std::uint16_t kQuarter = 0x3400;   // 0.25
constexpr std::uint16_t kOne = 0x3C00;       // 1.0
constexpr std::uint16_t kMinusOne = 0xBC00;  // -1.0
constexpr std::uint16_t kTwo = 0x4000;       // 2.0

class Block {
 public:
  explicit Block(DType t) : dtype_(t), bytes_(dtype_traits(t).block_bytes, 0) {}
  Block& u8(std::size_t off, std::uint8_t v) {
    bytes_.at(off) = v;
    return *this;
  }
  Block& u16(std::size_t off, std::uint16_t v) {
    bytes_.at(off + 1);
    std::memcpy(bytes_.data() + off, &v, 2);
    return *this;
  }
  Block& f32(std::size_t off, float v) {
    bytes_.at(off + 3);
    std::memcpy(bytes_.data() + off, &v, 4);
    return *this;
  }
  std::vector<float> dequantize() const {
    std::vector<float> y(static_cast<std::size_t>(dtype_traits(dtype_).block_elems));
    dequantize_row(dtype_, reinterpret_cast<const std::byte*>(bytes_.data()), y.data(),
                   static_cast<std::int64_t>(y.size()));
    return y;
  }

 private:
  DType dtype_;
  std::vector<std::uint8_t> bytes_;
};

TEST(HandWorked, Q4_0) {
  // d = 0.5; x = (nibble - 8) * d; element j is the low nibble of qs[j], j + 16 the high one.
  const auto y = Block(DType::kQ4_0).u16(0, kHalf).u8(2 + 0, 0x1F).u8(2 + 5, 0x80).dequantize();
  EXPECT_EQ(y[0], 3.5f);    // (15 - 8) * 0.5
  EXPECT_EQ(y[16], -3.5f);  // (1 - 8) * 0.5
  EXPECT_EQ(y[5], -4.0f);   // (0 - 8) * 0.5
  EXPECT_EQ(y[21], 0.0f);   // (8 - 8) * 0.5
  EXPECT_EQ(y[1], -4.0f);   // zero byte: (0 - 8) * 0.5
}

TEST(HandWorked, Q4_1) {
  // d = 0.25, m = -1; x = nibble * d + m.
  const auto y =
      Block(DType::kQ4_1).u16(0, kQuarter).u16(2, kMinusOne).u8(4 + 3, 0xA2).dequantize();
  EXPECT_EQ(y[3], -0.5f);  // 2 * 0.25 - 1
  EXPECT_EQ(y[19], 1.5f);  // 10 * 0.25 - 1
  EXPECT_EQ(y[0], -1.0f);  // 0 * 0.25 - 1
}

TEST(HandWorked, Q5_0) {
  // d = 2; qh (u32 LE at byte 2) bits 1 and 17 set; x = ((nibble | bit << 4) - 16) * d.
  const auto y = Block(DType::kQ5_0)
                     .u16(0, kTwo)
                     .u8(2, 0x02)  // qh bit 1
                     .u8(4, 0x02)  // qh bit 17
                     .u8(6 + 1, 0x3F)
                     .dequantize();
  EXPECT_EQ(y[1], 30.0f);   // (15 | 16) - 16 = 15; 15 * 2
  EXPECT_EQ(y[17], 6.0f);   // (3 | 16) - 16 = 3; 3 * 2
  EXPECT_EQ(y[0], -32.0f);  // (0 - 16) * 2
}

TEST(HandWorked, Q5_1) {
  // d = 0.5, m = 1; qh bit 31 set (byte 4 + 3 = 0x80); x = (nibble | bit << 4) * d + m.
  const auto y =
      Block(DType::kQ5_1).u16(0, kHalf).u16(2, kOne).u8(4 + 3, 0x80).u8(8 + 15, 0x52).dequantize();
  EXPECT_EQ(y[15], 2.0f);   // 2 * 0.5 + 1
  EXPECT_EQ(y[31], 11.5f);  // (5 | 16) = 21; 21 * 0.5 + 1
  EXPECT_EQ(y[0], 1.0f);    // 0 * 0.5 + 1
}

TEST(HandWorked, Q8_0) {
  const auto y = Block(DType::kQ8_0)
                     .u16(0, kQuarter)
                     .u8(2 + 0, 0x80)   // -128
                     .u8(2 + 31, 0x7F)  // 127
                     .u8(2 + 7, 0xFD)   // -3
                     .dequantize();
  EXPECT_EQ(y[0], -32.0f);   // -128 * 0.25
  EXPECT_EQ(y[31], 31.75f);  // 127 * 0.25
  EXPECT_EQ(y[7], -0.75f);   // -3 * 0.25
  EXPECT_EQ(y[8], 0.0f);
}

TEST(HandWorked, Q8_1) {
  // d = 0.5, s (ignored by dequantization) = 1; qs start at byte 4.
  const auto y = Block(DType::kQ8_1).u16(0, kHalf).u16(2, kOne).u8(4 + 2, 100).dequantize();
  EXPECT_EQ(y[2], 50.0f);  // 100 * 0.5
  EXPECT_EQ(y[0], 0.0f);
}

TEST(HandWorked, Q2_K) {
  // Layout: scales[16] @0 (low nibble scale, high nibble min), qs[64] @16, d @80, dmin @82.
  // x = d * sc * q - dmin * m; d = 0.5, dmin = 0.25. Element i: qs[32*(i/128) + i%32] bits
  // 2*((i%128)/32); sub-block i/16.
  const auto y = Block(DType::kQ2_K)
                     .u8(0, 0x23)        // sub-block 0: sc 3, m 2 -> dl 1.5, ml 0.5
                     .u8(2, 0x11)        // sub-block 2: sc 1, m 1 -> dl 0.5, ml 0.25
                     .u8(4, 0x04)        // sub-block 4: sc 4, m 0 -> dl 2, ml 0
                     .u8(6, 0xF1)        // sub-block 6: sc 1, m 15 -> dl 0.5, ml 3.75
                     .u8(8, 0x01)        // sub-block 8: sc 1, m 0 -> dl 0.5
                     .u8(16 + 0, 0xE4)   // bit pairs 00 01 10 11 for elements 0, 32, 64, 96
                     .u8(16 + 15, 0x02)  // element 15: q 2
                     .u8(16 + 32, 0x03)  // element 128: q 3
                     .u16(80, kHalf)
                     .u16(82, kQuarter)
                     .dequantize();
  EXPECT_EQ(y[0], -0.5f);    // 1.5 * 0 - 0.5
  EXPECT_EQ(y[15], 2.5f);    // 1.5 * 2 - 0.5
  EXPECT_EQ(y[32], 0.25f);   // 0.5 * 1 - 0.25
  EXPECT_EQ(y[64], 4.0f);    // 2 * 2 - 0
  EXPECT_EQ(y[96], -2.25f);  // 0.5 * 3 - 3.75
  EXPECT_EQ(y[128], 1.5f);   // 0.5 * 3 - 0
  EXPECT_EQ(y[16], 0.0f);    // sub-block 1: sc 0, m 0
}

TEST(HandWorked, Q3_K) {
  // Layout: hmask[32] @0, qs[64] @32, scales[12] @96, d @108; d = 0.5.
  // Scale code of sub-block j: low 4 bits in byte j%8 (low nibble for j < 8, high for j >= 8),
  // high 2 bits in byte 8 + j%4 at bit 2*(j/4); x = d * (code - 32) * q with
  // q = 2-bit value - (hmask bit clear ? 4 : 0).
  const auto y = Block(DType::kQ3_K)
                     .u8(0, 0x01)        // hmask[0] bit 0: element 0's high bit
                     .u8(16, 0x10)       // hmask[16] bit 4: element 4*32 + 16 = 144
                     .u8(32 + 0, 0x03)   // element 0: low bits 3
                     .u8(32 + 48, 0x01)  // qs[48] bits 0-1: element 128 + 16 = 144: 1
                     .u8(32 + 63, 0x80)  // qs[63] bits 6-7: element 128 + 96 + 31 = 255: 2
                     .u8(96 + 0, 0x02)   // sub-block 0 low 4 bits: 2
                     .u8(96 + 1, 0xC0)   // sub-block 9 low 4 bits (byte 1 high nibble): 12
                     .u8(96 + 7, 0xF0)   // sub-block 15 low 4 bits: 15
                     .u8(96 + 8, 0x02)   // sub-block 0 high bits: 2 -> code 34 -> +2
                     .u8(96 + 9, 0x10)   // sub-block 9 high bits (bits 4-5): 1 -> code 28 -> -4
                     .u8(96 + 11, 0xC0)  // sub-block 15 high bits (bits 6-7): 3 -> 63 -> +31
                     .u16(108, kHalf)
                     .dequantize();
  EXPECT_EQ(y[0], 3.0f);      // 0.5 * 2 * (3 - 0)
  EXPECT_EQ(y[1], -4.0f);     // 0.5 * 2 * (0 - 4)
  EXPECT_EQ(y[144], -2.0f);   // 0.5 * -4 * (1 - 0)
  EXPECT_EQ(y[255], -31.0f);  // 0.5 * 31 * (2 - 4)
  EXPECT_EQ(y[16], 64.0f);    // sub-block 1, code 0: 0.5 * -32 * (0 - 4)
}

TEST(HandWorked, Q4_K) {
  // Layout: d @0, dmin @2, scales[12] @4, qs[128] @16; d = 0.5, dmin = 0.25.
  // x = d * sc * q - dmin * m. Sub-block 0: sc = s[0] & 63, m = s[4] & 63. Sub-block 5:
  // sc = (s[9] & 15) | (s[1] >> 6) << 4, m = (s[9] >> 4) | (s[5] >> 6) << 4.
  // Element i: qs[32*(i/64) + i%32], low nibble when i%64 < 32.
  const auto y = Block(DType::kQ4_K)
                     .u16(0, kHalf)
                     .u16(2, kQuarter)
                     .u8(4 + 0, 3)       // sub-block 0: sc 3
                     .u8(4 + 4, 4)       // sub-block 0: m 4
                     .u8(4 + 1, 0x80)    // sub-block 5: sc high bits 2
                     .u8(4 + 5, 0xC0)    // sub-block 5: m high bits 3
                     .u8(4 + 9, 0x25)    // sub-block 5: sc low 5, m low 2 -> sc 37, m 50
                     .u8(16 + 0, 0x0A)   // element 0: 10; element 32: 0
                     .u8(16 + 64, 0x70)  // element 128: 0; element 160: 7
                     .dequantize();
  EXPECT_EQ(y[0], 14.0f);     // 0.5*3 * 10 - 0.25*4 = 15 - 1
  EXPECT_EQ(y[31], -1.0f);    // 1.5 * 0 - 1
  EXPECT_EQ(y[32], 0.0f);     // sub-block 1: sc 0, m 0
  EXPECT_EQ(y[160], 117.0f);  // 0.5*37 * 7 - 0.25*50 = 129.5 - 12.5
  EXPECT_EQ(y[128], 0.0f);    // sub-block 4: sc 0, m 0
}

TEST(HandWorked, Q5_K) {
  // Layout: d @0, dmin @2, scales[12] @4, qh[32] @16, qs[128] @48; the fifth bit of element i
  // is qh[i%32] bit i/32. d = 0.5, dmin = 0.25.
  const auto y = Block(DType::kQ5_K)
                     .u16(0, kHalf)
                     .u16(2, kQuarter)
                     .u8(4 + 0, 3)      // sub-block 0: sc 3
                     .u8(4 + 4, 4)      // sub-block 0: m 4
                     .u8(4 + 1, 2)      // sub-block 1: sc 2, m 0
                     .u8(16 + 0, 0x03)  // fifth bits of elements 0 and 32
                     .u8(48 + 0, 0x0A)  // element 0 low nibble 10, element 32 high nibble 0
                     .dequantize();
  EXPECT_EQ(y[0], 38.0f);   // 1.5 * (10 + 16) - 1
  EXPECT_EQ(y[32], 16.0f);  // 0.5*2 * (0 + 16) - 0
  EXPECT_EQ(y[1], -1.0f);   // 1.5 * 0 - 1
}

TEST(HandWorked, Q6_K) {
  // Layout: ql[128] @0, qh[64] @128, int8 scales[16] @192, d @208; d = 0.5.
  // Element i: half n = i/128, quarter k = (i%128)/32, l = i%32; low 4 bits from
  // ql[64n + l + 32*(k&1)] (low nibble for k < 2), high 2 bits from qh[32n + l] at bit 2k;
  // x = d * sc[i/16] * (q - 32).
  const auto y = Block(DType::kQ6_K)
                     .u8(0, 0x05)         // element 0 low 5; element 64 low 0
                     .u8(72, 0xF0)        // element 128 + 64 + 8 = 200: low 15
                     .u8(128 + 0, 0x02)   // element 0 high 2; element 64 high 0
                     .u8(128 + 40, 0x30)  // element 200 high 3
                     .u8(192 + 0, 3)      // sub-block 0
                     .u8(192 + 2, 1)      // sub-block 2 (element 33)
                     .u8(192 + 4, 0xFE)   // sub-block 4: -2
                     .u8(192 + 12, 0x80)  // sub-block 12: -128
                     .u16(208, kHalf)
                     .dequantize();
  EXPECT_EQ(y[0], 7.5f);        // 0.5*3 * ((5 | 2<<4) - 32) = 1.5 * 5
  EXPECT_EQ(y[64], 32.0f);      // 0.5*-2 * (0 - 32)
  EXPECT_EQ(y[200], -1984.0f);  // 0.5*-128 * (63 - 32) = -64 * 31
  EXPECT_EQ(y[33], -16.0f);     // 0.5*1 * (0 - 32)
}

TEST(HandWorked, Q8_K) {
  // Layout: f32 d @0, int8 qs[256] @4, int16 bsums[16] @260; x = d * q.
  const auto y = Block(DType::kQ8_K).f32(0, 0.125f).u8(4 + 0, 0x81).u8(4 + 255, 8).dequantize();
  EXPECT_EQ(y[0], -15.875f);  // -127 * 0.125
  EXPECT_EQ(y[255], 1.0f);    // 8 * 0.125
  EXPECT_EQ(y[1], 0.0f);
}

TEST(HandWorked, IQ4_NL) {
  // d = 0.5; x = d * levels[nibble], levels = {-127, -104, -83, -65, -49, -35, -22, -10, 1,
  // 13, 25, 38, 53, 69, 89, 113}; nibbles laid out as in Q4_0.
  const auto y = Block(DType::kIQ4_NL).u16(0, kHalf).u8(2 + 0, 0xF0).u8(2 + 1, 0x78).dequantize();
  EXPECT_EQ(y[0], -63.5f);  // 0.5 * levels[0] = 0.5 * -127
  EXPECT_EQ(y[16], 56.5f);  // 0.5 * levels[15] = 0.5 * 113
  EXPECT_EQ(y[1], 0.5f);    // 0.5 * levels[8] = 0.5 * 1
  EXPECT_EQ(y[17], -5.0f);  // 0.5 * levels[7] = 0.5 * -10
}

TEST(HandWorked, IQ4_XS) {
  // Layout: d @0, u16 scales_h @2, scales_l[4] @4, qs[128] @8; d = 0.25.
  // Sub-block ib: code = (scales_l[ib/2] >> 4*(ib%2)) & 15 | ((scales_h >> 2*ib) & 3) << 4;
  // x = d * (code - 32) * levels[nibble]; sub-block ib's nibbles in qs[16ib .. 16ib + 15].
  const auto y = Block(DType::kIQ4_XS)
                     .u16(0, kQuarter)
                     .u16(2, 0x0042)    // sub-block 0 high 2 (bits 0-1), sub-block 3 high 1
                     .u8(4 + 0, 0x04)   // sub-block 0 low 4 -> code 36 -> +4
                     .u8(8 + 0, 0x0F)   // element 0: 15, element 16: 0
                     .u8(8 + 48, 0x03)  // sub-block 3 element 96: 3
                     .dequantize();
  EXPECT_EQ(y[0], 113.0f);    // 0.25*4 * 113
  EXPECT_EQ(y[16], -127.0f);  // 1 * -127
  EXPECT_EQ(y[96], 260.0f);   // code 16: 0.25*-16 * levels[3] = -4 * -65
  EXPECT_EQ(y[32], 1016.0f);  // sub-block 1 code 0: 0.25*-32 * -127
}

// Codebook entries used below, from the formats' published tables (coordinate j = byte j of
// the little-endian u64): IQ2_XXS entry 0 = 0x0808080808080808 (all 8), entry 1 =
// 0x080808080808082b ({43, 8, 8, 8, 8, 8, 8, 8}), entry 255 = 0x2b2b2b1908081908
// ({8, 25, 8, 8, 25, 43, 43, 43}); IQ1_S entry 0 = all -1, entry 1 = 0xffffffffffffff01
// ({1, -1, ..., -1}), entry 2047 = 0x0101010101010101 (all 1).
TEST(HandWorked, IQ2_XXS) {
  // d = 1 @0; sub-block 0: index bytes @2 (groups 0..3: 1, 0, 255, 0), sign/scale u32 @6 =
  // 0x30000083: ls = 3 -> db = 1 * (0.5 + 3) * 0.25 = 0.875; group 0 signs 0b0000011 (two
  // negatives, even: 8th sign +); group 1 signs 0b0000001 (one negative: 8th sign -).
  const auto y = Block(DType::kIQ2_XXS)
                     .u16(0, kOne)
                     .u8(2, 1)
                     .u8(4, 255)
                     .u16(6, 0x0083)
                     .u16(8, 0x3000)
                     .dequantize();
  EXPECT_EQ(y[0], -37.625f);  // 0.875 * 43, negative
  EXPECT_EQ(y[1], -7.0f);     // 0.875 * 8, negative
  EXPECT_EQ(y[2], 7.0f);
  EXPECT_EQ(y[7], 7.0f);      // even count already: implied sign +
  EXPECT_EQ(y[8], -7.0f);     // group 1, element 0 negative
  EXPECT_EQ(y[9], 7.0f);
  EXPECT_EQ(y[15], -7.0f);    // implied 8th sign makes the count even
  EXPECT_EQ(y[16], 7.0f);     // entry 255: 0.875 * {8, 25, 8, 8, 25, 43, 43, 43}
  EXPECT_EQ(y[17], 21.875f);
  EXPECT_EQ(y[23], 37.625f);
  EXPECT_EQ(y[32], 1.0f);     // sub-block 1 all zero: ls 0 -> 0.125 * 8
}

TEST(HandWorked, IQ1_S) {
  // d = 0.5 @0, qs[32] @2, u16 qh[8] @34. Sub-block 0: qh = 0xA038: shift bit 15 set (-1/8),
  // ls = 2 (bits 12-14) -> dl = 0.5 * 5 = 2.5, group 1's high index bits 7 (bits 3-5) with
  // qs[1] = 0xFF -> entry 2047; group 0 entry 0; group 2 entry 1 (qs[2] = 1).
  const auto y = Block(DType::kIQ1_S).u16(0, kHalf).u8(2 + 1, 0xFF).u8(2 + 2, 1).u16(34, 0xA038).dequantize();
  EXPECT_EQ(y[0], -2.8125f);   // 2.5 * (-1 - 0.125)
  EXPECT_EQ(y[7], -2.8125f);
  EXPECT_EQ(y[8], 2.1875f);    // 2.5 * (1 - 0.125)
  EXPECT_EQ(y[16], 2.1875f);   // entry 1, coordinate 0 = 1
  EXPECT_EQ(y[17], -2.8125f);  // coordinate 1 = -1
  EXPECT_EQ(y[32], -0.4375f);  // sub-block 1: qh 0 -> dl 0.5, +1/8, entry 0: 0.5 * -0.875
}

TEST(HandWorked, IQ1_M) {
  // qs[32] @0, qh[16] @32, scale words @48. d = 2 (f16 0x4000: nibbles 0, 0, 0, 4 -> the top
  // nibble of word 3, byte 55 = 0x40). Word 0 = 0x0019: half 0 scale 1 (bits 0-2) -> dl =
  // 2 * 3 = 6, half 1 scale 3 (bits 3-5) -> dl = 14; other halves scale 0 -> dl = 2.
  // qh[0] = 0x78: group 0 nibble 8 (index high 0, shift -1/8), group 1 nibble 7 (high 7, +1/8)
  // with qs[1] = 0xFF -> entry 2047; group 2 (qh[1] low nibble 0): qs[2] = 1 -> entry 1, +1/8.
  const auto y = Block(DType::kIQ1_M)
                     .u8(1, 0xFF)
                     .u8(2, 1)
                     .u8(32, 0x78)
                     .u8(48, 0x19)
                     .u8(55, 0x40)
                     .dequantize();
  EXPECT_EQ(y[0], -6.75f);    // 6 * (-1 - 0.125)
  EXPECT_EQ(y[8], 6.75f);     // 6 * (1 + 0.125): elements 8-15 are still half 0
  EXPECT_EQ(y[16], 15.75f);   // half 1: 14 * (1 + 0.125)
  EXPECT_EQ(y[17], -12.25f);  // 14 * (-1 + 0.125)
  EXPECT_EQ(y[32], -1.75f);   // half 2: 2 * (-1 + 0.125)
}

TEST(HandWorked, PlainFloats) {
  EXPECT_EQ(Block(DType::kF16).u16(0, 0xC000).dequantize()[0], -2.0f);
  EXPECT_EQ(Block(DType::kF16).u16(0, 0x0001).dequantize()[0], 0x1p-24f);  // min subnormal
  EXPECT_EQ(Block(DType::kBF16).u16(0, 0x3F80).dequantize()[0], 1.0f);
  EXPECT_EQ(Block(DType::kBF16).u16(0, 0xC2F7).dequantize()[0], -123.5f);  // 0xC2F70000
  EXPECT_EQ(Block(DType::kF32).f32(0, 3.25f).dequantize()[0], 3.25f);
}

// Values on a legacy type's grid must survive quantization exactly: the absmax sets d to an
// exactly representable power of two, and every value is an integer multiple of d.
TEST(HandWorked, LegacyQuantizersAreExactOnTheirGrid) {
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j % 16 - 8);  // -8 .. 7, d = 1
  std::vector<std::byte> q(*row_bytes(DType::kQ4_0, 32));
  std::vector<float> y(32);
  quantize_row(DType::kQ4_0, x.data(), q.data(), 32);
  dequantize_row(DType::kQ4_0, q.data(), y.data(), 32);
  EXPECT_EQ(x, y);
  for (int j = 0; j < 32; ++j) x[j] = 0.5f * static_cast<float>(j - 16);  // max -8 -> d = 0.5
  q.resize(*row_bytes(DType::kQ5_0, 32));
  quantize_row(DType::kQ5_0, x.data(), q.data(), 32);
  dequantize_row(DType::kQ5_0, q.data(), y.data(), 32);
  EXPECT_EQ(x, y);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(4 * j - 127);  // |max| 127 -> d = 1
  q.resize(*row_bytes(DType::kQ8_0, 32));
  quantize_row(DType::kQ8_0, x.data(), q.data(), 32);
  dequantize_row(DType::kQ8_0, q.data(), y.data(), 32);
  EXPECT_EQ(x, y);
  // Q4_1: min -3, max 12 -> d = 1, m = -3; values -3 .. 12.
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j % 16 - 3);
  q.resize(*row_bytes(DType::kQ4_1, 32));
  quantize_row(DType::kQ4_1, x.data(), q.data(), 32);
  dequantize_row(DType::kQ4_1, q.data(), y.data(), 32);
  EXPECT_EQ(x, y);
}

}  // namespace
}  // namespace whale
