// q8_matmul.cpp — the integer matmul driver: quantize x once, split weight rows over threads,
// and the choice of kernels for this CPU.
#include "kernels/q8_matmul.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
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

namespace {

// The kernel arguments of one product over all its rows (the caller narrows the row range).
Q8MatmulArgs make_args(const WeightView& w, const Q8Acts& x, Span2D<float> y) {
  const Q8TypeInfo* info = q8_type_info(w.dtype);
  WHALE_CHECK(info != nullptr && w.block_scales == nullptr);
  WHALE_CHECK(x.type == info->act && x.cols == w.cols && y.rows() == x.rows &&
              y.cols() == w.rows);
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
  a.x_generation = x.generation;
  a.n_tokens = x.rows;
  a.y = y.data();
  a.y_stride = y.stride();
  a.unpack = info->unpack;
  a.row_begin = 0;
  a.row_end = w.rows;
  return a;
}

Q8MatmulFn kernel_for(const Q8MatmulKernels& kernels, DType t) {
  const Q8MatmulFn fn = kernels.by_type[type_index(t)];
  WHALE_CHECK(fn != nullptr);
  return fn;
}

// The kernels prefetch a fixed distance ahead of the block they multiply, so at decode the
// first that many bytes of each piece of rows came in on demand loads, a few lines in flight
// at a time; pieces are tens of KB for the small matrices (a 1.5B model's q/o projections:
// 1.3 MB in 32 pieces). Asks for the head of the piece at once, as far as the kernels'
// distance; prefetches never fault. Alternated, 2 threads, tok/s: 1.5B Q4_K_M 22.2 / 22.5 /
// 22.1 -> 23.0 / 23.9 / 24.3; V2-Lite Q4_K 10.8 / 12.2 / 13.6 / 12.0 / 12.0 / 12.1 -> 13.4 /
// 13.1 / 13.0 / 13.2 / 11.8 / 12.6; 1.5B Q8_0 unchanged (12.9 / 13.2 -> 13.2 / 13.0).
// A part that starts where the thread's previous one ended (the next piece of its own run, in
// the same matrix) needs none: the kernels' own prefetch ran past that end already. Returns the
// end of the part's bytes, where the thread's stream now stands.
const std::byte* prefetch_piece_head(const Q8MatmulArgs& a, const std::byte* stream_end) {
  const std::byte* first = a.w + static_cast<std::size_t>(a.row_begin) * a.w_row_bytes;
  const std::size_t bytes = static_cast<std::size_t>(a.row_end - a.row_begin) * a.w_row_bytes;
  if (first != stream_end)
    for (std::size_t off = 0; off < std::min(std::size_t{kPrefetchBytes}, bytes); off += 64)
      __builtin_prefetch(first + off, 0, 2);
  return first + bytes;
}

// Pieces of one thread's run claimed so far; a cache line each, as every claim writes it.
struct alignas(64) PieceCounter {
  std::atomic<std::size_t> claimed{0};
};

// Runs the rows of every job (args[j] with kernel fns[j]; job j's rows start at first_row[j] in
// one joint index) over the pool, in pieces cut by work (weight bytes × tokens), not rows: a
// batch may mix row sizes (V2-Lite's down batch has the shared expert's Q4_K rows of 2816
// columns, 1584 bytes, beside the routed experts' Q5_0 rows of 1408, 968 bytes), and equal row
// counts gave one of two threads 8.2 MB to stream and the other 6.9; at prefill its experts hold
// different numbers of tokens, and cuts by bytes alone left the V2-Lite shape's worker thread
// with 70 % of the caller's samples (perf, pp512, 2 threads; 98 % cut by work). Cuts fall on
// multiples of 4 rows within a job; any cut gives the same bits (the contract).
//
// The threads claim pieces as they finish them (atomic counters) instead of one fixed share
// each: on a shared machine (another tenant on one of the cores) or one with cores of two
// speeds, a fixed half made the faster thread wait at the end of every matmul, hundreds of
// times per decoded token. Each thread first claims the pieces of its own contiguous run, so it
// streams one region from start to end as a fixed share would, and only then helps with the
// others': claimed from one shared counter, the two threads took alternate pieces and each
// restarted its stream every ~40 KB-1 MB. Alternated, 2 threads, 5 rounds, tok/s: 1.5B Q8_0
// 13.4 / 13.9 / 14.6 / 13.8 / 14.1 -> 15.8 / 14.8 / 15.3 / 15.4 / 14.9; Q4_K_M 22.0 / 21.8 /
// 21.6 / 22.1 / 20.6 -> 21.8 / 23.5 / 21.0 / 22.9 / 22.8; V2-Lite (4 rounds) 13.4 / 14.7 / 14.2 /
// 13.6 -> 13.9 / 14.1 / 15.3 / 14.3.
// Decode cuts 16 pieces per thread: with 4, a V2-Lite expert batch's pieces were ~3 MB, and the
// thread without a last piece waited up to one (tens of µs, ~10 batches a layer); alternated on
// the V2-Lite shape, decode 9.4 / 13.2 / 13.0 → 13.6 / 12.6 / 14.4 tok/s (56–73 % → 76–85 % of
// the roofline). Prefill cuts one (each piece repacks the token chunk's activations, and a
// tile's work is large enough to even out).
void run_rows_now(std::span<const Q8MatmulArgs> args, std::span<const Q8MatmulFn> fns,
                  std::span<const std::int64_t> first_row, ThreadPool& pool) {
  if (args.empty()) return;
  thread_local std::vector<std::int64_t> cuts;  // piece p: joint rows [cuts[p], cuts[p + 1])
  // A row's work: its bytes times the job's tokens (a MoE batch's experts have different
  // token counts at prefill), never zero.
  const auto row_work = [](const Q8MatmulArgs& a) {
    return static_cast<std::uint64_t>(a.w_row_bytes) * static_cast<std::uint64_t>(std::max<std::int64_t>(a.n_tokens, 1));
  };
  const auto job_work = [&](const Q8MatmulArgs& a) { return static_cast<std::uint64_t>(a.row_end) * row_work(a); };
  std::int64_t max_tokens = 0, total_rows = 0;
  std::uint64_t total_work = 0;
  for (std::size_t j = 0; j < args.size(); ++j) {
    max_tokens = std::max(max_tokens, args[j].n_tokens);
    total_rows = first_row[j] + args[j].row_end;
    total_work += job_work(args[j]);
  }
  const int n_threads = pool.size();
  const int n_pieces = n_threads * (max_tokens <= 4 && n_threads > 1 ? 16 : 1);
  cuts.assign(1, 0);
  std::size_t cut_job = 0;
  std::uint64_t work_before_job = 0;  // of the jobs before cut_job
  for (int p = 1; p < n_pieces; ++p) {
    const std::uint64_t target = total_work * static_cast<std::uint64_t>(p) / static_cast<std::uint64_t>(n_pieces);
    while (cut_job + 1 < args.size() && work_before_job + job_work(args[cut_job]) <= target) {
      work_before_job += job_work(args[cut_job]);
      ++cut_job;
    }
    const Q8MatmulArgs& a = args[cut_job];
    const std::int64_t row = static_cast<std::int64_t>((target - work_before_job) / row_work(a) + 2) / 4 * 4;
    cuts.push_back(std::max(cuts.back(), first_row[cut_job] + std::min(row, a.row_end)));
  }
  cuts.push_back(total_rows);
  // Named through a reference: inside the lambda, which runs on the workers too, the
  // thread_local name would denote each worker's own (empty) vector.
  const std::vector<std::int64_t>& piece_cuts = cuts;
  const bool streaming = n_pieces > n_threads;
  const auto run_piece = [&](std::size_t p, const std::byte*& stream_end) {
    const RowRange rows{piece_cuts[p], piece_cuts[p + 1]};
    for (std::size_t j = 0; j < args.size(); ++j) {
      const std::int64_t begin = std::max(rows.begin, first_row[j]);
      const std::int64_t end = std::min(rows.end, first_row[j] + args[j].row_end);
      if (begin >= end) continue;
      Q8MatmulArgs part = args[j];
      part.row_begin = begin - first_row[j];
      part.row_end = end - first_row[j];
      if (streaming) stream_end = prefetch_piece_head(part, stream_end);
      fns[j](part);
    }
  };
  // Thread t owns pieces [t·per_thread, (t + 1)·per_thread) and claims them in order; then it
  // claims what is left of the others' runs.
  const std::size_t per_thread = static_cast<std::size_t>(n_pieces / n_threads);
  thread_local std::unique_ptr<PieceCounter[]> counters;
  thread_local int n_counters = 0;
  if (n_counters < n_threads) {
    counters = std::make_unique<PieceCounter[]>(static_cast<std::size_t>(n_threads));
    n_counters = n_threads;
  }
  PieceCounter* const next = counters.get();  // the caller's, shared with the workers
  for (int t = 0; t < n_threads; ++t) next[t].claimed.store(0, std::memory_order_relaxed);
  pool.parallel_for(n_threads, [&](RowRange, int thread) {
    const std::byte* stream_end = nullptr;
    for (int k = 0; k < n_threads; ++k) {
      const int owner = (thread + k) % n_threads;
      for (std::size_t i = next[owner].claimed.fetch_add(1, std::memory_order_relaxed); i < per_thread;
           i = next[owner].claimed.fetch_add(1, std::memory_order_relaxed))
        run_piece(static_cast<std::size_t>(owner) * per_thread + i, stream_end);
    }
  });
}

std::atomic<DecodeMatmulProfile*> g_decode_profile{nullptr};

// run_rows_now, timed into the installed profile when the products are one token's.
void run_rows(std::span<const Q8MatmulArgs> args, std::span<const Q8MatmulFn> fns,
              std::span<const std::int64_t> first_row, ThreadPool& pool) {
  DecodeMatmulProfile* profile = g_decode_profile.load(std::memory_order_relaxed);
  if (profile == nullptr || args.empty() || args[0].n_tokens != 1) {
    run_rows_now(args, fns, first_row, pool);
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  run_rows_now(args, fns, first_row, pool);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  double bytes = 0;
  for (const Q8MatmulArgs& a : args) bytes += static_cast<double>(a.row_end) * static_cast<double>(a.w_row_bytes);
  const int c = DecodeMatmulProfile::class_of(bytes);
  profile->calls[c] += 1;
  profile->seconds[c] += took.count();
  profile->bytes[c] += bytes;
}

}  // namespace

int DecodeMatmulProfile::class_of(double bytes) {
  constexpr double kUpper[kClasses - 1] = {1e6, 4e6, 12e6, 40e6};
  int c = 0;
  while (c < kClasses - 1 && bytes >= kUpper[c]) ++c;
  return c;
}

const char* DecodeMatmulProfile::class_name(int c) {
  constexpr const char* kNames[kClasses] = {"< 1 MB", "1-4 MB", "4-12 MB", "12-40 MB", ">= 40 MB"};
  return kNames[c];
}

void set_decode_matmul_profile(DecodeMatmulProfile* p) { g_decode_profile.store(p, std::memory_order_relaxed); }

void q8_matmul(const WeightView& w, const Q8Acts& x, Span2D<float> y, ThreadPool& pool,
               const Q8MatmulKernels& kernels) {
  const Q8MatmulArgs a = make_args(w, x, y);
  const Q8MatmulFn fn = kernel_for(kernels, w.dtype);
  const std::int64_t first = 0;
  run_rows(std::span(&a, 1), std::span(&fn, 1), std::span(&first, 1), pool);
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

void q8_matmul_batch(std::span<const MatmulJob> jobs, ThreadPool& pool,
                     const Q8MatmulKernels& kernels) {
  // Per calling thread, like q8_matmul's buffer; one per distinct input, grown as needed.
  thread_local std::vector<Q8ActsBuffer> buffers;
  thread_local std::vector<Q8MatmulArgs> args;
  thread_local std::vector<Q8MatmulFn> fns;
  thread_local std::vector<std::int64_t> first_row;  // of each job in the joint row index
  thread_local std::vector<Q8Acts> acts;  // of the distinct inputs, in first-use order
  thread_local std::vector<const MatmulJob*> acts_source;
  args.clear();
  fns.clear();
  first_row.clear();
  acts.clear();
  acts_source.clear();
  std::int64_t total_rows = 0;
  // Jobs a and b multiply the same activations (quantized once when their types' activation
  // formats agree too).
  const auto same_x = [](const MatmulJob& a, const MatmulJob& b) {
    return a.x.data() == b.x.data() && a.x.rows() == b.x.rows() && a.x.cols() == b.x.cols() &&
           a.x.stride() == b.x.stride();
  };
  for (const MatmulJob& job : jobs) {
    const Q8TypeInfo* info = q8_type_info(job.w->dtype);
    WHALE_CHECK(info != nullptr);
    std::size_t k = 0;
    while (k < acts.size() && !(same_x(*acts_source[k], job) && acts[k].type == info->act)) ++k;
    if (k == acts.size()) {
      if (buffers.size() <= k) buffers.resize(k + 1);
      acts.push_back(buffers[k].quantize(info->act, job.x, pool));
      acts_source.push_back(&job);
    }
    args.push_back(make_args(*job.w, acts[k], job.y));
    fns.push_back(kernel_for(kernels, job.w->dtype));
    first_row.push_back(total_rows);
    total_rows += job.w->rows;
  }
  run_rows(args, fns, first_row, pool);
}

}  // namespace whale
