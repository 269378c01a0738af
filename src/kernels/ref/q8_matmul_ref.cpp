// q8_matmul_ref.cpp — the definition of the integer matmul path: each weight layout unpacked to
// integers (IntBlock), and the scalar kernel that applies the contract of q8_matmul.h literally.
#include <cmath>

#include "kernels/q8_matmul.h"
#include "quant/blocks.h"
#include "quant/iq_codebooks.h"
#include "util/float_convert.h"

namespace whale {
namespace {

void no_mins(IntBlock& o) {
  o.has_min = false;
  o.dmin = 0.0f;
  for (auto& m : o.m) m = 0;
}
void unit_scales(IntBlock& o) {
  for (auto& s : o.sc) s = 1;
}

// Legacy blocks of 32: element j in the low nibble of qs[j], j + 16 in the high nibble.
void unpack_q4_0(const std::byte* p, IntBlock& o) {
  const auto b = load_block<BlockQ4_0>(p, 0);
  for (int j = 0; j < 16; ++j) {
    o.q[j] = static_cast<std::int8_t>((b.qs[j] & 0xF) - 8);
    o.q[j + 16] = static_cast<std::int8_t>((b.qs[j] >> 4) - 8);
  }
  o.d = f16_to_f32(b.d);
  unit_scales(o);
  no_mins(o);
}

void unpack_q4_1(const std::byte* p, IntBlock& o) {
  const auto b = load_block<BlockQ4_1>(p, 0);
  for (int j = 0; j < 16; ++j) {
    o.q[j] = static_cast<std::int8_t>(b.qs[j] & 0xF);
    o.q[j + 16] = static_cast<std::int8_t>(b.qs[j] >> 4);
  }
  o.d = f16_to_f32(b.d);
  unit_scales(o);
  no_mins(o);
  o.has_min = true;  // x = d·q + m: the min term is m · Σ x_q
  o.dmin = f16_to_f32(b.m);
  o.m[0] = o.m[1] = 1;
}

std::uint32_t qh_bits(const std::array<std::uint8_t, 4>& qh) {
  return static_cast<std::uint32_t>(qh[0]) | (static_cast<std::uint32_t>(qh[1]) << 8) |
         (static_cast<std::uint32_t>(qh[2]) << 16) | (static_cast<std::uint32_t>(qh[3]) << 24);
}

void unpack_q5_0(const std::byte* p, IntBlock& o) {
  const auto b = load_block<BlockQ5_0>(p, 0);
  const std::uint32_t qh = qh_bits(b.qh);
  for (int j = 0; j < 16; ++j) {
    o.q[j] = static_cast<std::int8_t>(((b.qs[j] & 0xF) | (((qh >> j) & 1u) << 4)) - 16);
    o.q[j + 16] = static_cast<std::int8_t>(((b.qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4)) - 16);
  }
  o.d = f16_to_f32(b.d);
  unit_scales(o);
  no_mins(o);
}

void unpack_q5_1(const std::byte* p, IntBlock& o) {
  const auto b = load_block<BlockQ5_1>(p, 0);
  const std::uint32_t qh = qh_bits(b.qh);
  for (int j = 0; j < 16; ++j) {
    o.q[j] = static_cast<std::int8_t>((b.qs[j] & 0xF) | (((qh >> j) & 1u) << 4));
    o.q[j + 16] = static_cast<std::int8_t>((b.qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4));
  }
  o.d = f16_to_f32(b.d);
  unit_scales(o);
  no_mins(o);
  o.has_min = true;
  o.dmin = f16_to_f32(b.m);
  o.m[0] = o.m[1] = 1;
}

void unpack_q8_0(const std::byte* p, IntBlock& o) {
  const auto b = load_block<BlockQ8_0>(p, 0);
  for (int j = 0; j < 32; ++j) o.q[j] = b.qs[static_cast<std::size_t>(j)];
  o.d = f16_to_f32(b.d);
  unit_scales(o);
  no_mins(o);
}

void unpack_iq4_nl(const std::byte* p, IntBlock& o) {
  const auto b = load_block<BlockIQ4_NL>(p, 0);
  for (int j = 0; j < 16; ++j) {
    o.q[j] = kIq4nlValues[b.qs[j] & 0xF];
    o.q[j + 16] = kIq4nlValues[b.qs[j] >> 4];
  }
  o.d = f16_to_f32(b.d);
  unit_scales(o);
  no_mins(o);
}

// K-quants: element i as in quant/kquant_ref.cpp's dequantizers.
void unpack_q2_k(const std::byte* p, IntBlock& o) {
  const auto b = load_block<BlockQ2_K>(p, 0);
  for (int i = 0; i < 256; ++i)
    o.q[i] = static_cast<std::int8_t>((b.qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3);
  for (int j = 0; j < 16; ++j) {
    o.sc[j] = static_cast<std::int16_t>(b.scales[j] & 0xF);
    o.m[j] = static_cast<std::int16_t>(b.scales[j] >> 4);
  }
  o.d = f16_to_f32(b.d);
  o.has_min = true;
  o.dmin = -f16_to_f32(b.dmin);
}

void unpack_q3_k(const std::byte* p, IntBlock& o) {
  const auto b = load_block<BlockQ3_K>(p, 0);
  for (int i = 0; i < 256; ++i) {
    const int low = (b.qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
    const bool high = (b.hmask[i % 32] >> (i / 32)) & 1;
    o.q[i] = static_cast<std::int8_t>(low - (high ? 0 : 4));
  }
  for (int j = 0; j < 16; ++j) o.sc[j] = static_cast<std::int16_t>(q3k_scale(b.scales, j) - 32);
  o.d = f16_to_f32(b.d);
  no_mins(o);
}

template <class Block>
void k4_scales_mins(const Block& b, IntBlock& o) {
  for (int j = 0; j < 8; ++j) {
    const ScaleMin sm = k4_scale_min(b.scales, j);
    o.sc[2 * j] = o.sc[2 * j + 1] = sm.scale;
    o.m[2 * j] = o.m[2 * j + 1] = sm.min;
  }
  o.d = f16_to_f32(b.d);
  o.has_min = true;
  o.dmin = -f16_to_f32(b.dmin);
}

void unpack_q4_k(const std::byte* p, IntBlock& o) {
  const auto b = load_block<BlockQ4_K>(p, 0);
  for (int i = 0; i < 256; ++i) {
    const int byte = b.qs[32 * (i / 64) + i % 32];
    o.q[i] = static_cast<std::int8_t>((i % 64 < 32) ? (byte & 0xF) : (byte >> 4));
  }
  k4_scales_mins(b, o);
}

void unpack_q5_k(const std::byte* p, IntBlock& o) {
  const auto b = load_block<BlockQ5_K>(p, 0);
  for (int i = 0; i < 256; ++i) {
    const int byte = b.qs[32 * (i / 64) + i % 32];
    const int low = (i % 64 < 32) ? (byte & 0xF) : (byte >> 4);
    o.q[i] = static_cast<std::int8_t>(low + 16 * ((b.qh[i % 32] >> (i / 32)) & 1));
  }
  k4_scales_mins(b, o);
}

void unpack_q6_k(const std::byte* p, IntBlock& o) {
  const auto b = load_block<BlockQ6_K>(p, 0);
  for (int i = 0; i < 256; ++i) {
    const int n = i / 128, k = (i % 128) / 32, l = i % 32;
    const int byte = b.ql[64 * n + l + 32 * (k & 1)];
    const int low = (k < 2) ? (byte & 0xF) : (byte >> 4);
    const int high = (b.qh[32 * n + l] >> (2 * k)) & 3;
    o.q[i] = static_cast<std::int8_t>((low | (high << 4)) - 32);
  }
  for (int j = 0; j < 16; ++j) o.sc[j] = b.scales[static_cast<std::size_t>(j)];
  o.d = f16_to_f32(b.d);
  no_mins(o);
}

void unpack_iq4_xs(const std::byte* p, IntBlock& o) {
  const auto b = load_block<BlockIQ4_XS>(p, 0);
  for (int ib = 0; ib < 8; ++ib) {
    const int ls =
        ((b.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((b.scales_h >> (2 * ib)) & 3) << 4);
    o.sc[2 * ib] = o.sc[2 * ib + 1] = static_cast<std::int16_t>(ls - 32);
    for (int j = 0; j < 16; ++j) {
      o.q[32 * ib + j] = kIq4nlValues[b.qs[16 * ib + j] & 0xF];
      o.q[32 * ib + j + 16] = kIq4nlValues[b.qs[16 * ib + j] >> 4];
    }
  }
  o.d = f16_to_f32(b.d);
  no_mins(o);
}

// Codebook types: x = d · (2 ls + 1) / 8 · q with q an integer (IQ2_XXS: ±{8, 25, 43}; IQ1_S and
// IQ1_M: 8 · {-1, 0, 1} ± 1, the ±1/8 shift scaled by 8), so block scale d / 8, integer scale
// 2 ls + 1. d / 8 and every product are exact in f32, so these equal the dequantizers' values.
void unpack_iq2_xxs(const std::byte* p, IntBlock& o) {
  const auto b = load_block<BlockIQ2_XXS>(p, 0);
  for (int ib = 0; ib < 8; ++ib) {
    const std::uint32_t idx = b.qs[4 * ib] | (static_cast<std::uint32_t>(b.qs[4 * ib + 1]) << 16);
    const std::uint32_t signs = b.qs[4 * ib + 2] | (static_cast<std::uint32_t>(b.qs[4 * ib + 3]) << 16);
    o.sc[2 * ib] = o.sc[2 * ib + 1] = static_cast<std::int16_t>(2 * (signs >> 28) + 1);
    for (int l = 0; l < 4; ++l) {
      const std::uint64_t entry = kIq2xxsGrid[(idx >> (8 * l)) & 0xFF];
      const std::uint8_t s = iq2_sign_byte(signs >> (7 * l));
      for (int j = 0; j < 8; ++j)
        o.q[32 * ib + 8 * l + j] = static_cast<std::int8_t>(((s >> j) & 1) ? -grid_coord(entry, j) : grid_coord(entry, j));
    }
  }
  o.d = f16_to_f32(b.d) * 0.125f;
  no_mins(o);
}

std::int8_t shifted_iq1(std::uint64_t entry, int j, bool negative_shift) {
  return static_cast<std::int8_t>(8 * grid_coord(entry, j) + (negative_shift ? -1 : 1));
}

void unpack_iq1_s(const std::byte* p, IntBlock& o) {
  const auto b = load_block<BlockIQ1_S>(p, 0);
  for (int ib = 0; ib < 8; ++ib) {
    const unsigned qh = b.qh[static_cast<std::size_t>(ib)];
    o.sc[2 * ib] = o.sc[2 * ib + 1] = static_cast<std::int16_t>(2 * ((qh >> 12) & 7) + 1);
    for (int l = 0; l < 4; ++l) {
      const std::uint64_t entry = kIq1sGrid[b.qs[static_cast<std::size_t>(4 * ib + l)] | (((qh >> (3 * l)) & 7) << 8)];
      for (int j = 0; j < 8; ++j) o.q[32 * ib + 8 * l + j] = shifted_iq1(entry, j, qh & 0x8000);
    }
  }
  o.d = f16_to_f32(b.d) * 0.125f;
  no_mins(o);
}

void unpack_iq1_m(const std::byte* p, IntBlock& o) {
  const auto b = load_block<BlockIQ1_M>(p, 0);
  for (int h = 0; h < 16; ++h) o.sc[h] = static_cast<std::int16_t>(2 * iq1m_scale(b.scales, h) + 1);
  for (int g = 0; g < 32; ++g) {
    const unsigned h = b.qh[static_cast<std::size_t>(g / 2)] >> (4 * (g % 2));
    const std::uint64_t entry = kIq1sGrid[b.qs[static_cast<std::size_t>(g)] | ((h & 7) << 8)];
    for (int j = 0; j < 8; ++j) o.q[8 * g + j] = shifted_iq1(entry, j, h & 8);
  }
  o.d = f16_to_f32(iq1m_d_bits(b.scales)) * 0.125f;
  no_mins(o);
}

constexpr std::array<Q8TypeInfo, kQ8TypeCount> kTypes = {{
    {DType::kQ8_0, DType::kQ8_0, unpack_q8_0},
    {DType::kQ4_K, DType::kQ8_K, unpack_q4_k, Q8Lanes::kByChunk},
    {DType::kQ6_K, DType::kQ8_K, unpack_q6_k},
    {DType::kQ5_K, DType::kQ8_K, unpack_q5_k, Q8Lanes::kByChunk},
    {DType::kQ4_0, DType::kQ8_0, unpack_q4_0, Q8Lanes::kByNibbleByte},
    {DType::kQ4_1, DType::kQ8_0, unpack_q4_1, Q8Lanes::kByNibbleByte},
    {DType::kQ5_0, DType::kQ8_0, unpack_q5_0, Q8Lanes::kByNibbleByte},
    {DType::kQ5_1, DType::kQ8_0, unpack_q5_1, Q8Lanes::kByNibbleByte},
    {DType::kQ2_K, DType::kQ8_K, unpack_q2_k},
    {DType::kQ3_K, DType::kQ8_K, unpack_q3_k},
    {DType::kIQ4_NL, DType::kQ8_0, unpack_iq4_nl, Q8Lanes::kByNibbleByte},
    {DType::kIQ4_XS, DType::kQ8_K, unpack_iq4_xs},
    {DType::kIQ2_XXS, DType::kQ8_K, unpack_iq2_xxs},
    {DType::kIQ1_S, DType::kQ8_K, unpack_iq1_s},
    {DType::kIQ1_M, DType::kQ8_K, unpack_iq1_m},
}};

// The contract of q8_matmul.h, one output at a time.
template <Q8Lanes kLanes>
void matmul_ref(const Q8MatmulArgs& a) {
  const std::int64_t nb = a.cols / a.block_elems;
  IntBlock ib;
  for (std::int64_t r = a.row_begin; r < a.row_end; ++r) {
    const std::byte* row = a.w + static_cast<std::size_t>(r) * a.w_row_bytes;
    for (std::int64_t t = 0; t < a.n_tokens; ++t) {
      const std::int8_t* xq = a.x_qs + t * a.cols;
      const float* xd = a.x_d + t * nb;
      const std::int16_t* xs = a.x_sums16 + t * (a.cols / 16);
      float acc[8] = {};
      float mins[4] = {};
      for (std::int64_t b = 0; b < nb; ++b) {
        a.unpack(row + static_cast<std::size_t>(b) * a.block_bytes, ib);
        const std::int8_t* xb = xq + b * a.block_elems;
        std::int32_t lane[8] = {};
        for (std::int64_t i = 0; i < a.block_elems; ++i)
          lane[q8_contract_lane(kLanes, static_cast<int>(i))] += ib.sc[i / 16] * ib.q[i] * xb[i];
        const float dd = ib.d * xd[b];
        for (int k = 0; k < 8; ++k) acc[k] = std::fma(dd, static_cast<float>(lane[k]), acc[k]);
        if (ib.has_min) {
          std::int32_t mi[4] = {};
          for (std::int64_t g = 0; g < a.block_elems / 16; ++g)
            mi[g / 4] += ib.m[g] * xs[b * (a.block_elems / 16) + g];
          const float dm = ib.dmin * xd[b];
          for (int k = 0; k < 4; ++k) mins[k] = std::fma(dm, static_cast<float>(mi[k]), mins[k]);
        }
      }
      const float tree = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
      a.y[t * a.y_stride + r] = tree + ((mins[0] + mins[2]) + (mins[1] + mins[3]));
    }
  }
}

constexpr Q8MatmulKernels kRef = [] {
  Q8MatmulKernels k{"scalar", {}};
  for (std::size_t i = 0; i < kQ8TypeCount; ++i)
    switch (kTypes[i].lanes) {
      case Q8Lanes::kByChunk: k.by_type[i] = matmul_ref<Q8Lanes::kByChunk>; break;
      case Q8Lanes::kByNibbleByte: k.by_type[i] = matmul_ref<Q8Lanes::kByNibbleByte>; break;
      default: k.by_type[i] = matmul_ref<Q8Lanes::kByPosition>;
    }
  return k;
}();

}  // namespace

const std::array<Q8TypeInfo, kQ8TypeCount>& q8_types() { return kTypes; }

const Q8TypeInfo* q8_type_info(DType t) {
  for (const Q8TypeInfo& i : kTypes)
    if (i.weight == t) return &i;
  return nullptr;
}

const Q8MatmulKernels& q8_matmul_ref() { return kRef; }

}  // namespace whale
