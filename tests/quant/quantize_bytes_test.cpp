// quantize_bytes_test.cpp — quantize_row's output bytes for every type stay what they were.
//
// The quantizer's bytes are a contract (quantize / convert outputs are compared byte for byte,
// and docs/quantization.md describes the search). Speed work on src/quant must not change them,
// so tests/quant/data/quantize_row_checksums.txt holds FNV-1a-64 checksums of quantize_row on
// fixed inputs, recorded once from the quantizer *before* it was optimised (commit "Test:
// checksums of quantize_row ..."). Whether those bytes are good is tested independently by the
// round-trip, hand-worked and Python-reference tests; this test only guards "unchanged".
//
// Re-record (only when the search is changed on purpose, and say so in the commit):
//   WHALE_RECORD_QUANT_CHECKSUMS=tests/quant/data/quantize_row_checksums.txt
//   build/ci/tests/quant/quant_bytes_test   (both on one line, from the source root)
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/dtype.h"
#include "quant/quant_search.h"

namespace whale {
namespace {

constexpr const char* kChecksumFile = "tests/quant/data/quantize_row_checksums.txt";
constexpr std::int64_t kElems = 4096;  // 16 super-blocks, 128 blocks of 32

// splitmix64: integer-only, so the inputs are the same on every libm and standard library.
struct SplitMix {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 24 random bits (exact in f32).
  float uniform() { return static_cast<float>(next() >> 40) * 0x1p-24f; }
};

// Inputs that reach every branch of the searches: smooth, heavy-tailed, outliers, one-signed,
// degenerate (zero / constant / tiny) and mixed sub-blocks.
enum class Input {
  kBell,
  kHeavy,
  kOutliers,
  kPositive,
  kNegative,
  kZeros,
  kConstant,
  kTiny,
  kMixedBlocks,
  kHuge
};

const char* input_name(Input in) {
  switch (in) {
    case Input::kBell:
      return "bell";
    case Input::kHeavy:
      return "heavy";
    case Input::kOutliers:
      return "outliers";
    case Input::kPositive:
      return "positive";
    case Input::kNegative:
      return "negative";
    case Input::kZeros:
      return "zeros";
    case Input::kConstant:
      return "constant";
    case Input::kTiny:
      return "tiny";
    case Input::kMixedBlocks:
      return "mixed_blocks";
    case Input::kHuge:
      return "huge";
  }
  return "?";
}

std::vector<float> make_input(Input in, std::uint64_t seed) {
  SplitMix rng{seed};
  std::vector<float> x(kElems);
  for (std::int64_t i = 0; i < kElems; ++i) {
    // Irwin-Hall(4), centred: bell-shaped in [-2, 2].
    const float bell = rng.uniform() + rng.uniform() + rng.uniform() + rng.uniform() - 2.0f;
    const float u = rng.uniform();
    float v = 0.0f;
    switch (in) {
      case Input::kBell:
        v = bell;
        break;
      case Input::kHeavy:
        v = bell / (0.05f + u);
        break;  // ratio: tails like 1/x^2
      case Input::kOutliers:
        v = u < 0.01f ? 40.0f * bell : bell;
        break;
      case Input::kPositive:
        v = std::fabs(bell) + 0.25f;
        break;
      case Input::kNegative:
        v = -std::fabs(bell) * 3.0f;
        break;
      case Input::kZeros:
        v = 0.0f;
        break;
      case Input::kConstant:
        v = 0.75f;
        break;
      case Input::kTiny:
        v = bell * 1e-31f;
        break;  // at and below kTinyAbs
      case Input::kMixedBlocks: {
        const std::int64_t sub = i / 16;  // vary per 16-element sub-block
        v = sub % 5 == 0 ? 0.0f : sub % 5 == 1 ? 1e-3f * bell : sub % 5 == 2 ? -0.5f : bell;
        break;
      }
      case Input::kHuge:
        v = bell * 3e4f;
        break;  // scales near f16's range
    }
    x[static_cast<std::size_t>(i)] = v;
  }
  return x;
}

std::uint64_t fnv1a(const std::vector<std::byte>& bytes) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::byte b : bytes) {
    h ^= static_cast<std::uint64_t>(b);
    h *= 0x100000001b3ull;
  }
  return h;
}

// "TYPE input" -> checksum, for every quantizable block type and input.
std::map<std::string, std::uint64_t> compute_all() {
  std::map<std::string, std::uint64_t> out;
  const Input inputs[] = {Input::kBell,        Input::kHeavy, Input::kOutliers, Input::kPositive,
                          Input::kNegative,    Input::kZeros, Input::kConstant, Input::kTiny,
                          Input::kMixedBlocks, Input::kHuge};
  for (std::size_t t = 0; t < dtype_count(); ++t) {
    const DTypeTraits& tr = dtype_at(t);
    if (!tr.is_quantized || !has_quantize(tr.dtype)) continue;
    for (std::size_t k = 0; k < std::size(inputs); ++k) {
      const std::vector<float> x = make_input(inputs[k], 1000 + k);
      std::vector<std::byte> q(*row_bytes(tr.dtype, kElems));
      quantize_row(tr.dtype, x.data(), q.data(), kElems);
      out[std::string(tr.name) + " " + input_name(inputs[k])] = fnv1a(q);
    }
  }
  return out;
}

