// q8_matmul_test.cpp — the integer matmul path (kernels/q8_matmul.h):
//  * the fast (AVX2 / NEON) activation quantizer gives the reference quantizer's values exactly;
//  * every ISA's kernel equals the scalar reference bit for bit, for every type, on odd shapes,
//    token counts and thread counts (the contract fixes the order of every f32 operation);
//  * the reference itself equals, within f32 rounding, Σ dequant(w)·dequant(x) in double, with
//    dequantize_row as the independent definition of each layout;
//  * against the unquantized activations the error stays within the Q8 activation bound
//    Σ_b (d_x(b)/2) · Σ_{i in b} |w_i| (docs/kernels.md).
#include "kernels/q8_matmul.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string_view>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/matmul.h"
#include "quant/dequantize.h"
#include "shared_pool.h"

namespace whale {
namespace {

constexpr double kU = 0x1p-24;  // f32 unit roundoff

std::vector<float> gaussian(std::int64_t n, std::mt19937_64& rng, float outlier_rate) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& e : v) e = normal(rng) * (u(rng) < outlier_rate ? 30.0f : 1.0f);
  return v;
}

struct Weights {
  std::vector<std::byte> bytes;
  WeightView view;
};

// Quantized Gaussian weights (seed odd) or random bytes with every code pattern and finite
// f16 scales (seed even): the kernels must agree on any block, not only on quantizer output.
Weights make_weights(DType t, std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Weights w;
  const std::size_t rb = *row_bytes(t, cols);
  w.bytes.resize(rb * static_cast<std::size_t>(rows));
  if (seed % 2 == 1) {
    for (std::int64_t r = 0; r < rows; ++r) {
      const auto row = gaussian(cols, rng, 0.01f);
      quantize_row(t, row.data(), w.bytes.data() + r * rb, cols);
    }
  } else {
    for (auto& b : w.bytes) b = static_cast<std::byte>(rng() & 0xFF);
    // Overwrite every f16 field with a finite value (exponent 2^-14 .. 2^1, any sign), so no
    // product overflows and no NaN hides a difference.
    const auto traits = dtype_traits(t);
    std::vector<std::size_t> f16_offsets;
    switch (t) {
      case DType::kQ2_K: f16_offsets = {80, 82}; break;
      case DType::kQ3_K: f16_offsets = {108}; break;
      case DType::kQ4_K: case DType::kQ5_K: f16_offsets = {0, 2}; break;
      case DType::kQ6_K: f16_offsets = {208}; break;
      case DType::kQ4_1: case DType::kQ5_1: f16_offsets = {0, 2}; break;
      default: f16_offsets = {0}; break;  // Q8_0, Q4_0, Q5_0, IQ4_NL, IQ4_XS: d first
    }
    for (std::size_t off = 0; off + traits.block_bytes <= w.bytes.size(); off += traits.block_bytes)
      for (std::size_t f : f16_offsets) {
        const auto h = static_cast<std::uint16_t>((rng() & 0x83FF) | ((1 + rng() % 16) << 10));
        std::memcpy(w.bytes.data() + off + f, &h, 2);
      }
  }
  w.view.dtype = t;
  w.view.rows = rows;
  w.view.cols = cols;
  w.view.row_bytes = rb;
  w.view.data = w.bytes.data();
  return w;
}

// --- activation quantizer ---------------------------------------------------------------------

