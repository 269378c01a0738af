// cmd_bench.cpp — `whale bench`: prefill and decode tokens/s next to the machine's limits,
// measured on the spot with the same threads, each result as a fraction of its roofline
// (decode is bound by read bandwidth, prefill by the peak of the arithmetic the kernels use).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/bench_budget.h"
#include "cli/bench_parallel.h"
#include "cli/commands.h"
#include "format/model_files.h"
#include "kernels/q8_matmul.h"
#include "model/model.h"
#include "quant/dtype.h"
#include "runtime/roofline.h"
#include "util/thread_pool.h"

namespace whale::cli {
namespace {

struct BenchOptions {
  std::string model;
  std::int64_t prompt = 512;
  std::int64_t gen = 128;
  int threads = 0;
  int repeats = 5;
  bool json = false;
  std::int64_t bandwidth_mib = 1024;  // hidden: tests use a small buffer
  std::uint64_t seed = 1;
  std::string parallel;  // "1,2,4,8": also measure batched decode of that many sequences
  bool profile = false;  // also time decode's integer products (DecodeMatmulProfile)
};

struct Spread {
  double median = 0, min = 0, max = 0;
  std::vector<double> runs;
};

Spread spread(std::vector<double> v) {
  Spread s;
  s.runs = v;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.min = v.front();
  s.max = v.back();
  return s;
}

// FNV-1a over the float bits: any change to the logits, even in the last bit, shows.
std::uint64_t fnv1a(std::span<const float> x) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (float f : x) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &f, sizeof bits);
    for (int i = 0; i < 4; ++i) {
      h ^= (bits >> (8 * i)) & 0xffu;
      h *= 0x100000001b3ull;
    }
  }
  return h;
}

// Token ids fixed by the seed (splitmix64), so runs on one model see the same input.
std::vector<std::int32_t> random_ids(std::int64_t n, std::int64_t vocab, std::uint64_t seed) {
  std::vector<std::int32_t> ids(static_cast<std::size_t>(n));
  std::uint64_t s = seed;
  for (auto& id : ids) {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    id = static_cast<std::int32_t>((z ^ (z >> 31)) % static_cast<std::uint64_t>(vocab));
  }
  return ids;
}

struct Measured {
  Spread prefill, decode;  // tokens/s
  std::uint64_t prefill_hash = 0, decode_hash = 0;
  // With --profile: the decode runs' integer products, and the runs' tokens and seconds.
  DecodeMatmulProfile profile;
  std::int64_t decode_tokens = 0;
  double decode_seconds = 0;
};

// Installs a decode profile for its lifetime (an error return inside the timed loop must not
// leave the kernels writing into a destroyed one).
class ProfileScope {
 public:
  explicit ProfileScope(DecodeMatmulProfile* p) { set_decode_matmul_profile(p); }
  ~ProfileScope() { set_decode_matmul_profile(nullptr); }
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;
};

using Clock = std::chrono::steady_clock;

Result<Measured> run_repeats(Model& model, const BenchOptions& o) {
  const ModelConfig& c = model.config();
  const auto prompt = random_ids(o.prompt, c.vocab_size, o.seed);
  const auto gen = random_ids(std::max<std::int64_t>(o.gen, 1), c.vocab_size, o.seed + 1);
  std::vector<float> logits(static_cast<std::size_t>(c.vocab_size));
  Span2D<float> row(logits.data(), 1, c.vocab_size);
  std::vector<double> pp, tg;
  Measured m;
  for (int r = 0; r < o.repeats; ++r) {
    KvCache cache = model.new_cache(o.prompt + o.gen);
    auto t0 = Clock::now();
    // As a generation runs it: only the last prompt token's logits.
    const SeqStep step{prompt, &cache, LogitRows::kLast};
    WHALE_TRY_VOID(model.forward_batch(std::span(&step, 1), row));
    const double s_pp = std::chrono::duration<double>(Clock::now() - t0).count();
    pp.push_back(static_cast<double>(o.prompt) / s_pp);
    if (r == 0) m.prefill_hash = fnv1a(std::span<const float>(logits));
    if (o.gen <= 0) continue;
    t0 = Clock::now();
    {
      const ProfileScope scope(o.profile ? &m.profile : nullptr);
      for (std::int64_t i = 0; i < o.gen; ++i)
        WHALE_TRY_VOID(model.forward(std::span(gen.data() + i, 1), cache, row));
    }
    const double s_tg = std::chrono::duration<double>(Clock::now() - t0).count();
    tg.push_back(static_cast<double>(o.gen) / s_tg);
    m.decode_tokens += o.gen;
    m.decode_seconds += s_tg;
    if (r == 0)
      m.decode_hash = fnv1a(std::span<const float>(logits.data(), static_cast<std::size_t>(c.vocab_size)));
  }
  m.prefill = spread(std::move(pp));
  m.decode = spread(std::move(tg));
  return m;
}

