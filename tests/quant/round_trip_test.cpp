// round_trip_test.cpp — dequantize(quantize(x)) error per type on Gaussian, heavy-tailed and
// outlier-laden data, against thresholds derived from each type's bits per weight.
#include <gtest/gtest.h>

#include <cstdio>
#include <utility>
#include <vector>

#include "quant/dequantize.h"
#include "quant/dtype.h"
#include "quant_test_util.h"

namespace whale {
namespace {

using test::Distribution;

struct RoundTripCase {
  DType dtype;
  // Bounds on RMSE / RMS(x) for Gaussian, Student-t(3) and outlier-laden data.
  double max_gaussian, max_student_t3, max_outliers;
};

// Where the bounds come from. An absmax-scaled uniform quantizer with b bits over blocks of 32
// Gaussian values (block absmax about 2.1 sigma) has step ~ 2 * 2.1 sigma / 2^b and relative
// RMSE ~ step / sqrt(12) ~ 1.2 / 2^b: 8 bits 0.0047, 6 bits 0.019, 5 bits 0.038, 4 bits 0.076,
// 3 bits 0.15, 2 bits 0.30. Min offsets and least-squares scales (K types) win a little back,
// f16 sub-block scales and 256-element absmax (Q8_K) lose a little, and heavy tails widen a
// block's range relative to the RMS. Measured (seed 1, 65536 values; gaussian / student_t3 /
// outliers), and each bound is about 1.2x the measurement, never looser than needed:
//   Q8_0   0.00533 0.00856 0.01185     Q2_K   0.2684 0.2972 0.2302
//   Q8_1   0.00533 0.00856 0.01185     Q3_K   0.1438 0.1793 0.1177
//   Q4_0   0.0859  0.1247  0.1219      Q4_K   0.0711 0.0908 0.0925
//   Q4_1   0.0781  0.1009  0.1167      Q5_K   0.0358 0.0464 0.0514
//   Q5_0   0.0426  0.0651  0.0839      Q6_K   0.0172 0.0252 0.0331
//   Q5_1   0.0378  0.0484  0.0533      Q8_K   0.0069 0.0180 0.0280
//   IQ4_NL 0.0743  0.0986  0.1092      IQ4_XS 0.0750 0.0999 0.1110
//   IQ2_XXS 0.3274 0.4267 0.6161     IQ1_S  0.4450 0.5348 0.5334     IQ1_M 0.4119 0.4579 0.4093
//   (the codebook types, 2.06 / 1.56 / 1.75 bits per weight: Shannon's bound for Gaussian data,
//   2^-R, is 0.24 / 0.34 / 0.30; IQ2_XXS's outliers cost most because its 4-bit sub-block
//   scale and 3 magnitude levels cannot hold one large weight and its 31 small neighbours)
//   F16    0.00021 (unit roundoff 2^-11, RMS of a relative error uniform in +-u is u/sqrt(3))
//   BF16   0.0017  (unit roundoff 2^-8)
const RoundTripCase kCases[] = {
    {DType::kQ8_0, 0.0064, 0.010, 0.014},  {DType::kQ8_1, 0.0064, 0.010, 0.014},
    {DType::kQ4_0, 0.10, 0.15, 0.15},      {DType::kQ4_1, 0.094, 0.12, 0.14},
    {DType::kQ5_0, 0.051, 0.078, 0.10},    {DType::kQ5_1, 0.046, 0.058, 0.064},
    {DType::kQ2_K, 0.32, 0.36, 0.28},      {DType::kQ3_K, 0.17, 0.22, 0.14},
    {DType::kQ4_K, 0.085, 0.11, 0.11},     {DType::kQ5_K, 0.043, 0.056, 0.062},
    {DType::kQ6_K, 0.021, 0.030, 0.040},   {DType::kQ8_K, 0.0083, 0.022, 0.034},
    {DType::kIQ4_NL, 0.089, 0.12, 0.13},   {DType::kIQ4_XS, 0.090, 0.12, 0.134},
    {DType::kF16, 0.0003, 0.0003, 0.0003}, {DType::kBF16, 0.0023, 0.0023, 0.0023},
    {DType::kIQ2_XXS, 0.39, 0.51, 0.74},   {DType::kIQ1_S, 0.53, 0.64, 0.64},
    {DType::kIQ1_M, 0.49, 0.55, 0.49},
};

constexpr std::int64_t kElems = 65536;

class RoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(RoundTrip, ErrorWithinBitWidthBound) {
  const RoundTripCase c = GetParam();
  ASSERT_TRUE(has_quantize(c.dtype));
  ASSERT_TRUE(has_dequantize(c.dtype));
  const std::size_t bytes = *row_bytes(c.dtype, kElems);
  const std::pair<Distribution, double> runs[] = {{Distribution::kGaussian, c.max_gaussian},
                                                  {Distribution::kStudentT3, c.max_student_t3},
                                                  {Distribution::kOutliers, c.max_outliers}};
  for (const auto& [dist, bound] : runs) {
    const std::vector<float> x = test::make_data(dist, kElems, 1);
    std::vector<std::byte> q(bytes);
    std::vector<float> y(kElems);
    quantize_row(c.dtype, x.data(), q.data(), kElems);
    dequantize_row(c.dtype, q.data(), y.data(), kElems);
    const double rel = test::relative_rmse(x, y);
    std::printf("round trip %-7s %-10s rel_rmse %.5f (bound %.4f)\n",
                std::string(dtype_name(c.dtype)).c_str(),
                std::string(test::distribution_name(dist)).c_str(), rel, bound);
    EXPECT_LT(rel, bound) << dtype_name(c.dtype) << " on " << test::distribution_name(dist);
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, RoundTrip, ::testing::ValuesIn(kCases),
                         [](const auto& p) { return std::string(dtype_name(p.param.dtype)); });

// An all-zero row must come back as exact zeros (no 0/0 scales).
TEST(RoundTripEdges, ZeroBlocksDequantizeToZero) {
  for (const RoundTripCase& c : kCases) {
    const std::int64_t n = 256;
    std::vector<float> x(n, 0.0f), y(n, 1.0f);
    std::vector<std::byte> q(*row_bytes(c.dtype, n));
    quantize_row(c.dtype, x.data(), q.data(), n);
    dequantize_row(c.dtype, q.data(), y.data(), n);
    for (float v : y) ASSERT_EQ(v, 0.0f) << dtype_name(c.dtype);
  }
}

}  // namespace
}  // namespace whale