TEST(Q8Acts, FastQuantizerEqualsReference) {
  std::mt19937_64 rng(7);
  for (DType type : {DType::kQ8_0, DType::kQ8_K}) {
    const std::int64_t cols = 4 * 256;
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<float> x = gaussian(cols, rng, 0.02f);
      if (trial % 4 == 1) {
        // Exact ties for the rounding: values k/2 with a block max of 127 make x / d = k/2.
        for (std::int64_t i = 0; i < cols; ++i)
          x[static_cast<std::size_t>(i)] = static_cast<float>(static_cast<int>(rng() % 255) - 127) / 2.0f;
        for (std::int64_t b = 0; b < cols; b += 32) x[static_cast<std::size_t>(b)] = 127.0f;
      }
      if (trial % 4 == 2)  // zero blocks, and ties of the largest magnitude with both signs
        for (std::int64_t i = 0; i < 256; ++i) x[static_cast<std::size_t>(i)] = 0.0f;
      if (trial % 4 == 3) {
        x[300] = -5.0f;
        x[301] = 5.0f;
      }
      std::vector<std::int8_t> q_ref(cols), q_fast(cols);
      std::vector<float> d_ref(cols / 32), d_fast(cols / 32);
      std::vector<std::int16_t> s_ref(cols / 16), s_fast(cols / 16);
      quantize_act_row_ref(type, x.data(), cols, q_ref.data(), d_ref.data(), s_ref.data());
      quantize_act_row_kernel()(type, x.data(), cols, q_fast.data(), d_fast.data(), s_fast.data());
      const std::int64_t nb = cols / (type == DType::kQ8_K ? 256 : 32);
      ASSERT_EQ(q_ref, q_fast) << dtype_name(type) << " trial " << trial;
      for (std::int64_t b = 0; b < nb; ++b)
        ASSERT_EQ(std::memcmp(&d_ref[b], &d_fast[b], 4), 0)
            << dtype_name(type) << " trial " << trial << " block " << b << ": " << d_ref[b]
            << " vs " << d_fast[b];
      ASSERT_EQ(s_ref, s_fast) << dtype_name(type) << " trial " << trial;
    }
  }
}

// --- kernels against each other ----------------------------------------------------------------

std::vector<float> run(const Weights& w, const std::vector<float>& x, std::int64_t tokens,
                       int threads, const Q8MatmulKernels& k) {
  ThreadPool& pool = test::shared_pool(threads);
  std::vector<float> y(static_cast<std::size_t>(tokens * w.view.rows), -1.0f);
  q8_matmul(w.view, Span2D<const float>(x.data(), tokens, w.view.cols),
            Span2D<float>(y.data(), tokens, w.view.rows), pool, k);
  return y;
}

// Every type, odd shapes and thread counts: `fast` gives the reference's bits. The last shapes
// span several token chunks (tile_walk.h: 64 tokens, 32 from 4096 columns), each ending in
// tiles of 4 and 1.
void expect_equals_reference(const Q8MatmulKernels* fast) {
  struct Shape {
    std::int64_t blocks, rows, tokens;
  };
  std::uint64_t seed = 1;
  for (const Q8TypeInfo& info : q8_types()) {
    const std::int64_t block = dtype_traits(info.weight).block_elems;
    std::vector<Shape> shapes;
    for (std::int64_t blocks : {1, 3, 7})
      for (std::int64_t rows : {1, 3, 5, 17})
        for (std::int64_t tokens : {1, 2, 3, 5, 9}) shapes.push_back({blocks, rows, tokens});
    shapes.push_back({3, 5, 77});
    // Every tile width of the walks (tile_walk.h), each also after others: for 64-token tiles
    // 56 + 4 + 2 + 1, 48 + 4 + 1, 40 + 4 + 2, 32 + 2 + 1, 24 + 4 + 2, 16 (and 64 + 8 + 4 + 1
    // above); for 32-token tiles 32 + 24 + 4 + 2 + 1, 32 + 16 + 4 + 1, 32 + 8 + 4 + 2, ...
    for (std::int64_t tokens : {63, 53, 46, 35, 30, 16}) shapes.push_back({3, 5, tokens});
    shapes.push_back({4096 / block, 3, 37});
    // More rows than one row group of the walk (tile_walk.h kRowGroupBytes) holds.
    shapes.push_back({4096 / block, 23, 37});
    // Decode with rows enough for every piece of every thread's run to hold some (16 pieces a
    // thread, cut on multiples of 4 rows; q8_matmul.cpp run_rows), so that with 3 threads the
    // runs are claimed by their owners and by the others.
    shapes.push_back({2, 203, 1});
    for (const auto& [blocks, rows, tokens] : shapes) {
      ++seed;
      const Weights w = make_weights(info.weight, rows, block * blocks, seed);
      std::mt19937_64 rng(seed * 31);
      const auto x = gaussian(tokens * w.view.cols, rng, 0.02f);
      const auto ref = run(w, x, tokens, 1, q8_matmul_ref());
      for (int threads : {1, 2, 3}) {
        const auto got = run(w, x, tokens, threads, *fast);
        for (std::size_t i = 0; i < ref.size(); ++i)
          ASSERT_EQ(std::memcmp(&ref[i], &got[i], 4), 0)
              << dtype_name(info.weight) << " seed " << seed << " rows " << rows << " cols "
              << w.view.cols << " tokens " << tokens << " threads " << threads << " token "
              << i / static_cast<std::size_t>(rows) << " row " << i % static_cast<std::size_t>(rows)
              << ": ref " << ref[i] << " got " << got[i] << " (" << fast->isa_name << ")";
      }
    }
  }
}

