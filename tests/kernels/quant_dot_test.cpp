// quant_dot_test.cpp — quantized dot-product kernels: the integer block sums of every ISA
// match the scalar reference bit for bit, and the float results lie within the f32 rounding
// bound of (a) the exact integer sums and (b) the dot product of the dequantized operands.
#include "kernels/quant_dot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu_features.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "util/float_convert.h"

namespace whale {
namespace {

constexpr double kU = 0x1p-24;  // f32 unit roundoff

enum class WeightType { kQ8_0, kQ4_K, kQ6_K };

struct Pair {
  WeightType weight;
  DType w_dtype;
  DType x_dtype;
  int sums_per_block;
  QuantDotFn QuantDotKernels::*dot;
  QuantBlockSumsFn QuantDotKernels::*sums;
};

const Pair kPairs[] = {
    {WeightType::kQ8_0, DType::kQ8_0, DType::kQ8_0, 1, &QuantDotKernels::dot_q8_0_q8_0,
     &QuantDotKernels::sums_q8_0_q8_0},
    {WeightType::kQ4_K, DType::kQ4_K, DType::kQ8_K, 2, &QuantDotKernels::dot_q4_k_q8_k,
     &QuantDotKernels::sums_q4_k_q8_k},
    {WeightType::kQ6_K, DType::kQ6_K, DType::kQ8_K, 1, &QuantDotKernels::dot_q6_k_q8_k,
     &QuantDotKernels::sums_q6_k_q8_k},
};

struct Operands {
  std::vector<std::byte> w, x;
  std::int64_t n = 0;
};

std::vector<float> gaussian(std::int64_t n, std::mt19937_64& rng, float outlier_rate) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& e : v) e = normal(rng) * (u(rng) < outlier_rate ? 25.0f : 1.0f);
  return v;
}

// Weights: quantized data (seed odd) or random bytes with every code pattern and finite
// scales (seed even; for Q8_0 this includes -128 weights). Activations: always from the
// reference quantizer, so their quants lie in [-127, 127] as the kernels require.
Operands make_operands(const Pair& p, std::int64_t n_blocks, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Operands o;
  const std::int64_t block = dtype_traits(p.w_dtype).block_elems;
  o.n = n_blocks * block;
  o.w.resize(*row_bytes(p.w_dtype, o.n));
  o.x.resize(*row_bytes(p.x_dtype, o.n));
  const std::vector<float> xf = gaussian(o.n, rng, 0.01f);
  quantize_row(p.x_dtype, xf.data(), o.x.data(), o.n);
  if (seed % 2 == 1) {
    const std::vector<float> wf = gaussian(o.n, rng, 0.01f);
    quantize_row(p.w_dtype, wf.data(), o.w.data(), o.n);
    return o;
  }
  for (auto& b : o.w) b = static_cast<std::byte>(rng() & 0xFF);
  const std::size_t bb = dtype_traits(p.w_dtype).block_bytes;
  for (std::int64_t b = 0; b < n_blocks; ++b) {
    std::byte* blk = o.w.data() + static_cast<std::size_t>(b) * bb;
    // Scales: f16 with exponent in 2^-14 .. 2^1, any sign (keeps products far from overflow).
    const auto set_f16 = [&](std::size_t off) {
      const std::uint16_t h =
          static_cast<std::uint16_t>((rng() & 0x83FF) | ((1 + rng() % 16) << 10));
      std::memcpy(blk + off, &h, 2);
    };
    switch (p.weight) {
      case WeightType::kQ8_0:
        set_f16(0);
        break;
      case WeightType::kQ4_K:
        set_f16(0);
        set_f16(2);
        break;
      case WeightType::kQ6_K:
        set_f16(208);
        break;
    }
  }
  return o;
}

// Float epilogue reference from exact integer sums, in double, and Σ|terms| for the bound.
struct Expected {
  double value = 0, abs_sum = 0;
};
Expected from_sums(const Pair& p, const Operands& o, const std::vector<std::int32_t>& sums) {
  Expected e;
  const std::int64_t n_blocks = static_cast<std::int64_t>(sums.size()) / p.sums_per_block;
  for (std::int64_t b = 0; b < n_blocks; ++b) {
    const std::size_t b_sz = static_cast<std::size_t>(b);
    if (p.weight == WeightType::kQ8_0) {
      const auto wb = load_block<BlockQ8_0>(o.w.data(), b);
      const auto xb = load_block<BlockQ8_0>(o.x.data(), b);
      const double t = static_cast<double>(f16_to_f32(wb.d)) * f16_to_f32(xb.d) * sums[b_sz];
      e.value += t;
      e.abs_sum += std::fabs(t);
    } else {
      const auto xb = load_block<BlockQ8_K>(o.x.data(), b);
      if (p.weight == WeightType::kQ4_K) {
        const auto wb = load_block<BlockQ4_K>(o.w.data(), b);
        const double t1 = static_cast<double>(f16_to_f32(wb.d)) * xb.d * sums[2 * b_sz];
        const double t2 = static_cast<double>(f16_to_f32(wb.dmin)) * xb.d * sums[2 * b_sz + 1];
        e.value += t1 - t2;
        e.abs_sum += std::fabs(t1) + std::fabs(t2);
      } else {
        const auto wb = load_block<BlockQ6_K>(o.w.data(), b);
        const double t = static_cast<double>(f16_to_f32(wb.d)) * xb.d * sums[b_sz];
        e.value += t;
        e.abs_sum += std::fabs(t);
      }
    }
  }
  return e;
}

std::vector<const QuantDotKernels*> all_kernels() {
  std::vector<const QuantDotKernels*> k{&quant_dot_ref()};
  if (quant_dot_avx2() != nullptr) k.push_back(quant_dot_avx2());
  return k;
}

