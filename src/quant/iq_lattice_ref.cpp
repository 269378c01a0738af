// iq_lattice_ref.cpp — scalar reference (de)quantizers of the codebook ("lattice") types
// IQ2_XXS, IQ1_S and IQ1_M (layouts in blocks.h, codebooks in iq_codebooks.h).
//
// The quantizers fit each run of groups with the lattice search (lattice_search.h): trial
// scales around absmax / (largest level), the nearest entry per group, a least-squares scale;
// then one block scale d so that the largest run scale takes the top integer scale, every run's
// integer scale rounded, and the entries chosen again at the rounded scale. Without an
// importance matrix every weight counts the same (plain squared error).
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/iq_codebooks.h"
#include "quant/lattice_search.h"
#include "quant/quant_ref.h"
#include "quant/quant_search.h"
#include "util/float_convert.h"

namespace whale::quant_ref {
namespace {

constexpr float kShift = 0.125f;  // IQ1_S / IQ1_M: grid values are shifted by ±1/8

float absmax(const float* x, int n) {
  float m = 0.0f;
  for (int i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}

// 12 trial scales from 0.5 to 1.27 times absmax / top.
std::array<float, 12> trial_scales(float amax, float top) {
  std::array<float, 12> t{};
  for (std::size_t k = 0; k < t.size(); ++k) t[k] = amax / top * (0.5f + 0.07f * static_cast<float>(k));
  return t;
}

// The two u32 words of IQ2_XXS sub-block ib: indices, then signs and scale.
void iq2_words(const BlockIQ2_XXS& b, int ib, std::uint32_t& idx, std::uint32_t& signs) {
  idx = b.qs[4 * ib] | (static_cast<std::uint32_t>(b.qs[4 * ib + 1]) << 16);
  signs = b.qs[4 * ib + 2] | (static_cast<std::uint32_t>(b.qs[4 * ib + 3]) << 16);
}

float shift_of(bool negative) { return negative ? -kShift : kShift; }

}  // namespace

void dequantize_iq2_xxs(const std::byte* src, float* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b) {
    const auto blk = load_block<BlockIQ2_XXS>(src, b);
    const float d = f16_to_f32(blk.d);
    for (int ib = 0; ib < 8; ++ib) {
      std::uint32_t idx, signs;
      iq2_words(blk, ib, idx, signs);
      const float db = d * (0.5f + static_cast<float>(signs >> 28)) * 0.25f;
      for (int l = 0; l < 4; ++l, dst += 8) {
        const std::uint64_t entry = kIq2xxsGrid[(idx >> (8 * l)) & 0xFF];
        const std::uint8_t s = iq2_sign_byte(signs >> (7 * l));
        for (int j = 0; j < 8; ++j)
          dst[j] = db * static_cast<float>(grid_coord(entry, j)) * (((s >> j) & 1) ? -1.0f : 1.0f);
      }
    }
  }
}

void dequantize_iq1_s(const std::byte* src, float* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b) {
    const auto blk = load_block<BlockIQ1_S>(src, b);
    const float d = f16_to_f32(blk.d);
    for (int ib = 0; ib < 8; ++ib) {
      const unsigned qh = blk.qh[static_cast<std::size_t>(ib)];
      const float dl = d * static_cast<float>(2 * ((qh >> 12) & 7) + 1);
      const float delta = shift_of(qh & 0x8000);
      for (int l = 0; l < 4; ++l, dst += 8) {
        const std::uint64_t entry = kIq1sGrid[blk.qs[static_cast<std::size_t>(4 * ib + l)] | (((qh >> (3 * l)) & 7) << 8)];
        for (int j = 0; j < 8; ++j) dst[j] = dl * (static_cast<float>(grid_coord(entry, j)) + delta);
      }
    }
  }
}

void dequantize_iq1_m(const std::byte* src, float* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b) {
    const auto blk = load_block<BlockIQ1_M>(src, b);
    const float d = f16_to_f32(iq1m_d_bits(blk.scales));
    for (int g = 0; g < 32; ++g, dst += 8) {  // group of 8; sub-block g / 4, half g / 2
      const float dl = d * static_cast<float>(2 * iq1m_scale(blk.scales, g / 2) + 1);
      const unsigned h = blk.qh[static_cast<std::size_t>(g / 2)] >> (4 * (g % 2));
      const std::uint64_t entry = kIq1sGrid[blk.qs[static_cast<std::size_t>(g)] | ((h & 7) << 8)];
      const float delta = shift_of(h & 8);
      for (int j = 0; j < 8; ++j) dst[j] = dl * (static_cast<float>(grid_coord(entry, j)) + delta);
    }
  }
}