// Every kernel set this CPU can run equals the reference bit for bit. Which sets exist is the
// CPU's business, so instead of one test per set that would skip where its set is missing, this
// test asserts that the sets offered are exactly those the CPU's features allow (x86: AVX2 +
// FMA + F16C, then AVX512-VNNI + VL + BW on top; AArch64: plain NEON always, dotprod where the
// CPU has it — CI's qemu-aarch64 CPU does, so with CI set it must be there) and checks each.
TEST(Q8Matmul, EveryKernelSetOfThisCpuEqualsReferenceBitForBit) {
#if defined(__x86_64__) || defined(__i386__)
  EXPECT_EQ(q8_matmul_avx2() != nullptr, cpu_has_avx2_fma_f16c());
  EXPECT_EQ(q8_matmul_avx512_vnni() != nullptr, cpu_has_avx2_fma_f16c() && cpu_has_avx512_vnni_vl());
#elif defined(__aarch64__)
  ASSERT_NE(q8_matmul_neon(), nullptr);
  EXPECT_EQ(q8_matmul_neon_dotprod() != nullptr, cpu_has_neon_dotprod());
  if (std::getenv("CI") != nullptr) {
    EXPECT_NE(q8_matmul_neon_dotprod(), nullptr) << "CI's qemu-aarch64 CPU has dotprod";
  }
#endif
  std::vector<std::string_view> names{q8_matmul_ref().isa_name};  // from least to best
  for (const Q8MatmulKernels* set :
       {q8_matmul_avx2(), q8_matmul_avx512_vnni(), q8_matmul_neon(), q8_matmul_neon_dotprod()}) {
    if (set == nullptr) continue;
    SCOPED_TRACE(set->isa_name);
    expect_equals_reference(set);
    names.push_back(set->isa_name);
  }
  // The process runs one of the sets checked: the best, unless WHALE_KERNELS names a lesser one.
  const std::string_view chosen = q8_matmul_kernels().isa_name;
  EXPECT_NE(std::find(names.begin(), names.end(), chosen), names.end()) << chosen;
  if (std::getenv("WHALE_KERNELS") == nullptr) {
    EXPECT_EQ(chosen, names.back());
  }
}

