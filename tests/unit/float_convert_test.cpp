// float_convert_test.cpp — f16/bf16/e4m3 conversions against hand-computed values and against
// references written here from the IEEE 754 / OCP FP8 definitions (computed in double).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "util/float_convert.h"

namespace whale {
namespace {

std::uint32_t bits(float f) { return std::bit_cast<std::uint32_t>(f); }
float from_bits(std::uint32_t b) { return std::bit_cast<float>(b); }

// binary16 value from its fields, in double.
double f16_reference(std::uint16_t h) {
  const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double mag;
  if (e == 31) mag = m == 0 ? INFINITY : NAN;
  else if (e == 0) mag = std::ldexp(m, -24);
  else mag = std::ldexp(1024 + m, e - 25);
  return s ? -mag : mag;
}

// e4m3fn value from its fields: bias 7, no infinities, S.1111.111 is NaN.
double e4m3_reference(std::uint8_t v) {
  const int s = v >> 7, e = (v >> 3) & 15, m = v & 7;
  double mag;
  if (e == 15 && m == 7) mag = NAN;
  else if (e == 0) mag = std::ldexp(m, -9);  // m/8 * 2^-6
  else mag = std::ldexp(8 + m, e - 10);      // (1 + m/8) * 2^(e-7)
  return s ? -mag : mag;
}

TEST(F16, HandComputedValues) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(0.5f), 0x3800);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1023.0f, -24)), 0x03ff);  // largest subnormal
  EXPECT_EQ(f32_to_f16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_f32(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_f32(0x3555), (1024 + 0x155) / 4096.0f);  // e=13, m=0x155: 0.333251953125
  EXPECT_EQ(bits(f16_to_f32(0x8000)), 0x80000000u);
  EXPECT_EQ(f16_to_f32(0x7c00), INFINITY);
  EXPECT_EQ(f16_to_f32(0xfc00), -INFINITY);
}

TEST(F16, RoundsToNearestEven) {
  // 1 + 2^-11 lies halfway between 0x3c00 and 0x3c01: the even code wins.
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  // 1 + 3*2^-11 lies halfway between 0x3c01 and 0x3c02: the even code wins.
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  // Just above a tie rounds up.
  EXPECT_EQ(f32_to_f16(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3c01);
  // Carry from mantissa into exponent: 2 - 2^-12 rounds to 2.0.
  EXPECT_EQ(f32_to_f16(2.0f - std::ldexp(1.0f, -12)), 0x4000);
  // Subnormal ties: 2^-25 is half the smallest subnormal -> 0; 3*2^-25 -> 2*2^-24 (even).
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(f32_to_f16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(f32_to_f16(3 * std::ldexp(1.0f, -25)), 0x0002);
  EXPECT_EQ(f32_to_f16(-3 * std::ldexp(1.0f, -25)), 0x8002);
  // Largest subnormal + half step rounds up into the smallest normal.
  EXPECT_EQ(f32_to_f16(std::ldexp(1023.5f, -24)), 0x0400);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -30)), 0x0000);
  EXPECT_EQ(f32_to_f16(-std::ldexp(1.0f, -30)), 0x8000);
}

TEST(F16, OverflowGoesToInfinityAndNaNStaysNaN) {
  EXPECT_EQ(f32_to_f16(65519.99f), 0x7bff);  // below the 65520 tie
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);   // tie with an odd mantissa rounds to inf
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00);
  EXPECT_EQ(f32_to_f16(-1e30f), 0xfc00);
  EXPECT_EQ(f32_to_f16(INFINITY), 0x7c00);
  EXPECT_EQ(f32_to_f16(-INFINITY), 0xfc00);
  for (std::uint32_t nan : {0x7fc00000u, 0x7f800001u, 0xffc00000u, 0x7f802000u, 0xff800001u}) {
    const std::uint16_t h = f32_to_f16(from_bits(nan));
    EXPECT_EQ(h & 0x7c00, 0x7c00) << std::hex << nan;
    EXPECT_NE(h & 0x03ff, 0) << "NaN " << std::hex << nan << " became infinity";
    EXPECT_EQ(h >> 15, nan >> 31) << "sign lost";
  }
}

TEST(F16, DecodesAllCodesLikeTheDefinition) {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const double ref = f16_reference(static_cast<std::uint16_t>(h));
    const float got = f16_to_f32(static_cast<std::uint16_t>(h));
    if (std::isnan(ref)) {
      ASSERT_TRUE(std::isnan(got)) << std::hex << h;
    } else {
      ASSERT_EQ(static_cast<double>(got), ref) << std::hex << h;
      ASSERT_EQ(std::signbit(got), std::signbit(ref)) << std::hex << h;
    }
  }
}

