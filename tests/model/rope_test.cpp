// rope_test.cpp — RoPE tables and rotation against hand-computed values.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "model/rope.h"

namespace whale {
namespace {

ModelConfig base_config(double theta) {
  ModelConfig c;
  c.rope_theta = theta;
  return c;
}

// dims 4, theta 10000: inverse frequencies 10000^0 = 1 and 10000^(-2/4) = 0.01.
TEST(Rope, DefaultFrequenciesAndInterleavedRotation) {
  RopeTable t = make_rope_table(base_config(10000.0), 4, RopeStyle::kInterleaved);
  ASSERT_EQ(t.inv_freq.size(), 2u);
  EXPECT_DOUBLE_EQ(t.inv_freq[0], 1.0);
  EXPECT_NEAR(t.inv_freq[1], 0.01, 1e-15);
  std::vector<float> x = {1, 0, 1, 0};
  apply_rope(t, 1, x.data());  // pairs (0,1) by 1 rad, (2,3) by 0.01 rad
  EXPECT_NEAR(x[0], std::cos(1.0), 1e-7);
  EXPECT_NEAR(x[1], std::sin(1.0), 1e-7);
  EXPECT_NEAR(x[2], std::cos(0.01), 1e-7);
  EXPECT_NEAR(x[3], std::sin(0.01), 1e-7);
}

// NeoX style pairs element i with i + d/2.
TEST(Rope, NeoxPairsHalves) {
  RopeTable t = make_rope_table(base_config(10000.0), 4, RopeStyle::kNeox);
  std::vector<float> x = {1, 1, 0, 0};
  apply_rope(t, 2, x.data());  // (x0, x2) by 2 rad, (x1, x3) by 0.02 rad
  EXPECT_NEAR(x[0], std::cos(2.0), 1e-7);
  EXPECT_NEAR(x[2], std::sin(2.0), 1e-7);
  EXPECT_NEAR(x[1], std::cos(0.02), 1e-7);
  EXPECT_NEAR(x[3], std::sin(0.02), 1e-7);
}

// llama3 bands with original context 16, factor 8, low 1, high 4: wavelengths 2*pi/f above 16
// are divided by 8, below 4 kept, in between blended with smooth = (16/wavelen - 1) / 3.
// dims 8, theta 100: f = 1, 0.316..., 0.1, 0.0316... -> wavelengths 6.28, 19.9, 62.8, 198.7.
TEST(Rope, Llama3Bands) {
  ModelConfig c = base_config(100.0);
  c.rope_scaling.type = RopeScalingType::kLlama3;
  c.rope_scaling.factor = 8;
  c.rope_scaling.low_freq_factor = 1;
  c.rope_scaling.high_freq_factor = 4;
  c.rope_scaling.original_max_position_embeddings = 16;
  RopeTable t = make_rope_table(c, 8, RopeStyle::kNeox);
  const double f1 = std::pow(100.0, -0.25);
  const double w0 = 2 * std::numbers::pi;  // 6.28: between 4 and 16 -> blended
  const double smooth0 = (16.0 / w0 - 1.0) / 3.0;
  EXPECT_NEAR(t.inv_freq[0], (1 - smooth0) * 1.0 / 8 + smooth0 * 1.0, 1e-12);
  EXPECT_NEAR(t.inv_freq[1], f1 / 8, 1e-12);          // wavelength 19.9 > 16
  EXPECT_NEAR(t.inv_freq[2], 0.1 / 8, 1e-12);
  EXPECT_NEAR(t.inv_freq[3], std::pow(100.0, -0.75) / 8, 1e-12);
}

// YaRN (DeepSeek): dims 8, theta 10000, factor 4, original 16, beta_fast 32, beta_slow 1.
// correction dim(r) = 8 * ln(16 / (2 pi r)) / (2 ln 10000); for r = 32 it is negative, so
// low = 0; for r = 1, 8 * ln(2.546) / 18.42 = 0.406 -> high = ceil = 1. The ramp is
// clamp((i - 0) / (1 - 0)) : i = 0 keeps the original frequency, i >= 1 are divided by 4.
TEST(Rope, YarnRamp) {
  ModelConfig c = base_config(10000.0);
  c.rope_scaling.type = RopeScalingType::kYarn;
  c.rope_scaling.factor = 4;
  c.rope_scaling.original_max_position_embeddings = 16;
  c.rope_scaling.mscale = 1.0;
  c.rope_scaling.mscale_all_dim = 1.0;
  RopeTable t = make_rope_table(c, 8, RopeStyle::kInterleaved);
  EXPECT_DOUBLE_EQ(t.inv_freq[0], 1.0);
  for (int i = 1; i < 4; ++i) EXPECT_NEAR(t.inv_freq[i], std::pow(10000.0, -2.0 * i / 8) / 4, 1e-15);
  EXPECT_DOUBLE_EQ(t.cos_sin_scale, 1.0);
  // The softmax scale carries mscale^2 = (0.1 ln 4 + 1)^2.
  c.arch = Arch::kDeepSeek2;
  c.qk_nope_head_dim = 8;
  c.qk_rope_head_dim = 8;
  const double m = 0.1 * std::log(4.0) + 1.0;
  EXPECT_NEAR(c.attention_scale(), m * m / 4.0, 1e-12);
}

// The cache keeps each position's cos and sin: the same bits as computing them per call, for
// both pair layouts, positions reserved in several steps, and a YaRN cos/sin scale.
TEST(Rope, CacheEqualsApplyRopeBitForBit) {
  for (RopeStyle style : {RopeStyle::kInterleaved, RopeStyle::kNeox}) {
    RopeTable t = make_rope_table(base_config(10000.0), 64, style);
    t.cos_sin_scale = 1.0625;
    RopeCache cache(t);
    cache.reserve(3);
    cache.reserve(1);  // never shrinks
    cache.reserve(700);
    for (std::int64_t pos : {0, 1, 2, 3, 511, 699}) {
      std::vector<float> a(64), b(64);
      for (int i = 0; i < 64; ++i) a[static_cast<std::size_t>(i)] = b[static_cast<std::size_t>(i)] = std::sin(0.37f * static_cast<float>(i + pos)) * 3.0f;
      apply_rope(t, pos, a.data());
      cache.apply(pos, b.data());
      for (int i = 0; i < 64; ++i)
        ASSERT_EQ(std::bit_cast<std::uint32_t>(a[static_cast<std::size_t>(i)]), std::bit_cast<std::uint32_t>(b[static_cast<std::size_t>(i)]))
            << "style " << static_cast<int>(style) << " pos " << pos << " element " << i;
    }
  }
}

}  // namespace
}  // namespace whale