// Decode kernels keep forms derived from the activations per thread (DerivedX) while the
// activations stay the same. Two quantizations into the same buffer (same address, same size,
// new values) must not reuse the first's forms, nor must a caller's own arrays (generation 0),
// whose values may change under an unchanged address: every call gives the reference's bits
// for its own values.
TEST(Q8Matmul, DecodeRebuildsDerivedActivationsWhenTheyChange) {
  const Q8MatmulKernels& kernels = q8_matmul_kernels();
  ThreadPool& pool = test::shared_pool(2);
  std::uint64_t seed = 500;
  for (const Q8TypeInfo& info : q8_types()) {
    const std::int64_t rows = 21, cols = 3 * dtype_traits(info.weight).block_elems;
    const Weights w = make_weights(info.weight, rows, cols, ++seed);
    // Rounds of new values, first through one Q8ActsBuffer, then through the caller's own
    // arrays (each kind's rounds back to back, so that a form kept from the round before is
    // what the next would find).
    for (const bool own_arrays : {false, true}) {
      Q8ActsBuffer buffer;
      std::vector<std::int8_t> own_qs(static_cast<std::size_t>(cols));
      for (int round = 0; round < 3; ++round) {
        std::mt19937_64 rng(seed * 7 + static_cast<std::uint64_t>(round));
        const auto x = gaussian(cols, rng, 0.02f);
        // The reference kernels keep no derived forms: between the rounds' products only theirs
        // run.
        const auto expected = run(w, x, 1, 2, q8_matmul_ref());
        Q8Acts acts = buffer.quantize(info.act, Span2D<const float>(x.data(), 1, cols), pool);
        EXPECT_NE(acts.generation, 0u);
        if (own_arrays) {
          std::copy(acts.qs, acts.qs + cols, own_qs.begin());
          acts.qs = own_qs.data();
          acts.generation = 0;
        }
        std::vector<float> got(static_cast<std::size_t>(rows), -1.0f);
        q8_matmul(w.view, acts, Span2D<float>(got.data(), 1, rows), pool, kernels);
        for (std::int64_t r = 0; r < rows; ++r)
          ASSERT_EQ(std::memcmp(&expected[r], &got[r], 4), 0)
              << dtype_name(info.weight) << " round " << round << (own_arrays ? " own arrays" : " quantized")
              << " row " << r << ": " << expected[r] << " vs " << got[r];
      }
    }
  }
}

// The decode profile counts one call per one-token product or batch, with the bytes of all its
// weights, into the class of those bytes; products of several tokens and calls made while no
// profile is installed leave it alone.
TEST(Q8Matmul, DecodeProfileCountsOneTokenProductsByTheirBytes) {
  EXPECT_EQ(DecodeMatmulProfile::class_of(999999), 0);
  EXPECT_EQ(DecodeMatmulProfile::class_of(1e6), 1);
  EXPECT_EQ(DecodeMatmulProfile::class_of(4e6), 2);
  EXPECT_EQ(DecodeMatmulProfile::class_of(12e6), 3);
  EXPECT_EQ(DecodeMatmulProfile::class_of(40e6), 4);
  const Q8MatmulKernels& kernels = q8_matmul_kernels();
  const Weights a = make_weights(DType::kQ4_K, 40, 512, 11);
  const Weights b = make_weights(DType::kQ8_0, 24, 512, 13);
  std::mt19937_64 rng(5);
  const auto x = gaussian(3 * 512, rng, 0.0f);
  ThreadPool& pool = test::shared_pool(2);
  std::vector<float> ya(3 * 40), yb(3 * 24);
  const auto batch = [&](std::int64_t tokens) {
    const MatmulJob jobs[] = {{&a.view, Span2D<const float>(x.data(), tokens, 512), Span2D<float>(ya.data(), tokens, 40)},
                              {&b.view, Span2D<const float>(x.data(), tokens, 512), Span2D<float>(yb.data(), tokens, 24)}};
    q8_matmul_batch(jobs, pool, kernels);
  };
  DecodeMatmulProfile profile;
  set_decode_matmul_profile(&profile);
  run(a, x, 1, 2, kernels);  // counted
  batch(1);                  // counted, as one call
  run(a, x, 3, 2, kernels);  // three tokens: not counted
  batch(3);
  set_decode_matmul_profile(nullptr);
  run(a, x, 1, 2, kernels);  // no profile installed
  const double bytes_a = 40.0 * static_cast<double>(a.view.row_bytes), bytes_b = 24.0 * static_cast<double>(b.view.row_bytes);
  EXPECT_EQ(profile.calls[0], 2);
  EXPECT_DOUBLE_EQ(profile.bytes[0], 2 * bytes_a + bytes_b);
  EXPECT_GT(profile.seconds[0], 0.0);
  for (int c = 1; c < DecodeMatmulProfile::kClasses; ++c) EXPECT_EQ(profile.calls[c], 0) << c;
}

