// q8_k_test.cpp — Q8_K activation quantization: quants, bsums and the f32 scale agree.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant_test_util.h"

namespace whale {
namespace {

std::vector<BlockQ8_K> quantize_q8_k(const std::vector<float>& x) {
  std::vector<BlockQ8_K> blocks(x.size() / kQK_K);
  quantize_row(DType::kQ8_K, x.data(), reinterpret_cast<std::byte*>(blocks.data()),
               static_cast<std::int64_t>(x.size()));
  return blocks;
}

TEST(Q8K, BsumsAreSumsOfSixteenQuants) {
  for (auto dist : {test::Distribution::kGaussian, test::Distribution::kStudentT3,
                    test::Distribution::kOutliers}) {
    const std::vector<float> x = test::make_data(dist, 64 * kQK_K, 7);
    const auto blocks = quantize_q8_k(x);
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      for (int j = 0; j < kQK_K / 16; ++j) {
        int sum = 0;
        for (int i = 16 * j; i < 16 * j + 16; ++i) sum += blocks[b].qs[i];
        ASSERT_EQ(blocks[b].bsums[j], sum) << "block " << b << " group " << j;
      }
    }
  }
}

// The largest-magnitude value maps to exactly -127 (d carries its sign), no quant is -128,
// and every quant is the nearest integer to x / d.
TEST(Q8K, QuantsAreNearestLevelsOfTheAbsmaxScale) {
  const std::vector<float> x = test::make_data(test::Distribution::kStudentT3, 16 * kQK_K, 11);
  const auto blocks = quantize_q8_k(x);
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const float* xb = x.data() + b * kQK_K;
    int arg = 0;
    for (int i = 1; i < kQK_K; ++i)
      if (std::fabs(xb[i]) > std::fabs(xb[arg])) arg = i;
    EXPECT_EQ(blocks[b].qs[arg], -127) << "block " << b;
    // d = 1 / (-127 / max) = -max / 127 up to two f32 roundings.
    EXPECT_NEAR(blocks[b].d, -xb[arg] / 127.0f, std::fabs(xb[arg]) / 127.0f * 3e-7f);
    for (int i = 0; i < kQK_K; ++i) {
      ASSERT_GE(blocks[b].qs[i], -127);
      // |x/d - q| <= 1/2 plus slack for the rounding of iscale and d.
      EXPECT_LE(std::fabs(static_cast<double>(xb[i]) / blocks[b].d - blocks[b].qs[i]), 0.5 + 1e-4)
          << "block " << b << " element " << i;
    }
  }
}

TEST(Q8K, ZeroBlockHasZeroScaleQuantsAndSums) {
  std::vector<float> x(kQK_K, 0.0f);
  x[3] = -0.0f;
  const auto blocks = quantize_q8_k(x);
  EXPECT_EQ(blocks[0].d, 0.0f);
  for (auto q : blocks[0].qs) EXPECT_EQ(q, 0);
  for (auto s : blocks[0].bsums) EXPECT_EQ(s, 0);
}

// Hand-worked: x = i - 128 for i in [0, 256): absmax 128 at i = 0 (x = -128), so
// iscale = -127 / -128 and d = 128 / 127; q_i = round((i - 128) * 127 / 128).
TEST(Q8K, HandWorkedRamp) {
  std::vector<float> x(kQK_K);
  for (int i = 0; i < kQK_K; ++i) x[i] = static_cast<float>(i - 128);
  const auto blocks = quantize_q8_k(x);
  EXPECT_FLOAT_EQ(blocks[0].d, 128.0f / 127.0f);
  EXPECT_EQ(blocks[0].qs[0], -127);  // -128 * 127/128
  EXPECT_EQ(blocks[0].qs[128], 0);
  EXPECT_EQ(blocks[0].qs[255], 126);  // 127 * 127/128 = 126.0078 -> 126
  // 64 * 127/128 = 63.5 exactly (127/128 is exact in f32); ties round to even, as ggml does.
  EXPECT_EQ(blocks[0].qs[192], 64);
  EXPECT_EQ(blocks[0].qs[64], -64);  // -64 * 127/128 = -63.5 -> even -64
  EXPECT_EQ(blocks[0].qs[65], -63);  // -63 * 127/128 = -62.508 -> -63
}

}  // namespace
}  // namespace whale
