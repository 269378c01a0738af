// q8_matmul.cpp — the integer matmul driver: quantize x once, split weight rows over threads,
// and the choice of kernels for this CPU.
#include "kernels/q8_matmul.h"

#include <algorithm>
#include <cstdlib>
#include <span>
#include <string_view>

#include "kernels/cpu_features.h"
#include "util/check.h"

#if WHALE_HAVE_X86_AVX2
#include "kernels/x86_avx2/avx2_quant_dot.h"
#endif
#if WHALE_HAVE_ARM_NEON
#include "kernels/arm_neon/neon_kernels.h"
#endif

namespace whale {
namespace {

std::size_t type_index(DType t) {
  const auto& types = q8_types();
  for (std::size_t i = 0; i < types.size(); ++i)
    if (types[i].weight == t) return i;
  WHALE_CHECK(false && "no integer path for this weight type");
  return 0;
}

#if WHALE_HAVE_X86_AVX2 || WHALE_HAVE_ARM_NEON
struct TypeKernel {
  DType type;
  Q8MatmulFn fn;
};
#define WHALE_TYPE_KERNEL(ns, type, suffix) TypeKernel{DType::type, &ns::matmul_##suffix},
#endif
#if WHALE_HAVE_X86_AVX2
#define WHALE_AVX2_KERNEL(type, suffix) WHALE_TYPE_KERNEL(avx2, type, suffix)
#define WHALE_VNNI_KERNEL(type, suffix) WHALE_TYPE_KERNEL(avx2_vnni, type, suffix)
constexpr TypeKernel kAvx2[] = {WHALE_Q8_MATMUL_KERNELS(WHALE_AVX2_KERNEL)};
constexpr TypeKernel kAvx2Vnni[] = {WHALE_Q8_MATMUL_KERNELS(WHALE_VNNI_KERNEL)};
#undef WHALE_VNNI_KERNEL
#undef WHALE_AVX2_KERNEL
#endif
#if WHALE_HAVE_ARM_NEON
#define WHALE_NEON_KERNEL(type, suffix) WHALE_TYPE_KERNEL(neon, type, suffix)
#define WHALE_NEON_DOTPROD_KERNEL(type, suffix) WHALE_TYPE_KERNEL(neon_dotprod, type, suffix)
constexpr TypeKernel kNeon[] = {WHALE_NEON_Q8_MATMUL_KERNELS(WHALE_NEON_KERNEL)};
constexpr TypeKernel kNeonDotprod[] = {WHALE_NEON_Q8_MATMUL_KERNELS(WHALE_NEON_DOTPROD_KERNEL)};
#undef WHALE_NEON_DOTPROD_KERNEL
#undef WHALE_NEON_KERNEL
#endif
#if WHALE_HAVE_X86_AVX2 || WHALE_HAVE_ARM_NEON
#undef WHALE_TYPE_KERNEL

Q8MatmulKernels make_table(std::string_view isa, std::span<const TypeKernel> table) {
  Q8MatmulKernels k;
  k.isa_name = isa;
  for (std::size_t i = 0; i < q8_types().size(); ++i) {
    k.by_type[i] = q8_matmul_ref().by_type[i];  // a type without a kernel: the scalar reference
    for (const TypeKernel& tk : table)
      if (tk.type == q8_types()[i].weight) k.by_type[i] = tk.fn;
  }
  return k;
}
#endif

}  // namespace

const Q8MatmulKernels* q8_matmul_avx2() {
#if WHALE_HAVE_X86_AVX2
  static const Q8MatmulKernels k = make_table("avx2+fma+f16c", kAvx2);
  static const bool supported = cpu_has_avx2_fma_f16c();
  return supported ? &k : nullptr;
#else
  return nullptr;
#endif
}

const Q8MatmulKernels* q8_matmul_avx512_vnni() {
#if WHALE_HAVE_X86_AVX2
  static const Q8MatmulKernels k = make_table("avx2+avx512vnni", kAvx2Vnni);
  static const bool supported = cpu_has_avx2_fma_f16c() && cpu_has_avx512_vnni_vl();
  return supported ? &k : nullptr;
#else
  return nullptr;
#endif
}

const Q8MatmulKernels* q8_matmul_neon() {
#if WHALE_HAVE_ARM_NEON
  static const Q8MatmulKernels k = make_table("neon", kNeon);
  return &k;  // NEON is part of the AArch64 base ISA
#else
  return nullptr;
#endif
}

const Q8MatmulKernels* q8_matmul_neon_dotprod() {
#if WHALE_HAVE_ARM_NEON
  static const Q8MatmulKernels k = make_table("neon+dotprod", kNeonDotprod);
  static const bool supported = cpu_has_neon_dotprod();
  return supported ? &k : nullptr;
#else
  return nullptr;
#endif
}

const Q8MatmulKernels& q8_matmul_kernels() {
  static const Q8MatmulKernels& best = [&]() -> const Q8MatmulKernels& {
    // WHALE_KERNELS=avx2, neon or scalar picks a lesser set (comparisons, benchmarks).
    const char* env = std::getenv("WHALE_KERNELS");
    const std::string_view want = env != nullptr ? env : "";
    if (want == "scalar") return q8_matmul_ref();
    if (want != "avx2" && q8_matmul_avx512_vnni() != nullptr) return *q8_matmul_avx512_vnni();
    if (q8_matmul_avx2() != nullptr) return *q8_matmul_avx2();
    if (want != "neon" && q8_matmul_neon_dotprod() != nullptr) return *q8_matmul_neon_dotprod();
    if (q8_matmul_neon() != nullptr) return *q8_matmul_neon();
    return q8_matmul_ref();
  }();
  return best;
}

void q8_matmul(const WeightView& w, const Q8Acts& x, Span2D<float> y, ThreadPool& pool,
               const Q8MatmulKernels& kernels) {
  const Q8TypeInfo* info = q8_type_info(w.dtype);
  WHALE_CHECK(info != nullptr && w.block_scales == nullptr);
  WHALE_CHECK(x.type == info->act && x.cols == w.cols && y.rows() == x.rows &&
              y.cols() == w.rows);
  const Q8MatmulFn fn = kernels.by_type[type_index(w.dtype)];
  WHALE_CHECK(fn != nullptr);
  Q8MatmulArgs a;
  a.w = w.data;
  a.w_row_bytes = w.row_bytes;
  a.block_bytes = dtype_traits(w.dtype).block_bytes;
  a.block_elems = dtype_traits(w.dtype).block_elems;
  WHALE_CHECK(a.block_elems == x.block_elems);
  a.cols = w.cols;
  a.x_qs = x.qs;
  a.x_d = x.d;
  a.x_sums16 = x.sums16;
  a.x_sums32 = x.sums32;
  a.n_tokens = x.rows;
  a.y = y.data();
  a.y_stride = y.stride();
  a.unpack = info->unpack;
  // Grain 4: the decode kernels work on 4 rows at a time; any split gives the same bits.
  pool.parallel_for(
      w.rows,
      [&](RowRange rows, int) {
        Q8MatmulArgs part = a;
        part.row_begin = rows.begin;
        part.row_end = rows.end;
        fn(part);
      },
      4);
}

void q8_matmul(const WeightView& w, Span2D<const float> x, Span2D<float> y, ThreadPool& pool,
               const Q8MatmulKernels& kernels) {
  const Q8TypeInfo* info = q8_type_info(w.dtype);
  WHALE_CHECK(info != nullptr);
  // One buffer per calling thread, grown to the largest input seen: no allocation per call
  // once warm. Workers only read it while the caller waits in parallel_for.
  thread_local Q8ActsBuffer buffer;
  const Q8Acts acts = buffer.quantize(info->act, x, pool);
  q8_matmul(w, acts, y, pool, kernels);
}

}  // namespace whale