TEST(F16, ExhaustiveRoundTrip) {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_f32(static_cast<std::uint16_t>(h));
    const std::uint16_t back = f32_to_f16(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(f16_to_f32(back))) << std::hex << h;
      ASSERT_EQ(back >> 15, h >> 15);
    } else {
      ASSERT_EQ(back, h) << std::hex << h;
    }
  }
}

// Nearest-even rounding checked against a brute-force reference: the sorted list of every
// finite non-negative f16 value, searched for the nearest, ties to the even code.
TEST(F16, RandomInputsMatchBruteForceNearestEven) {
  std::vector<double> values;
  for (std::uint16_t h = 0; h < 0x7c00; ++h) values.push_back(f16_reference(h));
  auto reference = [&](float x) -> std::uint16_t {
    const std::uint16_t sign = std::signbit(x) ? 0x8000 : 0;
    const double a = std::fabs(static_cast<double>(x));
    // Beyond 65504 + half an ulp (65520) IEEE rounds to infinity; exactly 65520 ties to inf.
    if (a >= 65520.0) return sign | 0x7c00;
    auto it = std::lower_bound(values.begin(), values.end(), a);
    std::size_t hi = static_cast<std::size_t>(it - values.begin());
    if (hi == values.size()) return sign | 0x7bff;
    if (values[hi] == a || hi == 0) return static_cast<std::uint16_t>(sign | hi);
    const std::size_t lo = hi - 1;
    const double dlo = a - values[lo], dhi = values[hi] - a;
    std::size_t pick = dlo < dhi ? lo : dhi < dlo ? hi : (lo % 2 == 0 ? lo : hi);
    return static_cast<std::uint16_t>(sign | pick);
  };
  std::mt19937 rng(1234);
  std::uniform_int_distribution<std::uint32_t> any;
  for (int i = 0; i < 200000; ++i) {
    // Half the draws from f16's exponent range, where rounding is interesting.
    std::uint32_t b = any(rng);
    if (i % 2 == 0) b = (b & 0x807fffffu) | ((100u + (b >> 23) % 45u) << 23);
    const float x = from_bits(b);
    if (std::isnan(x)) continue;
    ASSERT_EQ(f32_to_f16(x), reference(x)) << std::hex << "bits 0x" << b;
  }
}

TEST(BF16, HandComputedValuesAndTies) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0x4049), 3.140625f);
  // bf16 keeps 7 mantissa bits: 1 + 2^-8 is a tie between 0x3f80 and 0x3f81 -> even 0x3f80.
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  // 1 + 3*2^-8 is a tie between 0x3f81 and 0x3f82 -> even 0x3f82.
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_EQ(f32_to_bf16(std::nextafter(1.0f + std::ldexp(1.0f, -8), 2.0f)), 0x3f81);
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f80ffffu)), 0x3f81);
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f807fffu)), 0x3f80);
  // The largest float rounds up past bf16's largest finite value to infinity.
  EXPECT_EQ(f32_to_bf16(from_bits(0x7f7fffffu)), 0x7f80);
  EXPECT_EQ(f32_to_bf16(from_bits(0x7f7f7fffu)), 0x7f7f);
  EXPECT_EQ(f32_to_bf16(INFINITY), 0x7f80);
  EXPECT_EQ(f32_to_bf16(-INFINITY), 0xff80);
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_bf16(from_bits(0x00000001u)), 0x0000);  // tiny subnormal rounds to 0
}

TEST(BF16, NaNStaysNaN) {
  // Payloads only in the low 16 bits would truncate to infinity: they must stay NaN.
  for (std::uint32_t nan : {0x7f800001u, 0xff800001u, 0x7fc00000u, 0x7fffffffu, 0x7f80ffffu}) {
    const std::uint16_t b = f32_to_bf16(from_bits(nan));
    EXPECT_TRUE(std::isnan(bf16_to_f32(b))) << std::hex << nan;
    EXPECT_EQ(b >> 15, nan >> 31);
  }
}

TEST(BF16, ExhaustiveRoundTrip) {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const float f = bf16_to_f32(static_cast<std::uint16_t>(b));
    EXPECT_EQ(bits(f), b << 16);
    const std::uint16_t back = f32_to_bf16(f);
    if (std::isnan(f)) ASSERT_TRUE(std::isnan(bf16_to_f32(back))) << std::hex << b;
    else ASSERT_EQ(back, b) << std::hex << b;
  }
}