// The bit-for-bit tests above prove nothing if a table silently holds the reference: on
// AArch64 every type has its own NEON kernel, the activation quantizer is NEON's, and the
// process picks the best NEON table, or the one WHALE_KERNELS names (neon, scalar).
TEST(Q8Matmul, AArch64UsesNeonKernels) {
#if defined(__aarch64__)
  for (const Q8MatmulKernels* k : {q8_matmul_neon(), q8_matmul_neon_dotprod()}) {
    if (k == nullptr) continue;
    for (std::size_t i = 0; i < q8_types().size(); ++i)
      EXPECT_NE(k->by_type[i], q8_matmul_ref().by_type[i])
          << k->isa_name << " has no kernel for " << dtype_name(q8_types()[i].weight);
  }
  ASSERT_NE(q8_matmul_neon(), nullptr);
  EXPECT_NE(quantize_act_row_kernel(), &quantize_act_row_ref);
  const char* env = std::getenv("WHALE_KERNELS");
  const std::string_view want = env != nullptr ? env : "";
  if (want.empty()) {
    EXPECT_EQ(q8_matmul_kernels().isa_name, q8_matmul_neon_dotprod() != nullptr ? "neon+dotprod" : "neon");
  } else if (want == "neon" || want == "scalar") {
    EXPECT_EQ(q8_matmul_kernels().isa_name, want);
  }
#else
  EXPECT_EQ(q8_matmul_neon(), nullptr);
  EXPECT_EQ(q8_matmul_neon_dotprod(), nullptr);
#endif
}

// The lanes by chunk, worked by hand: element i of a Q4_K block sits in byte i mod 32 of chunk
// i / 64 (low nibble below 32 within the chunk); its lane is 2 · chunk + parity of byte / 4.
TEST(Q8Matmul, ContractLanesFollowTheTypesLayout) {
  const std::pair<int, int> by_chunk[] = {{0, 0},  {3, 0},  {4, 1},  {8, 0},  {31, 1},  {32, 0},
                                          {36, 1}, {63, 1}, {64, 2}, {68, 3}, {200, 6}, {255, 7}};
  for (const auto& [i, lane] : by_chunk) EXPECT_EQ(q8_contract_lane(Q8Lanes::kByChunk, i), lane) << "element " << i;
  const std::pair<int, int> by_position[] = {{0, 0}, {4, 1}, {31, 7}, {32, 0}, {255, 7}};
  for (const auto& [i, lane] : by_position) EXPECT_EQ(q8_contract_lane(Q8Lanes::kByPosition, i), lane) << "element " << i;
  // Each lane by chunk holds 16 elements of each nibble half of its chunk: one sub-block's scale.
  int count[8][8] = {};
  for (int i = 0; i < 256; ++i) ++count[q8_contract_lane(Q8Lanes::kByChunk, i)][i / 32];
  for (int lane = 0; lane < 8; ++lane)
    for (int sub = 0; sub < 8; ++sub) EXPECT_EQ(count[lane][sub], sub / 2 == lane / 2 ? 16 : 0) << lane << " " << sub;
  // By nibble byte: element j and j + 16 (one stored byte's two nibbles) share lane j / 4.
  const std::pair<int, int> by_nibble_byte[] = {{0, 0}, {3, 0}, {4, 1}, {15, 3}, {16, 0}, {20, 1}, {31, 3}};
  for (const auto& [i, lane] : by_nibble_byte)
    EXPECT_EQ(q8_contract_lane(Q8Lanes::kByNibbleByte, i), lane) << "element " << i;
  int per_half[8][2] = {};
  for (int i = 0; i < 32; ++i) ++per_half[q8_contract_lane(Q8Lanes::kByNibbleByte, i)][i / 16];
  for (int lane = 0; lane < 8; ++lane)
    for (int half = 0; half < 2; ++half) EXPECT_EQ(per_half[lane][half], lane < 4 ? 4 : 0) << lane << " " << half;
  const auto expected = [](DType t) {
    switch (t) {
      case DType::kQ4_K: case DType::kQ5_K: return Q8Lanes::kByChunk;
      case DType::kQ4_0: case DType::kQ4_1: case DType::kQ5_0: case DType::kQ5_1: case DType::kIQ4_NL:
        return Q8Lanes::kByNibbleByte;
      default: return Q8Lanes::kByPosition;
    }
  };
  for (const Q8TypeInfo& info : q8_types()) EXPECT_EQ(info.lanes, expected(info.weight)) << dtype_name(info.weight);
}

