// bench_parallel.cpp — the batched-decode measurement behind `whale bench --parallel`.
#include "cli/bench_parallel.h"

#include <algorithm>
#include <chrono>
#include <sstream>

namespace whale::cli {

Result<std::vector<int>> parse_parallel_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    int n = 0;
    try {
      n = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || n < 1 || n > 256)
      return Error("--parallel '{}': '{}' is not a count in [1, 256]", s, item);
    out.push_back(n);
  }
  if (out.empty()) return Error("--parallel '{}' lists no counts", s);
  return out;
}

namespace {

// A copy of `src`'s rows, block by block (the prefix-cache path, so no recomputation).
KvCache clone(const Model& model, const KvCache& src, std::int64_t capacity) {
  KvCache c = model.new_cache(capacity);
  for (std::int64_t i = 0; i < src.n_blocks() && c.n_tokens < src.n_tokens; ++i)
    c.append_copy(*src.block(i), std::min(kKvBlockTokens, src.n_tokens - c.n_tokens));
  return c;
}

}  // namespace

Result<std::vector<ParallelResult>> bench_parallel(Model& model, std::span<const std::int32_t> prompt,
                                                   std::span<const std::int32_t> gen,
                                                   const std::vector<int>& counts, int repeats) {
  const std::int64_t vocab = model.config().vocab_size;
  const auto P = static_cast<std::int64_t>(prompt.size()), G = static_cast<std::int64_t>(gen.size());
  KvCache prefilled = model.new_cache(P + G);
  std::vector<float> logits(static_cast<std::size_t>(vocab));
  const SeqStep prefill{prompt, &prefilled, LogitRows::kLast};
  WHALE_TRY_VOID(model.forward_batch(std::span(&prefill, 1), Span2D<float>(logits.data(), 1, vocab)));
  std::vector<ParallelResult> out;
  for (int n : counts) {
    std::vector<double> runs;
    logits.resize(static_cast<std::size_t>(n * vocab));
    for (int r = 0; r < repeats; ++r) {
      std::vector<KvCache> caches;
      for (int i = 0; i < n; ++i) caches.push_back(clone(model, prefilled, P + G));
      std::vector<SeqStep> steps(static_cast<std::size_t>(n));
      const auto t0 = std::chrono::steady_clock::now();
      for (std::int64_t g = 0; g < G; ++g) {
        for (int i = 0; i < n; ++i)  // sequence i decodes gen[(g + i) % G]: different tokens
          steps[static_cast<std::size_t>(i)] = {gen.subspan(static_cast<std::size_t>((g + i) % G), 1),
                                                &caches[static_cast<std::size_t>(i)], LogitRows::kLast};
        WHALE_TRY_VOID(model.forward_batch(steps, Span2D<float>(logits.data(), n, vocab)));
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      runs.push_back(static_cast<double>(n * G) / s);
    }
    std::sort(runs.begin(), runs.end());
    const std::size_t k = runs.size();
    out.push_back({n, k % 2 ? runs[k / 2] : 0.5 * (runs[k / 2 - 1] + runs[k / 2]), runs.front(), runs.back()});
  }
  return out;
}

}  // namespace whale::cli
