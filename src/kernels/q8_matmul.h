// q8_matmul.h — y = x · Wᵀ with x quantized to 8 bits (Q8_0 / Q8_K) and integer dot products:
// the fast path of matmul for block-quantized weights.
//
// Numerics contract (docs/kernels.md): for every output y[t, r], with weight blocks b and
// element i of a block in lane(i) (q8_contract_lane: (i mod 32) / 4, the 8 int32 lanes of an
// AVX2 vector after vpmaddwd; for Q4_K and Q5_K 2 (i / 64) + (i / 4) mod 2; for the 32-element
// nibble types (i mod 16) / 4, lanes 4-7 empty; see there),
//   lane[b][k] = Σ_{i in b, lane(i) = k} sc(i) · q_w(i) · q_x(i)             (exact int32)
//   acc[k]     = fma(d_w(b) · d_x(b), float(lane[b][k]), acc[k])   over b in order (f32)
//   mins[j]    = fma(dmin_w(b) · d_x(b), float(Σ_{g/4 = j} m(g) · xsum16(g)), mins[j])
//                (types with mins; j < 4, g the 16-element groups of block b)
//   y          = ((acc0 + acc4) + (acc2 + acc6)) + ((acc1 + acc5) + (acc3 + acc7))
//                + ((mins0 + mins2) + (mins1 + mins3))
// Every kernel (scalar reference, AVX2, AVX512-VNNI, NEON) computes exactly this, so they agree bit for bit, and
// the thread count and tile shape never change a result.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kernels/matmul.h"
#include "kernels/q8_acts.h"
#include "kernels/q8_matmul_args.h"
#include "quant/dtype.h"
#include "util/span2d.h"
#include "util/thread_pool.h"
#include "weights/weight_view.h"

namespace whale {

using Q8MatmulFn = void (*)(const Q8MatmulArgs& a);

// How a type's block elements map to the contract's 8 int32 lanes.
//   kByPosition: lane(i) = (i mod 32) / 4, position within a 32-element group.
//   kByChunk:    lane(i) = 2 (i / 64) + (i / 4) mod 2 (Q4_K, Q5_K): the 64-element chunk whose
//                32 bytes hold i in a nibble, and which half of an 8-byte piece of them. Why: a
//                lane then sums one 32-element sub-block (one scale) over four 8-byte pieces, so
//                a kernel that gathers piece j of the four chunks into one register adds four
//                registers' byte products before any scale (AVX-512 VNNI: four vpdpbusd, then
//                one vpdpwssd per nibble half) instead of scaling every sub-block's products.
//   kByNibbleByte: lane(i) = (i mod 16) / 4 (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL): the 4-byte group
//                of the block's 16 nibble bytes that holds i (element j sits in byte j's low
//                nibble, j + 16 in its high one); lanes 4-7 stay empty (their acc stays +0, and
//                as no acc is ever −0 the final sum is (acc0 + acc2) + (acc1 + acc3)). Why: a
//                lane then sums both nibbles of 4 bytes, so one int32 lane takes both halves'
//                byte products and a 512-bit register holds four rows' lanes, one convert and
//                one FMA per four rows and block where eight lanes took them per two rows.
enum class Q8Lanes { kByPosition, kByChunk, kByNibbleByte };
inline constexpr int q8_contract_lane(Q8Lanes lanes, int i) {
  switch (lanes) {
    case Q8Lanes::kByChunk: return 2 * (i / 64) + (i / 4) % 2;
    case Q8Lanes::kByNibbleByte: return (i % 16) / 4;
    default: return (i % 32) / 4;
  }
}

// The weight types with an integer path, the activation type each uses, its unpacker and its
// lanes.
struct Q8TypeInfo {
  DType weight;
  DType act;  // kQ8_0 or kQ8_K
  UnpackBlockFn unpack;
  Q8Lanes lanes = Q8Lanes::kByPosition;
};
// nullptr when `t` has no integer path (float types, FP8, types without a dequantizer).
const Q8TypeInfo* q8_type_info(DType t);

inline constexpr std::size_t kQ8TypeCount = 15;

struct Q8MatmulKernels {
  std::string_view isa_name;
  // Indexed by position in q8_types(); nullptr where this ISA has no kernel.
  std::array<Q8MatmulFn, kQ8TypeCount> by_type{};
};
// Every type with an integer path, in the order of Q8MatmulKernels::by_type.
const std::array<Q8TypeInfo, kQ8TypeCount>& q8_types();

const Q8MatmulKernels& q8_matmul_ref();
const Q8MatmulKernels* q8_matmul_avx2();  // nullptr without AVX2+FMA+F16C
// The same kernels with AVX512-VNNI int8 chains, every type's prefill (and Q4_K, Q5_K, Q6_K
// decode) on 512-bit registers; nullptr without AVX512-VNNI + AVX512VL + AVX512BW.
const Q8MatmulKernels* q8_matmul_avx512_vnni();
// AArch64: plain NEON (every AArch64 CPU; nullptr on other targets), and the same kernels with
// sdot (nullptr without the dot-product extension).
const Q8MatmulKernels* q8_matmul_neon();
const Q8MatmulKernels* q8_matmul_neon_dotprod();
// The best for this CPU (WHALE_KERNELS=avx2, neon or scalar in the environment chooses a
// lesser one); thread-safe.
const Q8MatmulKernels& q8_matmul_kernels();

// Where decode's time goes among the integer products: every one-token product (one call of
// q8_matmul or q8_matmul_batch, its thread hand-offs included, the activation quantization not)
// counted by the bytes of weights it reads, while a profile is installed. `whale bench --profile`
// prints it. The calls that record must come from one thread (a model's forward does).
struct DecodeMatmulProfile {
  static constexpr int kClasses = 5;
  // Classes by the bytes one call reads: < 1 MB, < 4 MB, < 12 MB, < 40 MB, the rest.
  static int class_of(double bytes);
  static const char* class_name(int c);
  std::array<std::int64_t, kClasses> calls{};
  std::array<double, kClasses> seconds{};
  std::array<double, kClasses> bytes{};
};
// Installs `p` (nullptr: none) for the calls that follow.
void set_decode_matmul_profile(DecodeMatmulProfile* p);

// y = x · Wᵀ through the integer path (x quantized to the type's activation format into the
// calling thread's scratch). Precondition: q8_type_info(w.dtype) and no FP8 block scales.
void q8_matmul(const WeightView& w, Span2D<const float> x, Span2D<float> y, ThreadPool& pool,
               const Q8MatmulKernels& kernels);
// Every job through the integer path in one parallel_for over the rows of all weights.
// Precondition: q8_type_info(w.dtype) and no FP8 block scales for every job.
void q8_matmul_batch(std::span<const MatmulJob> jobs, ThreadPool& pool,
                     const Q8MatmulKernels& kernels);
// The same over activations already quantized (tests, benchmarks).
void q8_matmul(const WeightView& w, const Q8Acts& x, Span2D<float> y, ThreadPool& pool,
               const Q8MatmulKernels& kernels);

}  // namespace whale