struct Limits {
  double bw_before = 0, bw_after = 0;
  std::string simd;
  // The peak of each arithmetic (index: Arithmetic) in G operations/s, and the instruction
  // sequence it was measured with.
  std::array<double, kArithmetics> peak{};
  std::array<std::string, kArithmetics> chain{};
};

// The time a token's prefill takes at the peaks, each weight's ops at its own arithmetic's
// peak (a model mixing K-quants with 32-element blocks, as the V2-Lite Q4_K file's Q5_0
// expert down projections, or with f32 products runs each on its own chain), as tokens/s.
double prefill_roofline(const std::array<double, kArithmetics>& ops, const Limits& lim) {
  double seconds = 0.0;
  for (std::size_t i = 0; i < ops.size(); ++i)
    if (ops[i] > 0 && lim.peak[i] > 0) seconds += ops[i] / (lim.peak[i] * 1e9);
  return seconds > 0 ? 1.0 / seconds : 0.0;
}

nlohmann::json spread_json(const Spread& s) {
  return {{"tokens_per_s", s.median}, {"min", s.min}, {"max", s.max}, {"runs", s.runs}};
}

double fraction(double achieved, double roof) { return roof > 0 ? achieved / roof : 0.0; }

// The decode profile per token: each class of integer products, then the rest of the step.
struct ProfileRow {
  const char* name;
  double calls, ms, gb_per_s;
};
std::vector<ProfileRow> profile_rows(const Measured& m) {
  const double tokens = static_cast<double>(m.decode_tokens);
  std::vector<ProfileRow> rows;
  for (int c = 0; c < DecodeMatmulProfile::kClasses; ++c)
    if (m.profile.calls[c] > 0)
      rows.push_back({DecodeMatmulProfile::class_name(c), static_cast<double>(m.profile.calls[c]) / tokens,
                      1e3 * m.profile.seconds[c] / tokens, m.profile.bytes[c] / m.profile.seconds[c] / 1e9});
  return rows;
}
double step_ms(const Measured& m) { return 1e3 * m.decode_seconds / static_cast<double>(m.decode_tokens); }
double profile_outside_ms(const Measured& m) {
  double inside = 0;
  for (double s : m.profile.seconds) inside += s;
  return step_ms(m) - 1e3 * inside / static_cast<double>(m.decode_tokens);
}

nlohmann::json profile_json(const Measured& m) {
  nlohmann::json classes = nlohmann::json::array();
  for (const ProfileRow& r : profile_rows(m))
    classes.push_back({{"bytes_per_call", r.name}, {"calls_per_token", r.calls}, {"ms_per_token", r.ms},
                       {"gb_per_s", r.gb_per_s}});
  return {{"integer_products", classes},
          {"ms_per_token", step_ms(m)},
          {"outside_integer_products_ms_per_token", profile_outside_ms(m)}};
}

void print_profile(const Measured& m) {
  const double token_ms = step_ms(m);
  fmt::print("profile  decode, per token of all repeats ({:.2f} ms): integer products by the bytes a call reads\n",
             token_ms);
  for (const ProfileRow& r : profile_rows(m))
    fmt::print("         {:<9} {:>6.1f} calls {:>8.3f} ms ({:>4.1f}%) {:>7.1f} GB/s\n", r.name, r.calls, r.ms,
               100 * r.ms / token_ms, r.gb_per_s);
  const double outside = profile_outside_ms(m);
  fmt::print("         the rest of the step      {:>8.3f} ms ({:>4.1f}%)\n", outside, 100 * outside / token_ms);
}

