// q8_acts.cpp — quantizing activation rows for the integer kernels (reference and dispatch).
#include "kernels/q8_acts.h"

#include <atomic>
#include <cstring>

#include "kernels/cpu_features.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "util/check.h"
#include "util/float_convert.h"

#if WHALE_HAVE_X86_AVX2
#include "kernels/x86_avx2/avx2_quant_dot.h"
#endif
#if WHALE_HAVE_ARM_NEON
#include "kernels/arm_neon/neon_kernels.h"
#endif

namespace whale {

void quantize_act_row_ref(DType type, const float* x, std::int64_t cols, std::int8_t* qs,
                          float* d, std::int16_t* sums16) {
  WHALE_CHECK(type == DType::kQ8_0 || type == DType::kQ8_K);
  if (type == DType::kQ8_0) {
    for (std::int64_t b = 0; b < cols / kQK; ++b) {
      BlockQ8_0 blk;
      quantize_row(DType::kQ8_0, x + b * kQK, reinterpret_cast<std::byte*>(&blk), kQK);
      d[b] = f16_to_f32(blk.d);
      for (int i = 0; i < kQK; ++i) qs[b * kQK + i] = blk.qs[static_cast<std::size_t>(i)];
    }
  } else {
    for (std::int64_t b = 0; b < cols / kQK_K; ++b) {
      BlockQ8_K blk;
      quantize_row(DType::kQ8_K, x + b * kQK_K, reinterpret_cast<std::byte*>(&blk), kQK_K);
      d[b] = blk.d;
      for (int i = 0; i < kQK_K; ++i) qs[b * kQK_K + i] = blk.qs[static_cast<std::size_t>(i)];
    }
  }
  // Recomputed rather than copied from Q8_K's bsums so both types share the code path.
  for (std::int64_t j = 0; j < cols / 16; ++j) {
    int s = 0;
    for (int i = 0; i < 16; ++i) s += qs[16 * j + i];
    sums16[j] = static_cast<std::int16_t>(s);
  }
}

QuantizeActRowFn quantize_act_row_kernel() {
#if WHALE_HAVE_X86_AVX2
  static const bool avx2 = cpu_has_avx2_fma_f16c();
  if (avx2)
    return [](DType type, const float* x, std::int64_t cols, std::int8_t* qs, float* d,
              std::int16_t* sums16) {
      avx2::quantize_act_row(type == DType::kQ8_K, x, cols, qs, d, sums16);
    };
#endif
#if WHALE_HAVE_ARM_NEON
  return [](DType type, const float* x, std::int64_t cols, std::int8_t* qs, float* d,
            std::int16_t* sums16) {
    neon::quantize_act_row(type == DType::kQ8_K, x, cols, qs, d, sums16);
  };
#else
  return &quantize_act_row_ref;
#endif
}

Q8Acts Q8ActsBuffer::quantize(DType type, Span2D<const float> x, ThreadPool& pool) {
  static std::atomic<std::uint64_t> generations{0};
  Q8Acts a;
  a.generation = generations.fetch_add(1, std::memory_order_relaxed) + 1;
  a.type = type;
  a.rows = x.rows();
  a.cols = x.cols();
  a.block_elems = type == DType::kQ8_K ? kQK_K : kQK;
  WHALE_CHECK(a.cols % a.block_elems == 0);
  const auto need = [](auto& buf, std::int64_t n) {
    if (static_cast<std::int64_t>(buf.size()) < n)
      buf = std::remove_reference_t<decltype(buf)>(static_cast<std::size_t>(n));
  };
  need(qs_, a.rows * a.cols);
  need(d_, a.rows * a.n_blocks());
  need(sums16_, a.rows * (a.cols / 16));
  need(sums32_, a.rows * (a.cols / 32));
  a.qs = qs_.data();
  a.d = d_.data();
  a.sums16 = sums16_.data();
  a.sums32 = sums32_.data();
  const QuantizeActRowFn fn = quantize_act_row_kernel();
  const auto quantize_rows = [&](RowRange rows, int) {
    for (std::int64_t t = rows.begin; t < rows.end; ++t) {
      std::int8_t* qs = qs_.data() + t * a.cols;
      std::int16_t* s16 = sums16_.data() + t * (a.cols / 16);
      std::int16_t* s32 = sums32_.data() + t * (a.cols / 32);
      fn(type, x.row(t), a.cols, qs, d_.data() + t * a.n_blocks(), s16);
      for (std::int64_t j = 0; j < a.cols / 32; ++j)
        s32[j] = static_cast<std::int16_t>(s16[2 * j] + s16[2 * j + 1]);
    }
  };
  if (a.rows == 1)
    quantize_rows({0, 1}, 0);
  else
    pool.parallel_for(a.rows, quantize_rows);
  return a;
}

}  // namespace whale
