// iq_ref.cpp — scalar reference (de)quantizers for the non-uniform 4-bit IQ types (IQ4_NL,
// IQ4_XS). The codebook types IQ2_XXS, IQ1_S and IQ1_M are in iq_lattice_ref.cpp.
#include <algorithm>
#include <array>
#include <cmath>
#include <span>

#include "quant/blocks.h"
#include "quant/quant_ref.h"
#include "quant/quant_search.h"
#include "util/float_convert.h"

namespace whale::quant_ref {
namespace {

float iq4_value(int nibble) {
  return static_cast<float>(kIq4nlValues[static_cast<std::size_t>(nibble)]);
}

int iq4_code(float x, float dl) { return nearest_level(dl != 0.0f ? x / dl : 0.0f, kIq4nlValues); }

}  // namespace

void dequantize_iq4_nl(const std::byte* src, float* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, dst += kQK) {
    const auto blk = load_block<BlockIQ4_NL>(src, b);
    const float d = f16_to_f32(blk.d);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = d * iq4_value(blk.qs[j] & 0xF);
      dst[j + kQK / 2] = d * iq4_value(blk.qs[j] >> 4);
    }
  }
}

void dequantize_iq4_xs(const std::byte* src, float* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b) {
    const auto blk = load_block<BlockIQ4_XS>(src, b);
    const float d = f16_to_f32(blk.d);
    for (int ib = 0; ib < kQK_K / 32; ++ib, dst += 32) {
      const int ls = ((blk.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) |
                     (((blk.scales_h >> (2 * ib)) & 3) << 4);
      const float dl = d * static_cast<float>(ls - 32);
      for (int j = 0; j < 16; ++j) {
        dst[j] = dl * iq4_value(blk.qs[16 * ib + j] & 0xF);
        dst[j + 16] = dl * iq4_value(blk.qs[16 * ib + j] >> 4);
      }
    }
  }
}

void quantize_iq4_nl(const float* src, std::byte* dst, std::int64_t n_blocks) {
  std::array<float, 8> scales{};
  for (std::int64_t b = 0; b < n_blocks;) {
    // The scale searches run 8 blocks side by side (quant_search.h); the tail one at a time.
    const int group = n_blocks - b >= 8 ? 8 : 1;
    fit_nonuniform_blocks(src, group, kIq4nlValues, scales.data());
    for (int g = 0; g < group; ++g, ++b, src += kQK) {
      BlockIQ4_NL blk{};
      blk.d = f32_to_f16(scales[static_cast<std::size_t>(g)]);
      const float d = f16_to_f32(blk.d);
      for (int j = 0; j < kQK / 2; ++j)
        blk.qs[j] =
            static_cast<std::uint8_t>(iq4_code(src[j], d) | (iq4_code(src[j + 16], d) << 4));
      store_block(blk, dst, b);
    }
  }
}

void quantize_iq4_xs(const float* src, std::byte* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, src += kQK_K) {
    std::array<float, 8> scales{};
    fit_nonuniform_blocks(src, 8, kIq4nlValues, scales.data());
    const float max_scale = signed_absmax(scales);
    BlockIQ4_XS blk{};
    blk.d = f32_to_f16(std::fabs(max_scale) > kTinyAbs ? max_scale / -32.0f : 0.0f);
    const float d = f16_to_f32(blk.d);
    for (int ib = 0; ib < 8; ++ib) {
      const int ls = d != 0.0f ? std::clamp(round_int(scales[ib] / d), -32, 31) : 0;
      const int code = ls + 32;
      blk.scales_l[ib / 2] |= static_cast<std::uint8_t>((code & 0xF) << (4 * (ib % 2)));
      blk.scales_h |= static_cast<std::uint16_t>((code >> 4) << (2 * ib));
      const float dl = d * static_cast<float>(ls);
      const float* x = src + 32 * ib;
      for (int j = 0; j < 16; ++j)
        blk.qs[16 * ib + j] =
            static_cast<std::uint8_t>(iq4_code(x[j], dl) | (iq4_code(x[j + 16], dl) << 4));
    }
    store_block(blk, dst, b);
  }
}

}  // namespace whale::quant_ref
