// roofline_test.cpp — the measured limits are positive finite numbers and every read loop
// sums exactly the words it was given (a check of the loop, never of its speed).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/cpu_features.h"
#include "runtime/roofline.h"
#include "util/aligned_buffer.h"

namespace whale {
namespace {

std::vector<SimdLevel> levels() {
  std::vector<SimdLevel> v = {SimdLevel::kScalar};
  if (detect_simd_level() == SimdLevel::kAvx2) v.push_back(SimdLevel::kAvx2);
  return v;
}

TEST(Roofline, ReadLoopsSumEveryWord) {
  // words[i] = K * i, so the wrapping sum of the first n is K * n(n-1)/2 mod 2^64.
  const std::uint64_t k = 0x9e3779b97f4a7c15ull;
  AlignedBuffer<std::uint64_t> buf(1 << 16);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = k * i;
  for (SimdLevel level : levels()) {
    // Lengths around the 16-word unroll and an unaligned start exercise the tails.
    for (std::size_t n : {0u, 1u, 15u, 16u, 17u, 1000u, 65535u}) {
      const std::uint64_t m = n;
      EXPECT_EQ(read_sum(level, buf.data(), n), k * (m * (m - 1) / 2))
          << simd_level_name(level) << " n=" << n;
    }
    // From word 3: sum of K*i for i in [3, 3 + 101).
    std::uint64_t from3 = 0;
    for (std::uint64_t i = 3; i < 104; ++i) from3 += i;
    EXPECT_EQ(read_sum(level, buf.data() + 3, 101), k * from3) << simd_level_name(level);
  }
}

TEST(Roofline, ScalarAndSimdLoopsAgreeOnAWholeBuffer) {
  AlignedBuffer<std::uint64_t> buf((8u << 20) / 8 + 5);  // 8 MiB and a tail
  std::uint64_t x = 1;
  for (auto& w : buf) w = (x = x * 6364136223846793005ull + 1442695040888963407ull);
  const std::uint64_t scalar = read_sum(SimdLevel::kScalar, buf.data(), buf.size());
  for (SimdLevel level : levels()) EXPECT_EQ(read_sum(level, buf.data(), buf.size()), scalar);
}

TEST(Roofline, MeasuresArePositiveAndFinite) {
  ThreadPool pool(2);
  const double bw = measure_read_bandwidth(pool, 32u << 20, 2);
  const double fma = measure_fp32_fma_peak(pool);
  const double int8 = measure_int8_madd_peak(pool);
  const double int8_q8 = measure_int8_q8_block_peak(pool);
  // The VNNI chains only where the CPU has them (calling them elsewhere is illegal).
  const bool vnni = cpu_has_avx512_vnni_vl();
  const double int8_vnni = vnni ? measure_int8_madd_peak(pool, true) : 1.0;
  const double int8_q8_vnni = vnni ? measure_int8_q8_block_peak(pool, true) : 1.0;
  for (double v : {bw, fma, int8, int8_q8, int8_vnni, int8_q8_vnni}) {
    EXPECT_TRUE(std::isfinite(v));
    EXPECT_GT(v, 0.0);
  }
}

TEST(Roofline, SimdLevelHasAName) {
  EXPECT_EQ(simd_level_name(SimdLevel::kScalar), "scalar");
  EXPECT_EQ(simd_level_name(SimdLevel::kAvx2), "avx2");
}

}  // namespace
}  // namespace whale