class QuantDot : public ::testing::TestWithParam<Pair> {};

// The AVX2 sums exist only in x86 builds (an AArch64 build has no quant_dot_avx2 at all).
#if defined(__x86_64__) || defined(__i386__)
TEST_P(QuantDot, IntegerBlockSumsMatchReferenceExactly) {
  const Pair& p = GetParam();
  // The AVX2 sums exist exactly where the CPU has the instructions; without them there is
  // nothing but the reference to compare.
  ASSERT_EQ(quant_dot_avx2() != nullptr, cpu_has_avx2_fma_f16c());
  if (quant_dot_avx2() == nullptr) return;
  for (std::int64_t n_blocks : {1, 2, 7, 64}) {
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
      const Operands o = make_operands(p, n_blocks, seed);
      std::vector<std::int32_t> ref(static_cast<std::size_t>(n_blocks * p.sums_per_block));
      std::vector<std::int32_t> simd(ref.size(), -1);
      (quant_dot_ref().*p.sums)(o.w.data(), o.x.data(), n_blocks, ref.data());
      (quant_dot_avx2()->*p.sums)(o.w.data(), o.x.data(), n_blocks, simd.data());
      ASSERT_EQ(ref, simd) << dtype_name(p.w_dtype) << " n_blocks " << n_blocks << " seed " << seed;
    }
  }
}

// (a) The float result against the double epilogue over the exact integer sums. Each block
// adds a few roundings (scale product, int -> f32, fma) and the sum over n_blocks terms adds
// at most n_blocks more, each bounded by u times the sum of absolute terms.
#endif

TEST_P(QuantDot, FloatResultWithinRoundingBoundOfIntegerSums) {
  const Pair& p = GetParam();
  for (const QuantDotKernels* k : all_kernels()) {
    for (std::int64_t n_blocks : {1, 2, 7, 64}) {
      for (std::uint64_t seed = 1; seed <= 6; ++seed) {
        const Operands o = make_operands(p, n_blocks, seed);
        std::vector<std::int32_t> sums(static_cast<std::size_t>(n_blocks * p.sums_per_block));
        (quant_dot_ref().*p.sums)(o.w.data(), o.x.data(), n_blocks, sums.data());
        const Expected e = from_sums(p, o, sums);
        const double y = (k->*p.dot)(o.w.data(), o.x.data(), o.n);
        const double bound = (static_cast<double>(n_blocks) + 8) * kU * e.abs_sum + 1e-30;
        EXPECT_LE(std::fabs(y - e.value), bound)
            << k->isa_name << " " << dtype_name(p.w_dtype) << " n_blocks " << n_blocks << " seed "
            << seed << " got " << y << " expected " << e.value;
      }
    }
  }
}

// (b) Against Σ dequant(w)_i · dequant(x)_i in double: dequantization rounds each weight
// up to twice relative to its parts (d·sc, then ·q or -m), each activation once.
TEST_P(QuantDot, FloatResultMatchesDequantizedDotProduct) {
  const Pair& p = GetParam();
  for (const QuantDotKernels* k : all_kernels()) {
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
      const std::int64_t n_blocks = 16;
      const Operands o = make_operands(p, n_blocks, seed);
      std::vector<float> w(static_cast<std::size_t>(o.n)), x(w.size()), parts(w.size());
      dequantize_row(p.w_dtype, o.w.data(), w.data(), o.n);
      dequantize_row(p.x_dtype, o.x.data(), x.data(), o.n);
      // For Q4_K, |d·sc·q| + |dmin·m| bounds the rounding of each weight, not |w|: get both
      // parts by dequantizing copies with dmin = 0 and with d = 0.
      std::vector<float> scaled(w.size()), mins(w.size(), 0.0f);
      if (p.weight == WeightType::kQ4_K) {
        std::vector<std::byte> a = o.w, b = o.w;
        for (std::int64_t blk = 0; blk < n_blocks; ++blk) {
          std::memset(a.data() + blk * 144 + 2, 0, 2);
          std::memset(b.data() + blk * 144, 0, 2);
        }
        dequantize_row(p.w_dtype, a.data(), scaled.data(), o.n);
        dequantize_row(p.w_dtype, b.data(), mins.data(), o.n);
      } else {
        scaled = w;
      }
      double ref = 0, abs_sum = 0;
      for (std::size_t i = 0; i < w.size(); ++i) {
        ref += static_cast<double>(w[i]) * x[i];
        abs_sum +=
            (std::fabs(static_cast<double>(scaled[i])) + std::fabs(mins[i])) * std::fabs(x[i]);
      }
      const double y = (k->*p.dot)(o.w.data(), o.x.data(), o.n);
      const double bound = (static_cast<double>(n_blocks) + 12) * kU * abs_sum + 1e-30;
      EXPECT_LE(std::fabs(y - ref), bound) << k->isa_name << " " << dtype_name(p.w_dtype)
                                           << " seed " << seed << " got " << y << " ref " << ref;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(WeightTypes, QuantDot, ::testing::ValuesIn(kPairs), [](const auto& info_) {
  return std::string(dtype_name(info_.param.w_dtype));
});

TEST(QuantDotDispatch, PicksAvx2WhenTheCpuHasIt) {
  const QuantDotKernels& best = quant_dot_kernels();
  if (quant_dot_avx2() != nullptr)
    EXPECT_EQ(best.isa_name, quant_dot_avx2()->isa_name);
  else
    EXPECT_EQ(best.isa_name, quant_dot_ref().isa_name);
}

}  // namespace
}  // namespace whale