TEST(QuantizeBytes, MatchRecordedChecksums) {
  const std::map<std::string, std::uint64_t> now = compute_all();
  ASSERT_GE(now.size(), 100u);  // 14 block types x 10 inputs
  if (const char* record = std::getenv("WHALE_RECORD_QUANT_CHECKSUMS")) {
    std::ofstream out(record);
    ASSERT_TRUE(out) << "cannot write " << record;
    out << "# quantize_row FNV-1a-64 checksums; see tests/quant/quantize_bytes_test.cpp\n";
    for (const auto& [key, sum] : now) {
      char hex[17];
      std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(sum));
      out << key << ' ' << hex << '\n';
    }
    std::printf("recorded %zu checksums to %s\n", now.size(), record);
    return;  // a recording run compares nothing
  }
  std::ifstream in(kChecksumFile);
  ASSERT_TRUE(in) << "cannot read " << kChecksumFile << " (run from the source root)";
  std::map<std::string, std::uint64_t> recorded;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string type, input, hex;
    ASSERT_TRUE(static_cast<bool>(fields >> type >> input >> hex)) << "bad line: " << line;
    recorded[type + " " + input] = std::stoull(hex, nullptr, 16);
  }
  ASSERT_EQ(recorded.size(), now.size()) << "types or inputs changed; re-record on purpose";
  for (const auto& [key, sum] : now) {
    const auto it = recorded.find(key);
    ASSERT_NE(it, recorded.end()) << key << " has no recorded checksum";
    EXPECT_EQ(it->second, sum) << key << ": quantize_row bytes changed";
  }
}

// The searches run an AVX2 copy where the CPU has it (quant_search.cpp); the checksums above
// then cover that copy only. The portable copy must give the same bits: compare them here on
// every input of the checksum test, per sub-block shape and level count the quantizers use.
// (On a CPU without AVX2 both calls run the portable copy.)
TEST(QuantSearch, Avx2EqualsPortable) {
  const Input inputs[] = {Input::kBell,        Input::kHeavy, Input::kOutliers, Input::kPositive,
                          Input::kNegative,    Input::kZeros, Input::kConstant, Input::kTiny,
                          Input::kMixedBlocks, Input::kHuge};
  const std::pair<int, int> shapes[] = {{16, 16}, {8, 32}};  // n_sub x sub_len
  int compared = 0;
  for (std::size_t k = 0; k < std::size(inputs); ++k) {
    const std::vector<float> x = make_input(inputs[k], 2000 + k);
    for (std::int64_t off = 0; off < kElems; off += 256) {
      const float* sb = x.data() + off;
      for (const auto& [n_sub, sub_len] : shapes) {
        for (int nmax : {3, 15, 31}) {  // Q2_K, Q4_K, Q5_K
          std::vector<int> qa(256), qb(256);
          std::vector<quant_ref::ScaleAndMin> a(static_cast<std::size_t>(n_sub)), b(a);
          quant_ref::fit_scale_min_blocks(sb, n_sub, sub_len, nmax, qa.data(), a.data());
          quant_ref::fit_scale_min_blocks_portable(sb, n_sub, sub_len, nmax, qb.data(), b.data());
          ASSERT_EQ(qa, qb) << input_name(inputs[k]) << " offset " << off << " nmax " << nmax;
          for (int j = 0; j < n_sub; ++j) {
            const auto sj = static_cast<std::size_t>(j);
            ASSERT_EQ(std::bit_cast<std::uint32_t>(a[sj].scale),
                      std::bit_cast<std::uint32_t>(b[sj].scale));
            ASSERT_EQ(std::bit_cast<std::uint32_t>(a[sj].min),
                      std::bit_cast<std::uint32_t>(b[sj].min));
          }
          ++compared;
        }
        for (int nmax : {4, 32}) {  // Q3_K, Q6_K
          std::vector<int> qa(256), qb(256);
          std::vector<float> a(static_cast<std::size_t>(n_sub)), b(a);
          quant_ref::fit_symmetric_blocks(sb, n_sub, sub_len, nmax, qa.data(), a.data());
          quant_ref::fit_symmetric_blocks_portable(sb, n_sub, sub_len, nmax, qb.data(), b.data());
          ASSERT_EQ(qa, qb) << input_name(inputs[k]) << " offset " << off << " nmax " << nmax;
          for (int j = 0; j < n_sub; ++j) {
            const auto sj = static_cast<std::size_t>(j);
            ASSERT_EQ(std::bit_cast<std::uint32_t>(a[sj]), std::bit_cast<std::uint32_t>(b[sj]));
          }
          ++compared;
        }
      }
    }
  }
  // IQ4_XS / IQ4_NL: 8 sub-blocks of 32 at once, and one.
  for (std::size_t k = 0; k < std::size(inputs); ++k) {
    const std::vector<float> x = make_input(inputs[k], 3000 + k);
    for (std::int64_t off = 0; off < kElems; off += 256) {
      for (int n_sub : {8, 1}) {
        std::vector<float> a(8), b(8);
        quant_ref::fit_nonuniform_blocks(x.data() + off, n_sub, kIq4nlValues, a.data());
        quant_ref::fit_nonuniform_blocks_portable(x.data() + off, n_sub, kIq4nlValues, b.data());
        for (int j = 0; j < n_sub; ++j) {
          const auto sj = static_cast<std::size_t>(j);
          ASSERT_EQ(std::bit_cast<std::uint32_t>(a[sj]), std::bit_cast<std::uint32_t>(b[sj]))
              << input_name(inputs[k]) << " offset " << off << " sub-block " << j;
        }
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 10 * 16 * 2 * 5 + 10 * 16 * 2);
}

}  // namespace
}  // namespace whale