// --- the reference against the dequantized product --------------------------------------------

// Σ dequant(w)_i · dequant(x)_i in double, and Σ |parts| · |x_i| for the bound, where the parts
// of w_i are d·sc·q and dmin·m (rounding in the kernel scales with those, not with |w_i|).
TEST(Q8Matmul, ReferenceMatchesDequantizedProduct) {
  std::uint64_t seed = 1000;
  for (const Q8TypeInfo& info : q8_types()) {
    const std::int64_t block = dtype_traits(info.weight).block_elems;
    const std::int64_t cols = block * 5, rows = 3, tokens = 2;
    for (int rep = 0; rep < 4; ++rep) {
      ++seed;
      const Weights w = make_weights(info.weight, rows, cols, seed);
      std::mt19937_64 rng(seed);
      const auto x = gaussian(tokens * cols, rng, 0.02f);
      const auto y = run(w, x, tokens, 2, q8_matmul_ref());
      // The activations as the kernels see them, dequantized by the reference dequantizer.
      std::vector<std::byte> xq(*row_bytes(info.act, cols));
      std::vector<float> xd(static_cast<std::size_t>(cols)), wd(xd.size());
      for (std::int64_t t = 0; t < tokens; ++t) {
        quantize_row(info.act, x.data() + t * cols, xq.data(), cols);
        dequantize_row(info.act, xq.data(), xd.data(), cols);
        for (std::int64_t r = 0; r < rows; ++r) {
          const std::byte* row = w.bytes.data() + r * w.view.row_bytes;
          dequantize_row(info.weight, row, wd.data(), cols);
          double expect = 0, scale = 0;
          for (std::int64_t b = 0; b < cols / block; ++b) {
            IntBlock ib;
            info.unpack(row + b * dtype_traits(info.weight).block_bytes, ib);
            for (std::int64_t i = 0; i < block; ++i) {
              const std::size_t k = static_cast<std::size_t>(b * block + i);
              expect += static_cast<double>(wd[k]) * xd[k];
              const double parts = std::fabs(static_cast<double>(ib.d) * ib.sc[i / 16] * ib.q[i]) +
                                   (ib.has_min ? std::fabs(static_cast<double>(ib.dmin) * ib.m[i / 16]) : 0.0);
              scale += parts * std::fabs(xd[k]);
            }
          }
          // Dequantization rounds each weight up to 3 times (d·sc, ·q, -dmin·m) and each
          // activation once; the kernel rounds d_w·d_x, the lane conversion, one fma per block
          // and the final sums: a few u per term plus one per block.
          const double bound = (8.0 + static_cast<double>(cols / block)) * kU * scale + 1e-30;
          const double got = y[static_cast<std::size_t>(t * rows + r)];
          ASSERT_LE(std::fabs(got - expect), bound)
              << dtype_name(info.weight) << " seed " << seed << " token " << t << " row " << r
              << ": expected " << expect << " got " << got << " bound " << bound;
        }
      }
    }
  }
}

