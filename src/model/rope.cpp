// rope.cpp — RoPE frequency tables. YaRN as in DeepSeek-V3 (yarn_find_correction_range, linear
// ramp between extrapolated and interpolated frequencies; `precompute_freqs_cis` in DeepSeek's
// inference/model.py); llama3 wavelength bands as in Llama 3.1's reference.
#include "model/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "util/check.h"

namespace whale {
namespace {

double yarn_mscale(double scale, double mscale) {
  if (scale <= 1.0) return 1.0;
  return 0.1 * mscale * std::log(scale) + 1.0;
}

// The rotary dimension at which `num_rotations` full turns fit in the original context.
double yarn_correction_dim(double num_rotations, double dims, double base, double max_pos) {
  return dims * std::log(max_pos / (num_rotations * 2.0 * std::numbers::pi)) / (2.0 * std::log(base));
}

}  // namespace

RopeTable make_rope_table(const ModelConfig& c, std::int64_t dims, RopeStyle style,
                          std::optional<std::span<const float>> freq_factors) {
  WHALE_CHECK(dims > 0 && dims % 2 == 0);
  RopeTable t;
  t.dims = dims;
  t.style = style;
  const std::int64_t half = dims / 2;
  const double base = c.rope_theta;
  t.inv_freq.resize(static_cast<std::size_t>(half));
  for (std::int64_t i = 0; i < half; ++i)
    t.inv_freq[static_cast<std::size_t>(i)] =
        1.0 / std::pow(base, static_cast<double>(2 * i) / static_cast<double>(dims));

  const RopeScaling& rs = c.rope_scaling;
  if (freq_factors) {
    WHALE_CHECK(static_cast<std::int64_t>(freq_factors->size()) == half);
    for (std::int64_t i = 0; i < half; ++i)
      t.inv_freq[static_cast<std::size_t>(i)] /= static_cast<double>((*freq_factors)[static_cast<std::size_t>(i)]);
    return t;
  }
  switch (rs.type) {
    case RopeScalingType::kNone:
      break;
    case RopeScalingType::kLinear:
      for (auto& f : t.inv_freq) f /= rs.factor;
      break;
    case RopeScalingType::kYarn: {
      const double orig = static_cast<double>(rs.original_max_position_embeddings);
      double low = std::floor(yarn_correction_dim(rs.beta_fast, static_cast<double>(dims), base, orig));
      double high = std::ceil(yarn_correction_dim(rs.beta_slow, static_cast<double>(dims), base, orig));
      low = std::max(low, 0.0);
      high = std::min(high, static_cast<double>(dims - 1));
      if (low == high) high += 0.001;  // avoid a zero-width ramp
      for (std::int64_t i = 0; i < half; ++i) {
        const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
        const double extrapolate = 1.0 - ramp;  // weight of the original frequency
        double& f = t.inv_freq[static_cast<std::size_t>(i)];
        f = f / rs.factor * (1.0 - extrapolate) + f * extrapolate;
      }
      // Hugging Face's DeepSeek YaRN scales cos/sin by this ratio; it is 1 for every released
      // config (mscale == mscale_all_dim), where DeepSeek's own reference applies none.
      t.cos_sin_scale = yarn_mscale(rs.factor, rs.mscale) / yarn_mscale(rs.factor, rs.mscale_all_dim);
      break;
    }
    case RopeScalingType::kLlama3: {
      const double orig = static_cast<double>(rs.original_max_position_embeddings);
      const double low_wavelen = orig / rs.low_freq_factor;
      const double high_wavelen = orig / rs.high_freq_factor;
      for (auto& f : t.inv_freq) {
        const double wavelen = 2.0 * std::numbers::pi / f;
        if (wavelen < high_wavelen) continue;
        if (wavelen > low_wavelen) {
          f /= rs.factor;
        } else {
          const double smooth = (orig / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
          f = (1.0 - smooth) * f / rs.factor + smooth * f;
        }
      }
      break;
    }
  }
  return t;
}

namespace {

// The cos and sin (× cos_sin_scale) of pair i's angle at `pos`.
std::pair<double, double> pair_cos_sin(const RopeTable& t, std::int64_t pos, std::int64_t i) {
  const double angle = static_cast<double>(pos) * t.inv_freq[static_cast<std::size_t>(i)];
  return {std::cos(angle) * t.cos_sin_scale, std::sin(angle) * t.cos_sin_scale};
}

// Rotates pair i of x by (c, s).
void rotate_pair(const RopeTable& t, std::int64_t i, double c, double s, float* x) {
  const std::int64_t half = t.dims / 2;
  float* a;
  float* b;
  if (t.style == RopeStyle::kInterleaved) {
    a = x + 2 * i;
    b = x + 2 * i + 1;
  } else {
    a = x + i;
    b = x + i + half;
  }
  const double xa = *a, xb = *b;
  *a = static_cast<float>(xa * c - xb * s);
  *b = static_cast<float>(xa * s + xb * c);
}

}  // namespace

void apply_rope(const RopeTable& t, std::int64_t pos, float* x) {
  for (std::int64_t i = 0; i < t.dims / 2; ++i) {
    const auto [c, s] = pair_cos_sin(t, pos, i);
    rotate_pair(t, i, c, s, x);
  }
}

void RopeCache::reserve(std::int64_t n) {
  const std::int64_t half = table_.dims / 2;
  const auto have = half > 0 ? static_cast<std::int64_t>(cos_sin_.size()) / (2 * half) : n;
  if (n <= have) return;
  cos_sin_.resize(static_cast<std::size_t>(n * 2 * half));
  for (std::int64_t pos = have; pos < n; ++pos)
    for (std::int64_t i = 0; i < half; ++i) {
      const auto [c, s] = pair_cos_sin(table_, pos, i);
      cos_sin_[static_cast<std::size_t>((pos * half + i) * 2)] = c;
      cos_sin_[static_cast<std::size_t>((pos * half + i) * 2 + 1)] = s;
    }
}

void RopeCache::apply(std::int64_t pos, float* x) const {
  const std::int64_t half = table_.dims / 2;
  const double* cs = cos_sin_.data() + pos * 2 * half;
  for (std::int64_t i = 0; i < half; ++i) rotate_pair(table_, i, cs[2 * i], cs[2 * i + 1], x);
}

}  // namespace whale
