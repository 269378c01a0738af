// cmd_perplexity.cpp — `whale perplexity`: perplexity of a text, in windows laid out as
// llama.cpp's tool does (so numbers compare), or sliding with --stride.
#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "cli/commands.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "util/progress.h"
#include "util/text_file.h"

namespace whale::cli {
namespace {

struct PerplexityOptions {
  std::string model;
  std::string file;
  std::int64_t ctx = 512;
  std::int64_t stride = 0;
  int threads = 0;
};

// log-softmax of `logits` at `target`.
double log_prob(std::span<const float> logits, std::int32_t target) {
  double mx = logits[0];
  for (float v : logits) mx = std::max(mx, static_cast<double>(v));
  double sum = 0.0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - mx);
  return static_cast<double>(logits[static_cast<std::size_t>(target)]) - mx - std::log(sum);
}

int run_perplexity(const PerplexityOptions& o) {
  auto fail = [](const Error& e) {
    fmt::print(stderr, "whale perplexity: error: {}\n", e.what());
    return 1;
  };
  if (o.ctx < 4) return fail(Error("--ctx {} is too small (at least 4)", o.ctx));
  if (o.stride < 0 || o.stride > o.ctx) return fail(Error("--stride {} must be in [1, --ctx]", o.stride));
  auto text = read_text_file(o.file);
  if (!text.ok()) return fail(text.error());
  LoadOptions lo;
  lo.n_threads = o.threads;
  auto model = load_model(o.model, lo);
  if (!model.ok()) return fail(model.error());
  auto tok = load_tokenizer(o.model);
  if (!tok.ok()) return fail(tok.error());
  EncodeOptions eo;
  eo.add_bos = false;
  eo.parse_special = false;
  auto ids = tok->encode(*text, eo);
  if (!ids.ok()) return fail(ids.error());
  const ModelConfig& c = (*model)->config();
  const std::int64_t n = static_cast<std::int64_t>(ids->size());
  const std::int64_t ctx = std::min(o.ctx, c.max_position_embeddings);
  const auto bos = tok->add_bos_default() ? tok->bos_id() : std::nullopt;

  // Windows: [start, start + ctx) of the text. Without --stride they do not overlap and the
  // second half of each is scored (llama.cpp's layout, the first token replaced by BOS when
  // the model uses one); with --stride each window scores the tokens no earlier window did.
  struct Window { std::int64_t start, score_from; };
  std::vector<Window> windows;
  if (o.stride == 0) {
    for (std::int64_t s = 0; s + ctx <= n; s += ctx) windows.push_back({s, ctx / 2});
  } else {
    std::int64_t scored_to = 0;
    for (std::int64_t s = 0; s + 1 < n; s += o.stride) {
      const std::int64_t end = std::min(n, s + ctx);
      windows.push_back({s, std::max<std::int64_t>(scored_to - s, 1) - 1});
      scored_to = end;
      if (end == n) break;
    }
  }
  if (windows.empty())
    return fail(Error("{} has {} tokens, fewer than one window of {}", o.file, n, ctx));

  double sum = 0.0, sum_sq = 0.0;
  std::int64_t count = 0;
  const auto t0 = std::chrono::steady_clock::now();
  ProgressBar bar("perplexity", windows.size(), "windows");
  std::vector<float> logits;
  for (std::size_t w = 0; w < windows.size(); ++w) {
    const std::int64_t start = windows[w].start, len = std::min(ctx, n - start);
    std::vector<std::int32_t> input(ids->begin() + start, ids->begin() + start + len);
    if (o.stride == 0 && bos) input[0] = *bos;
    KvCache cache = (*model)->new_cache(len);
    logits.resize(static_cast<std::size_t>(len * c.vocab_size));
    auto r = (*model)->forward(input, cache, Span2D<float>(logits.data(), len, c.vocab_size));
    if (!r.ok()) return fail(r.error());
    for (std::int64_t i = windows[w].score_from; i + 1 < len; ++i) {
      const double nll = -log_prob({logits.data() + i * c.vocab_size, static_cast<std::size_t>(c.vocab_size)},
                                   (*ids)[static_cast<std::size_t>(start + i + 1)]);
      sum += nll;
      sum_sq += nll * nll;
      ++count;
    }
    bar.update(w + 1);
  }
  bar.finish();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double mean = sum / static_cast<double>(count);
  const double var = count > 1 ? (sum_sq / static_cast<double>(count) - mean * mean) / static_cast<double>(count - 1) : 0.0;
  const double ppl = std::exp(mean);
  // Standard error of exp(mean NLL) by the delta method: ppl * se(mean).
  const double ppl_se = ppl * std::sqrt(std::max(var, 0.0));
  std::int64_t evaluated = 0;
  for (const auto& w : windows) evaluated += std::min(ctx, n - w.start);
  fmt::print("perplexity {:.4f} +/- {:.4f} over {} scored tokens in {} windows of {} ({:.1f} tok/s)\n",
             ppl, ppl_se, count, windows.size(), ctx, static_cast<double>(evaluated) / secs);
  return 0;
}

}  // namespace

void add_perplexity_command(CLI::App& app) {
  auto o = std::make_shared<PerplexityOptions>();
  CLI::App* sub = app.add_subcommand(
      "perplexity", "Perplexity of MODEL on a text file, with its standard error and speed.\n"
                    "Without --stride: non-overlapping windows of --ctx tokens scored on their "
                    "second half (as llama.cpp's perplexity tool).");
  sub->add_option("-m,--model", o->model, "GGUF file or Hugging Face model folder")->required();
  sub->add_option("-f,--file", o->file, "text file")->required();
  sub->add_option("-c,--ctx", o->ctx, "window length in tokens")->capture_default_str();
  sub->add_option("--stride", o->stride, "slide windows by this many tokens instead");
  sub->add_option("-t,--threads", o->threads, "threads (default: all cores)");
  set_command_body(sub, [o] { return run_perplexity(*o); });
}

}  // namespace whale::cli