// --- accuracy against unquantized activations ---------------------------------------------------

// Rounding x to the Q8 grid moves each x_i by at most d_x(b)/2, so
// |y_q8 - y_exact| ≤ Σ_b (d_x(b)/2) Σ_{i in b} |w_i|, plus f32 rounding of both products.
TEST(Q8Matmul, ActivationQuantizationErrorWithinBound) {
  std::uint64_t seed = 5000;
  ThreadPool& pool = test::shared_pool(2);
  for (const Q8TypeInfo& info : q8_types()) {
    const std::int64_t block = dtype_traits(info.weight).block_elems;
    const std::int64_t cols = block * 4, rows = 7, tokens = 3;
    ++seed;
    const Weights w = make_weights(info.weight, rows, cols, seed | 1);  // quantized data
    std::mt19937_64 rng(seed);
    const auto x = gaussian(tokens * cols, rng, 0.02f);
    std::vector<float> fast(static_cast<std::size_t>(tokens * rows)), exact(fast.size());
    matmul(w.view, Span2D<const float>(x.data(), tokens, cols), Span2D<float>(fast.data(), tokens, rows),
           pool, MatmulNumerics::kQ8Activations);
    matmul(w.view, Span2D<const float>(x.data(), tokens, cols), Span2D<float>(exact.data(), tokens, rows),
           pool, MatmulNumerics::kExact);
    std::vector<float> wd(static_cast<std::size_t>(cols));
    std::vector<std::byte> xq(*row_bytes(info.act, cols));
    std::vector<float> xdq(static_cast<std::size_t>(cols));
    const std::int64_t act_block = info.act == DType::kQ8_K ? 256 : 32;
    for (std::int64_t t = 0; t < tokens; ++t) {
      quantize_row(info.act, x.data() + t * cols, xq.data(), cols);
      dequantize_row(info.act, xq.data(), xdq.data(), cols);
      for (std::int64_t r = 0; r < rows; ++r) {
        dequantize_row(info.weight, w.bytes.data() + r * w.view.row_bytes, wd.data(), cols);
        double bound = 0, abs_sum = 0;
        for (std::int64_t b = 0; b < cols / act_block; ++b) {
          // d_x(b) from the block's quantized values: the largest |x| maps to 127.
          double amax = 0, wsum = 0;
          for (std::int64_t i = b * act_block; i < (b + 1) * act_block; ++i) {
            amax = std::max(amax, std::fabs(static_cast<double>(x[static_cast<std::size_t>(t * cols + i)])));
            wsum += std::fabs(static_cast<double>(wd[static_cast<std::size_t>(i)]));
            abs_sum += std::fabs(static_cast<double>(wd[static_cast<std::size_t>(i)]) * x[static_cast<std::size_t>(t * cols + i)]);
          }
          // |x - q·d'| ≤ d/2 + |q|·|d - d'| where d' is the stored scale: Q8_0 rounds d to f16
          // (relative 2^-11) after choosing q, Q8_K keeps it in f32.
          const double step_err = info.act == DType::kQ8_0 ? 0.5 + 127.0 * 0x1p-11 : 0.5 + 127.0 * 0x1p-23;
          bound += (amax / 127.0) * step_err * wsum;
        }
        bound = bound * (1.0 + 1e-3) + 64 * kU * abs_sum * static_cast<double>(cols / block) + 1e-30;
        const std::size_t k = static_cast<std::size_t>(t * rows + r);
        ASSERT_LE(std::fabs(static_cast<double>(fast[k]) - exact[k]), bound)
            << dtype_name(info.weight) << " token " << t << " row " << r << ": q8 " << fast[k]
            << " exact " << exact[k];
      }
    }
  }
}

}  // namespace
}  // namespace whale
