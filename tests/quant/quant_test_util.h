// quant_test_util.h — shared helpers for the quant tests: f16 bit patterns and data generators.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

namespace whale::test {

enum class Distribution { kGaussian, kStudentT3, kOutliers };

inline std::string_view distribution_name(Distribution d) {
  switch (d) {
    case Distribution::kGaussian:
      return "gaussian";
    case Distribution::kStudentT3:
      return "student_t3";
    case Distribution::kOutliers:
      return "outliers";
  }
  return "?";
}

// n samples: N(0, 1); Student-t with 3 degrees of freedom (heavy tails, like trained weights);
// or N(0, 1) with 1% of values scaled by 30 (the isolated outliers LLM weights have).
inline std::vector<float> make_data(Distribution dist, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::student_t_distribution<float> student(3.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<float> x(n);
  for (auto& v : x) {
    switch (dist) {
      case Distribution::kGaussian:
        v = normal(rng);
        break;
      case Distribution::kStudentT3:
        v = student(rng);
        break;
      case Distribution::kOutliers:
        v = normal(rng) * (uniform(rng) < 0.01f ? 30.0f : 1.0f);
        break;
    }
  }
  return x;
}

// RMSE(x, y) / RMS(x), in double.
inline double relative_rmse(const std::vector<float>& x, const std::vector<float>& y) {
  double err = 0, ref = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    err += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
    ref += static_cast<double>(x[i]) * x[i];
  }
  return std::sqrt(err / ref);
}

}  // namespace whale::test