int run_bench(const BenchOptions& o) {
  auto fail = [](const Error& e) {
    fmt::print(stderr, "whale bench: error: {}\n", e.what());
    return 1;
  };
  if (o.prompt < 1 || o.gen < 0 || o.repeats < 1)
    return fail(Error("-p must be >= 1, -n >= 0 and -r >= 1"));
  const int threads = o.threads > 0 ? o.threads : ThreadPool::default_threads();
  auto files = open_model_files(o.model);
  if (!files.ok()) return fail(files.error());
  LoadOptions lo;
  lo.n_threads = threads;
  auto model = load_model(o.model, lo);
  if (!model.ok()) return fail(model.error());
  const ModelConfig& c = (*model)->config();
  for (const auto& n : c.notices) fmt::print(stderr, "whale: notice: {}\n", n);
  const KvCache probe = (*model)->new_cache(1);
  const TokenBudget budget = token_budget(*files, c, probe.k_width + probe.v_width);

  ThreadPool pool(threads);
  const std::size_t bw_bytes = static_cast<std::size_t>(o.bandwidth_mib) << 20;
  Limits lim;
  lim.simd = std::string(simd_level_name(detect_simd_level()));
  lim.bw_before = measure_read_bandwidth(pool, bw_bytes);
  // The int8 peaks of the sequences the kernels issue per 32 products (see roofline.h and
  // docs/kernels.md): 256-element K-quant blocks accumulate in int32 first (maddubs, madd,
  // add); 32-element blocks (Q8_0, legacy) also pay a sign, a convert and an FMA with the
  // block scale. The AVX512-VNNI kernel set runs every type's prefill on 512-bit registers with
  // shorter chains (vpdpwssd; for 32-element blocks x biased to unsigned by a xor, then
  // vpdpbusd).
  const bool vnni = q8_matmul_avx512_vnni() != nullptr && &q8_matmul_kernels() == q8_matmul_avx512_vnni();
  const auto k256 = static_cast<std::size_t>(Arithmetic::kInt8Blocks256);
  const auto k32 = static_cast<std::size_t>(Arithmetic::kInt8Blocks32);
  const auto kf32 = static_cast<std::size_t>(Arithmetic::kFp32);
  lim.chain[k256] = vnni ? "maddubs+dpwssd zmm" : "maddubs+madd+add";
  lim.chain[k32] = vnni ? "xor+dpbusd+cvt+fma zmm" : "sign+maddubs+madd+cvt+fma";
  lim.chain[kf32] = "fma";
  // Each peak is the better of a measurement before and one after the runs, as the bandwidth
  // is taken on both sides: this VM's two-thread int8 peak read 229 in one process and 390
  // GOP/s in the next, and a peak taken in a slow minute made the run's fraction read high.
  const auto measure_peaks = [&] {
    lim.peak[kf32] = std::max(lim.peak[kf32], measure_fp32_fma_peak(pool));
    lim.peak[k256] = std::max(lim.peak[k256], measure_int8_madd_peak(pool, vnni));
    lim.peak[k32] = std::max(lim.peak[k32], measure_int8_q8_block_peak(pool, vnni));
  };
  measure_peaks();
  // The int8 peak of the type holding the most matmul bytes, the one printed first.
  const auto main_type = dtype_from_name(budget.main_dtype);
  const std::size_t main_int8 = main_type && dtype_traits(*main_type).block_elems == 32 ? k32 : k256;
  const std::size_t other_int8 = main_int8 == k32 ? k256 : k32;
  auto measured = run_repeats(**model, o);
  if (!measured.ok()) return fail(measured.error());
  std::vector<ParallelResult> par;
  if (!o.parallel.empty()) {
    auto counts = parse_parallel_list(o.parallel);
    if (!counts.ok()) return fail(counts.error());
    const auto prompt = random_ids(o.prompt, c.vocab_size, o.seed);
    const auto gen = random_ids(std::max<std::int64_t>(o.gen, 1), c.vocab_size, o.seed + 1);
    auto r = bench_parallel(**model, prompt, gen, *counts, o.repeats);
    if (!r.ok()) return fail(r.error());
    par = std::move(r).value();
  }
  // After the runs, which have read every weight they use (a model too large for the loader's
  // warm-up is only paged in by them).
  const std::optional<MappedResidency> residency = (*model)->weights_residency();
  lim.bw_after = measure_read_bandwidth(pool, bw_bytes);
  measure_peaks();

  // Decode attends to p+1 .. p+n tokens of context: the KV bytes at the mean context.
  const double mean_ctx = static_cast<double>(o.prompt) + static_cast<double>(o.gen + 1) / 2.0;
  const double kv_bytes = static_cast<double>(budget.kv_bytes_per_context_token) * mean_ctx;
  const double bytes_per_token = static_cast<double>(budget.weight_bytes_per_token) + kv_bytes;
  const double bw_hi = std::max(lim.bw_before, lim.bw_after), bw_lo = std::min(lim.bw_before, lim.bw_after);
  // The higher bandwidth gives the smaller (never flattering) fraction; the lower one is shown
  // as the other end of the range on noisy machines.
  const double tg_roof = bw_hi * 1e9 / bytes_per_token;
  const double tg_roof_lo = bw_lo * 1e9 / bytes_per_token;
  const auto ops_by_arithmetic = prefill_ops_by_arithmetic(budget, o.prompt);
  const double ops_per_token = prefill_ops_per_token(budget, o.prompt);
  const double pp_roof = prefill_roofline(ops_by_arithmetic, lim);
  const Measured& m = *measured;

  if (o.json) {
    nlohmann::json j;
    j["model"] = o.model;
    j["architecture"] = std::string(arch_name(c.arch));
    j["threads"] = threads;
    j["prompt_tokens"] = o.prompt;
    j["gen_tokens"] = o.gen;
    j["repeats"] = o.repeats;
    j["file_bytes"] = files->total_bytes();
    j["weight_type"] = budget.main_dtype;
    j["limits"] = {{"read_bandwidth_gbs_before", lim.bw_before}, {"read_bandwidth_gbs_after", lim.bw_after},
                   {"fp32_gflops", lim.peak[kf32]}, {"int8_gops", lim.peak[main_int8]}, {"int8_chain", lim.chain[main_int8]},
                   {"int8_other_gops", lim.peak[other_int8]}, {"int8_other_chain", lim.chain[other_int8]}, {"simd", lim.simd},
                   {"integer_kernels", std::string(q8_matmul_kernels().isa_name)},
                   {"bandwidth_buffer_bytes", bw_bytes}};
    if (residency) {
      j["weights_resident_bytes"] = residency->resident_bytes;
      j["weights_huge_page_bytes"] = residency->huge_page_bytes;
    }
    j["prefill"] = spread_json(m.prefill);
    j["prefill"]["ops_per_token"] = ops_per_token;
    j["prefill"]["peak"] = budget.quantized ? "int8" : "fp32";
    // Each arithmetic's share of ops_per_token, by the chain its peak was measured with.
    for (std::size_t i = 0; i < ops_by_arithmetic.size(); ++i)
      if (ops_by_arithmetic[i] > 0) j["prefill"]["ops_per_token_by_chain"][lim.chain[i]] = ops_by_arithmetic[i];
    j["prefill"]["roofline_tokens_per_s"] = pp_roof;
    j["prefill"]["roofline_fraction"] = fraction(m.prefill.median, pp_roof);
    j["decode"] = spread_json(m.decode);
    j["decode"]["weight_bytes_per_token"] = budget.weight_bytes_per_token;
    j["decode"]["kv_bytes_per_token"] = kv_bytes;
    j["decode"]["roofline_tokens_per_s"] = tg_roof;
    j["decode"]["roofline_fraction"] = fraction(m.decode.median, tg_roof);
    j["decode"]["roofline_fraction_at_low_bandwidth"] = fraction(m.decode.median, tg_roof_lo);
    if (o.profile && m.decode_tokens > 0) j["decode"]["profile"] = profile_json(m);
    if (!par.empty()) {
      j["parallel"] = nlohmann::json::array();
      for (const auto& p : par)
        j["parallel"].push_back({{"sequences", p.n_seq}, {"tokens_per_s", p.tokens_per_s},
                                 {"per_sequence_tokens_per_s", p.tokens_per_s / p.n_seq},
                                 {"min", p.min}, {"max", p.max}});
    }
    j["logits_hash"] = fmt::format("{:016x}", m.prefill_hash);
    j["decode_logits_hash"] = fmt::format("{:016x}", m.decode_hash);
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("model    {} ({}, {}, {:.2f} GB)\n", o.model, arch_name(c.arch), budget.main_dtype,
             static_cast<double>(files->total_bytes()) / 1e9);
  fmt::print("limits   {} threads, {}: read {:.1f} GB/s before, {:.1f} after; fp32 {:.0f} GFLOP/s; "
             "int8 {:.0f} GOP/s ({}), {:.0f} ({}); integer kernels {}\n",
             threads, lim.simd, lim.bw_before, lim.bw_after, lim.peak[kf32], lim.peak[main_int8], lim.chain[main_int8],
             lim.peak[other_int8], lim.chain[other_int8], q8_matmul_kernels().isa_name);
  if (residency && residency->resident_bytes > 0) {
    // Decode streams the weights, and on a VM each 4 KiB-page TLB miss walks two page tables;
    // how the page cache holds the file decides which pages a run gets (docs/kernels.md, "Huge
    // pages"), so a decode number is read next to this.
    const MappedResidency& r = *residency;
    fmt::print("pages    weights {:.2f} GB in memory after the runs, {:.0f}% of it in 2 MiB pages\n",
               static_cast<double>(r.resident_bytes) / 1e9,
               100.0 * static_cast<double>(r.huge_page_bytes) / static_cast<double>(r.resident_bytes));
  }
  std::string ops_split;
  for (const std::size_t i : {main_int8, other_int8, kf32})
    if (ops_by_arithmetic[i] > 0)
      ops_split += fmt::format("{}{:.2f} on {}", ops_split.empty() ? "" : ", ", ops_by_arithmetic[i] / 1e9,
                               i == kf32 ? std::string("fp32 fma") : lim.chain[i]);
  fmt::print("per tok  decode reads {:.3f} GB ({:.2f} MB KV); prefill {:.2f} GOP ({}), each at its peak\n",
             bytes_per_token / 1e9, kv_bytes / 1e6, ops_per_token / 1e9, ops_split);
  fmt::print("{:<8} {:>10} {:>10} {:>10} {:>12} {:>9}\n", "test", "tok/s", "min", "max", "roofline", "fraction");
  fmt::print("{:<8} {:>10.2f} {:>10.2f} {:>10.2f} {:>12.2f} {:>8.1f}%\n", fmt::format("pp{}", o.prompt),
             m.prefill.median, m.prefill.min, m.prefill.max, pp_roof, 100 * fraction(m.prefill.median, pp_roof));
  if (o.gen > 0)
    fmt::print("{:<8} {:>10.2f} {:>10.2f} {:>10.2f} {:>12.2f} {:>8.1f}%  ({:.1f}% at the lower bandwidth)\n",
               fmt::format("tg{}", o.gen), m.decode.median, m.decode.min, m.decode.max, tg_roof,
               100 * fraction(m.decode.median, tg_roof), 100 * fraction(m.decode.median, tg_roof_lo));
  if (o.profile && m.decode_tokens > 0) print_profile(m);
  fmt::print("logits   prefill {:016x}  decode {:016x}  ({} repeats, median and min/max)\n", m.prefill_hash,
             m.decode_hash, o.repeats);
  if (!par.empty()) {
    fmt::print("batched decode after pp{}, {} steps (forward_batch, one token per sequence per step)\n",
               o.prompt, std::max<std::int64_t>(o.gen, 1));
    fmt::print("{:<9} {:>12} {:>10} {:>10} {:>14} {:>8}\n", "parallel", "total tok/s", "min", "max",
               "per sequence", "vs 1");
    for (const auto& p : par)
      fmt::print("{:<9} {:>12.2f} {:>10.2f} {:>10.2f} {:>14.2f} {:>7.2f}x\n", p.n_seq, p.tokens_per_s, p.min,
                 p.max, p.tokens_per_s / p.n_seq, par.front().n_seq == 1 ? p.tokens_per_s / par.front().tokens_per_s : 0.0);
  }
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* sub = app.add_subcommand(
      "bench", "Measure prefill and decode tokens/s on random token ids, next to this machine's "
               "read bandwidth and arithmetic peaks measured with the same threads, and print "
               "each result as a fraction of its roofline.");
  sub->add_option("-m,--model", o->model, "GGUF file or Hugging Face model folder")->required();
  sub->add_option("-p,--prompt", o->prompt, "prompt tokens per prefill")->capture_default_str();
  sub->add_option("-n,--gen", o->gen, "tokens decoded one at a time after the prefill")->capture_default_str();
  sub->add_option("-t,--threads", o->threads, "threads (default: all cores)");
  sub->add_option("-r,--repeats", o->repeats, "repeats (median and min/max are reported)")->capture_default_str();
  sub->add_flag("--json", o->json, "print one JSON object instead of a table");
  sub->add_option("--parallel", o->parallel,
                  "also measure aggregate decode tokens/s of N sequences batched, for each N in a "
                  "list such as 1,2,4,8");
  sub->add_option("--seed", o->seed, "seed of the random token ids")->capture_default_str();
  sub->add_flag("--profile", o->profile,
                "also time decode's integer matrix products, grouped by the bytes of weights a call "
                "reads (each group's time and streaming rate per token), and the rest of the step");
  sub->add_option("--bandwidth-mib", o->bandwidth_mib, "")->group("")->check(CLI::Range(1, 1 << 20));
  set_command_body(sub, [o] { return run_bench(*o); });
}

}  // namespace whale::cli