TEST(E4M3, HandComputedValues) {
  EXPECT_EQ(e4m3_to_f32(0x7e), 448.0f);
  EXPECT_EQ(e4m3_to_f32(0xfe), -448.0f);
  EXPECT_EQ(e4m3_to_f32(0x01), std::ldexp(1.0f, -9));
  EXPECT_EQ(e4m3_to_f32(0x07), 7 * std::ldexp(1.0f, -9));
  EXPECT_EQ(e4m3_to_f32(0x08), std::ldexp(1.0f, -6));  // smallest normal
  EXPECT_EQ(e4m3_to_f32(0x38), 1.0f);
  EXPECT_EQ(e4m3_to_f32(0x39), 1.125f);
  EXPECT_EQ(e4m3_to_f32(0x40), 2.0f);
  EXPECT_EQ(e4m3_to_f32(0x77), 240.0f);  // 1.875 * 2^7
  EXPECT_EQ(e4m3_to_f32(0x78), 256.0f);  // e=15 is finite in e4m3fn
  EXPECT_EQ(bits(e4m3_to_f32(0x00)), 0x00000000u);
  EXPECT_EQ(bits(e4m3_to_f32(0x80)), 0x80000000u);
  EXPECT_TRUE(std::isnan(e4m3_to_f32(0x7f)));
  EXPECT_TRUE(std::isnan(e4m3_to_f32(0xff)));
}

TEST(E4M3, AllCodesMatchTheDefinition) {
  int nans = 0;
  for (int v = 0; v < 256; ++v) {
    const double ref = e4m3_reference(static_cast<std::uint8_t>(v));
    const float got = e4m3_to_f32(static_cast<std::uint8_t>(v));
    if (std::isnan(ref)) {
      ++nans;
      EXPECT_TRUE(std::isnan(got)) << v;
    } else {
      EXPECT_EQ(static_cast<double>(got), ref) << v;
      EXPECT_EQ(std::signbit(got), v >= 128) << v;
    }
  }
  EXPECT_EQ(nans, 2);
}

TEST(E4M3, EncodeRoundTripsEveryFiniteCode) {
  for (int v = 0; v < 256; ++v) {
    if ((v & 0x7f) == 0x7f) continue;
    EXPECT_EQ(f32_to_e4m3(e4m3_to_f32(static_cast<std::uint8_t>(v))), v) << v;
  }
}

TEST(E4M3, EncodeSaturatesRoundsEvenAndKeepsNaN) {
  EXPECT_EQ(f32_to_e4m3(448.0f), 0x7e);
  EXPECT_EQ(f32_to_e4m3(464.0f), 0x7e);
  EXPECT_EQ(f32_to_e4m3(1000.0f), 0x7e);
  EXPECT_EQ(f32_to_e4m3(-1e30f), 0xfe);
  EXPECT_EQ(f32_to_e4m3(INFINITY), 0x7e);
  EXPECT_EQ(f32_to_e4m3(-INFINITY), 0xfe);
  EXPECT_EQ(f32_to_e4m3(NAN) & 0x7f, 0x7f);
  EXPECT_EQ(f32_to_e4m3(-NAN), 0xff);
  EXPECT_EQ(f32_to_e4m3(1.0625f), 0x38);   // tie between 1.0 (0x38) and 1.125 (0x39)
  EXPECT_EQ(f32_to_e4m3(1.1875f), 0x3a);   // tie between 1.125 (0x39) and 1.25 (0x3a)
  EXPECT_EQ(f32_to_e4m3(1.07f), 0x39);
  EXPECT_EQ(f32_to_e4m3(std::ldexp(1.0f, -10)), 0x00);     // half the smallest subnormal
  EXPECT_EQ(f32_to_e4m3(3 * std::ldexp(1.0f, -10)), 0x02); // tie between 1 and 2 steps
  EXPECT_EQ(f32_to_e4m3(-std::ldexp(1.0f, -20)), 0x80);
  // Top binade: 256, 288, ..., 416 (0x7d), 448 (0x7e).
  EXPECT_EQ(f32_to_e4m3(416.0f), 0x7d);
  EXPECT_EQ(f32_to_e4m3(432.0f), 0x7e);  // tie 416/448 -> even code 0x7e
  EXPECT_EQ(f32_to_e4m3(400.0f), 0x7c);  // tie 384/416 -> even code 0x7c
}

// Every input rounds to the nearest representable value, with ties to the even code,
// checked against a brute-force search over the reference values.
TEST(E4M3, RandomInputsMatchBruteForceNearestEven) {
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> mag(-10.0f, 9.0f);
  for (int i = 0; i < 20000; ++i) {
    const float x = std::ldexp(1.0f, static_cast<int>(std::floor(mag(rng)))) *
                    std::uniform_real_distribution<float>(-2.0f, 2.0f)(rng);
    const double a = std::fabs(static_cast<double>(x));
    int best = 0;
    double best_err = INFINITY;
    for (int c = 0; c <= 0x7e; ++c) {
      const double err = std::fabs(e4m3_reference(static_cast<std::uint8_t>(c)) - a);
      if (err < best_err || (err == best_err && c % 2 == 0)) {
        best = c;
        best_err = err;
      }
    }
    if (a >= 448.0) best = 0x7e;
    const int expected = (std::signbit(x) ? 0x80 : 0) | best;
    ASSERT_EQ(f32_to_e4m3(x), expected) << x;
  }
}

}  // namespace
}  // namespace whale