void quantize_iq2_xxs(const float* src, std::byte* dst, std::int64_t n_blocks) {
  const LatticeSearch& search = iq2xxs_search();
  for (std::int64_t b = 0; b < n_blocks; ++b, src += kQK_K) {
    std::array<float, kQK_K> mag{};     // |x|, one element per odd-signed group negated
    std::array<std::uint32_t, 8> sign_bits{};
    std::array<GroupsFit, 8> fits{};
    for (int ib = 0; ib < 8; ++ib) {
      for (int l = 0; l < 4; ++l) {
        const float* x = src + 32 * ib + 8 * l;
        float* m = mag.data() + 32 * ib + 8 * l;
        unsigned neg = 0;
        int smallest = 0;
        for (int j = 0; j < 8; ++j) {
          m[j] = std::fabs(x[j]);
          if (x[j] < 0.0f) neg |= 1u << j;
          if (m[j] < m[smallest]) smallest = j;
        }
        // The format allows only an even number of negative signs: the smallest weight takes
        // the wrong one, which costs least.
        if (std::popcount(neg) % 2 != 0) {
          neg ^= 1u << smallest;
          m[smallest] = -m[smallest];
        }
        sign_bits[static_cast<std::size_t>(ib)] |= (neg & 127u) << (7 * l);
      }
      const float amax = absmax(mag.data() + 32 * ib, 32);
      if (amax > kTinyAbs) {
        const auto trials = trial_scales(amax, 43.0f);
        fits[static_cast<std::size_t>(ib)] = fit_groups(search, mag.data() + 32 * ib, 4, 0.0f, ShiftMode::kNone, trials);
      }
    }
    float max_scale = 0.0f;
    for (const GroupsFit& f : fits) max_scale = std::max(max_scale, f.scale);
    BlockIQ2_XXS blk{};
    // Sub-block scale = d * (2 ls + 1) / 8 with ls in 0..15: the largest takes ls = 15.
    blk.d = f32_to_f16(max_scale * 8.0f / 31.0f);
    const float d = f16_to_f32(blk.d);
    for (int ib = 0; ib < 8; ++ib) {
      int ls = 0;
      std::uint32_t idx = 0;
      if (d > 0.0f) {
        ls = std::clamp(round_int((8.0f * fits[static_cast<std::size_t>(ib)].scale / d - 1.0f) * 0.5f), 0, 15);
        const float db = d * (0.5f + static_cast<float>(ls)) * 0.25f;
        const GroupsFit f = assign_groups(search, mag.data() + 32 * ib, 4, db, 0.0f, ShiftMode::kNone);
        for (int l = 0; l < 4; ++l) idx |= static_cast<std::uint32_t>(f.idx[static_cast<std::size_t>(l)]) << (8 * l);
      }
      const std::uint32_t second = sign_bits[static_cast<std::size_t>(ib)] | (static_cast<std::uint32_t>(ls) << 28);
      blk.qs[static_cast<std::size_t>(4 * ib)] = static_cast<std::uint16_t>(idx & 0xFFFF);
      blk.qs[static_cast<std::size_t>(4 * ib + 1)] = static_cast<std::uint16_t>(idx >> 16);
      blk.qs[static_cast<std::size_t>(4 * ib + 2)] = static_cast<std::uint16_t>(second & 0xFFFF);
      blk.qs[static_cast<std::size_t>(4 * ib + 3)] = static_cast<std::uint16_t>(second >> 16);
    }
    store_block(blk, dst, b);
  }
}

