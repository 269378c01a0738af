// python_ref_test.cpp — random valid blocks of every type dequantized by the C++ reference and
// by the independent numpy reference (ggml_blocks_ref.py) must agree bit for bit.
#include <gtest/gtest.h>

#include <bit>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "quant/dequantize.h"
#include "quant/dtype.h"

namespace whale {
namespace {

namespace fs = std::filesystem;

struct PyCase {
  DType dtype;
  std::vector<std::size_t> f16_offsets;  // scale fields in a block that must be finite f16
  std::vector<std::size_t> f32_offsets;  // scale fields that must be finite f32
};

// Every type with a Python dequantizer. For the plain float types each element is a "scale".
const PyCase kPyCases[] = {
    {DType::kQ4_0, {0}, {}},      {DType::kQ4_1, {0, 2}, {}}, {DType::kQ5_0, {0}, {}},
    {DType::kQ5_1, {0, 2}, {}},   {DType::kQ8_0, {0}, {}},    {DType::kQ8_1, {0, 2}, {}},
    {DType::kQ2_K, {80, 82}, {}}, {DType::kQ3_K, {108}, {}},  {DType::kQ4_K, {0, 2}, {}},
    {DType::kQ5_K, {0, 2}, {}},   {DType::kQ6_K, {208}, {}},  {DType::kQ8_K, {}, {0}},
    {DType::kIQ4_NL, {0}, {}},    {DType::kIQ4_XS, {0}, {}},  {DType::kF16, {0}, {}},
    {DType::kBF16, {}, {}},       {DType::kF32, {}, {0}},       {DType::kIQ2_XXS, {0}, {}},
    {DType::kIQ1_S, {0}, {}},     {DType::kIQ1_M, {}, {}},  // IQ1_M's d: make_finite_iq1_m
};

// Makes an f16 finite by clearing one exponent bit when the exponent is all ones; every other
// pattern (zeros, subnormals, negatives) stays.
void make_finite_f16(std::byte* p) {
  std::uint16_t h;
  std::memcpy(&h, p, 2);
  if ((h & 0x7C00u) == 0x7C00u) h &= static_cast<std::uint16_t>(~0x4000u);
  std::memcpy(p, &h, 2);
}

// f32 scale with exponent in 2^-20 .. 2^20 and random sign and mantissa.
void make_moderate_f32(std::byte* p, std::mt19937_64& rng) {
  const std::uint32_t exp = 127 - 20 + static_cast<std::uint32_t>(rng() % 41);
  const std::uint32_t bits = (static_cast<std::uint32_t>(rng()) & 0x807FFFFFu) | (exp << 23);
  std::memcpy(p, &bits, 4);
}

// IQ1_M keeps d's f16 bits in the top nibbles of its 4 scale words (bytes 48..55); exponent
// bits 12-14 are bits 4-6 of byte 55, and bit 14 cleared makes an all-ones exponent finite.
void make_finite_iq1_m(std::byte* blk) {
  const unsigned hi = static_cast<unsigned>(blk[55]) >> 4, lo = static_cast<unsigned>(blk[53]) >> 4;
  const bool all_ones = (hi & 7u) == 7u && (lo & 0xCu) == 0xCu;  // exponent bits 10-14
  if (all_ones) blk[55] &= static_cast<std::byte>(~0x40u);
}

void make_finite_bf16(std::byte* p) {
  std::uint16_t h;
  std::memcpy(&h, p, 2);
  if ((h & 0x7F80u) == 0x7F80u) h &= static_cast<std::uint16_t>(~0x4000u);
  std::memcpy(p, &h, 2);
}

std::vector<std::byte> random_blocks(const PyCase& c, std::int64_t n_blocks, std::uint64_t seed) {
  const DTypeTraits& tr = dtype_traits(c.dtype);
  std::mt19937_64 rng(seed);
  std::vector<std::byte> bytes(static_cast<std::size_t>(n_blocks) * tr.block_bytes);
  for (auto& b : bytes) b = static_cast<std::byte>(rng() & 0xFF);
  // Block 0 is all zero bits and block 1 all one bits (then made finite): the extreme codes.
  std::memset(bytes.data(), 0x00, tr.block_bytes);
  std::memset(bytes.data() + tr.block_bytes, 0xFF, tr.block_bytes);
  for (std::int64_t b = 0; b < n_blocks; ++b) {
    std::byte* blk = bytes.data() + static_cast<std::size_t>(b) * tr.block_bytes;
    for (std::size_t off : c.f16_offsets) make_finite_f16(blk + off);
    for (std::size_t off : c.f32_offsets) make_moderate_f32(blk + off, rng);
    if (c.dtype == DType::kBF16) make_finite_bf16(blk);
    if (c.dtype == DType::kIQ1_M) make_finite_iq1_m(blk);
  }
  return bytes;
}

fs::path test_tmp() {
  const char* env = std::getenv("WHALE_TEST_TMP");
  fs::path dir = env ? fs::path(env) : fs::temp_directory_path() / "whale-test-tmp";
  fs::create_directories(dir / "quant");
  return dir / "quant";
}

class MatchesPython : public ::testing::TestWithParam<PyCase> {};

TEST_P(MatchesPython, BitExactDequantization) {
  const PyCase& c = GetParam();
  ASSERT_TRUE(has_dequantize(c.dtype));
  const std::string name(dtype_name(c.dtype));
  const DTypeTraits& tr = dtype_traits(c.dtype);
  const std::int64_t n_blocks = tr.block_elems == 1 ? 4096 : 256;
  const std::int64_t n = n_blocks * tr.block_elems;
  const std::uint64_t seed = 1234 + static_cast<std::uint64_t>(c.dtype);
  const std::vector<std::byte> bytes = random_blocks(c, n_blocks, seed);

  const fs::path in = test_tmp() / (name + ".blocks");
  const fs::path out = test_tmp() / (name + ".py.f32");
  std::ofstream(in, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  fs::remove(out);
  const std::string cmd = "/usr/bin/python3 tests/quant/ggml_blocks_ref.py dequant " + name + " '" +
                          in.string() + "' '" + out.string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

  std::vector<float> py(static_cast<std::size_t>(n));
  std::ifstream f(out, std::ios::binary);
  f.read(reinterpret_cast<char*>(py.data()), static_cast<std::streamsize>(py.size() * 4));
  ASSERT_EQ(f.gcount(), static_cast<std::streamsize>(py.size() * 4)) << "short Python output";

  std::vector<float> cpp(static_cast<std::size_t>(n));
  dequantize_row(c.dtype, bytes.data(), cpp.data(), n);
  int mismatches = 0;
  for (std::int64_t i = 0; i < n && mismatches < 10; ++i) {
    const auto a = std::bit_cast<std::uint32_t>(cpp[static_cast<std::size_t>(i)]);
    const auto b = std::bit_cast<std::uint32_t>(py[static_cast<std::size_t>(i)]);
    if (a != b) {
      ++mismatches;
      ADD_FAILURE() << name << " seed " << seed << " element " << i << " (block "
                    << i / tr.block_elems << "): C++ " << cpp[static_cast<std::size_t>(i)]
                    << " Python " << py[static_cast<std::size_t>(i)];
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, MatchesPython, ::testing::ValuesIn(kPyCases),
                         [](const auto& p) { return std::string(dtype_name(p.param.dtype)); });

}  // namespace
}  // namespace whale