namespace {

// IQ1_S and IQ1_M: fits runs of `run` elements (32 or 16) with 3-bit scales, d = largest / 15.
struct Iq1Fit {
  float d = 0.0f;
  std::uint16_t d_bits = 0;
  std::array<int, 16> ls{};          // integer scale per run
  std::array<GroupsFit, 16> runs{};  // entries and shifts at the rounded scale
};

Iq1Fit fit_iq1(const float* x, int run, ShiftMode mode) {
  const LatticeSearch& search = iq1s_search();
  const int n_runs = kQK_K / run, groups = run / 8;
  std::array<float, 16> scales{};
  for (int r = 0; r < n_runs; ++r) {
    const float amax = absmax(x + run * r, run);
    if (amax <= kTinyAbs) continue;
    const auto trials = trial_scales(amax, 1.0f + kShift);
    scales[static_cast<std::size_t>(r)] = fit_groups(search, x + run * r, groups, kShift, mode, trials).scale;
  }
  Iq1Fit out;
  out.d_bits = f32_to_f16(*std::max_element(scales.begin(), scales.end()) / 15.0f);
  out.d = f16_to_f32(out.d_bits);
  if (out.d <= 0.0f) return out;
  for (int r = 0; r < n_runs; ++r) {
    const std::size_t i = static_cast<std::size_t>(r);
    out.ls[i] = std::clamp(round_int((scales[i] / out.d - 1.0f) * 0.5f), 0, 7);
    const float dl = out.d * static_cast<float>(2 * out.ls[i] + 1);
    out.runs[i] = assign_groups(search, x + run * r, groups, dl, kShift, mode);
  }
  return out;
}

}  // namespace

void quantize_iq1_s(const float* src, std::byte* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, src += kQK_K) {
    const Iq1Fit f = fit_iq1(src, 32, ShiftMode::kPerRun);
    BlockIQ1_S blk{};
    blk.d = f.d_bits;
    for (int ib = 0; ib < 8; ++ib) {
      const GroupsFit& r = f.runs[static_cast<std::size_t>(ib)];
      unsigned qh = static_cast<unsigned>(f.ls[static_cast<std::size_t>(ib)]) << 12;
      if (r.shift[0] < 0.0f) qh |= 0x8000u;
      for (int l = 0; l < 4; ++l) {
        const int k = r.idx[static_cast<std::size_t>(l)];
        blk.qs[static_cast<std::size_t>(4 * ib + l)] = static_cast<std::uint8_t>(k & 0xFF);
        qh |= static_cast<unsigned>(k >> 8) << (3 * l);
      }
      blk.qh[static_cast<std::size_t>(ib)] = static_cast<std::uint16_t>(qh);
    }
    store_block(blk, dst, b);
  }
}

void quantize_iq1_m(const float* src, std::byte* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, src += kQK_K) {
    const Iq1Fit f = fit_iq1(src, 16, ShiftMode::kPerGroup);
    BlockIQ1_M blk{};
    std::array<unsigned, 4> words{};
    for (int h = 0; h < 16; ++h) {
      words[static_cast<std::size_t>(h / 4)] |= static_cast<unsigned>(f.ls[static_cast<std::size_t>(h)]) << (3 * (h % 4));
      const GroupsFit& r = f.runs[static_cast<std::size_t>(h)];
      for (int l = 0; l < 2; ++l) {
        const int g = 2 * h + l;  // group of 8
        const int k = r.idx[static_cast<std::size_t>(l)];
        blk.qs[static_cast<std::size_t>(g)] = static_cast<std::uint8_t>(k & 0xFF);
        unsigned nib = static_cast<unsigned>(k >> 8);
        if (r.shift[static_cast<std::size_t>(l)] < 0.0f) nib |= 8u;
        blk.qh[static_cast<std::size_t>(g / 2)] = static_cast<std::uint8_t>(blk.qh[static_cast<std::size_t>(g / 2)] | (nib << (4 * (g % 2))));
      }
    }
    for (int k = 0; k < 4; ++k) {
      words[static_cast<std::size_t>(k)] |= ((f.d_bits >> (4 * k)) & 0xFu) << 12;
      blk.scales[static_cast<std::size_t>(2 * k)] = static_cast<std::uint8_t>(words[static_cast<std::size_t>(k)] & 0xFF);
      blk.scales[static_cast<std::size_t>(2 * k + 1)] = static_cast<std::uint8_t>(words[static_cast<std::size_t>(k)] >> 8);
    }
    store_block(blk, dst, b);
  }
}

}  // namespace whale::quant_ref
