// cmd_logits.cpp — `whale logits`: run token ids through a model and save every position's
// logits as a float32 .npy array; how the engine's numerics are checked from outside.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <map>
#include <sstream>

#include "cli/commands.h"
#include "cli/session.h"
#include "format/npy.h"
#include "model/model.h"
#include "util/text_file.h"

namespace whale::cli {
namespace {

struct LogitsOptions {
  std::string model;
  std::string tokens;
  std::string out = "logits.npy";
  bool decode = false;
  std::string mla = "auto";
  int threads = 0;
  std::string moe_groups;
  std::string experts_out;
};

Result<std::vector<std::int32_t>> parse_ids(const std::string& text) {
  std::vector<std::int32_t> ids;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto b = item.find_first_not_of(" \t\n[]");
    const auto e = item.find_last_not_of(" \t\n[]");
    if (b == std::string::npos) continue;
    const std::string s = item.substr(b, e - b + 1);
    try {
      std::size_t used = 0;
      const long v = std::stol(s, &used);
      if (used != s.size() || v < 0 || v > INT32_MAX) throw std::invalid_argument(s);
      ids.push_back(static_cast<std::int32_t>(v));
    } catch (const std::exception&) {
      return Error("--tokens: '{}' is not a token id", s);
    }
  }
  if (ids.empty()) return Error("--tokens: no token ids given");
  return ids;
}

int run_logits(const LogitsOptions& o) {
  auto fail = [](const Error& e) {
    fmt::print(stderr, "whale logits: error: {}\n", e.what());
    return 1;
  };
  auto ids = parse_ids(o.tokens);
  if (!ids.ok()) return fail(ids.error());
  LoadOptions lo;
  lo.n_threads = o.threads;
  if (!o.moe_groups.empty()) {
    auto g = parse_moe_groups(o.moe_groups);
    if (!g.ok()) return fail(g.error());
    lo.moe_groups = *g;
  }
  auto model = load_model(o.model, lo);
  if (!model.ok()) return fail(model.error());
  const ModelConfig& c = (*model)->config();
  for (const auto& n : c.notices) fmt::print(stderr, "whale: notice: {}\n", n);
  const auto T = static_cast<std::int64_t>(ids->size());
  KvCache cache = (*model)->new_cache(T);
  std::vector<float> logits(static_cast<std::size_t>(T * c.vocab_size));
  ForwardOptions fo;
  fo.mla_path = o.mla == "naive" ? MlaPath::kNaive : o.mla == "absorbed" ? MlaPath::kAbsorbed : MlaPath::kAuto;
  // experts[layer][token] = chosen ids, filled as the steps run.
  std::map<std::int64_t, std::vector<std::vector<std::int32_t>>> experts;
  std::int64_t step_pos = 0;
  const std::int64_t k = c.num_experts_per_tok;
  if (!o.experts_out.empty())
    fo.on_experts = [&](std::int64_t layer, const std::vector<std::int32_t>& chosen) {
      auto& rows = experts[layer];
      const auto n = static_cast<std::int64_t>(chosen.size()) / k;
      rows.resize(static_cast<std::size_t>(step_pos + n));
      for (std::int64_t t = 0; t < n; ++t)
        rows[static_cast<std::size_t>(step_pos + t)].assign(chosen.begin() + t * k, chosen.begin() + (t + 1) * k);
    };
  if (o.decode) {
    for (std::int64_t t = 0; t < T; ++t) {
      step_pos = t;
      Span2D<float> row(logits.data() + t * c.vocab_size, 1, c.vocab_size);
      auto r = (*model)->forward(std::span(ids->data() + t, 1), cache, row, fo);
      if (!r.ok()) return fail(r.error());
    }
  } else {
    auto r = (*model)->forward(*ids, cache, Span2D<float>(logits.data(), T, c.vocab_size), fo);
    if (!r.ok()) return fail(r.error());
  }
  auto w = write_npy_f32(o.out, logits, {T, c.vocab_size});
  if (!w.ok()) return fail(w.error());
  if (!o.experts_out.empty()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [layer, rows] : experts) j[std::to_string(layer)] = rows;
    auto e = write_text_file(o.experts_out, j.dump());
    if (!e.ok()) return fail(e.error());
  }
  fmt::print(stderr, "whale logits: wrote [{}, {}] to {}\n", T, c.vocab_size, o.out);
  return 0;
}

}  // namespace

void add_logits_command(CLI::App& app) {
  auto o = std::make_shared<LogitsOptions>();
  CLI::App* sub = app.add_subcommand(
      "logits", "Run token ids through MODEL and write the logits of every position as a "
                "float32 .npy array [n_tokens, vocab].");
  sub->add_option("-m,--model", o->model, "GGUF file or Hugging Face model folder")->required();
  sub->add_option("--tokens", o->tokens, "comma-separated token ids, e.g. 1,2,3")->required();
  sub->add_option("-o,--out", o->out, "output .npy path")->capture_default_str();
  sub->add_flag("--decode", o->decode, "one token at a time through the KV cache instead of one batch");
  sub->add_option("--mla", o->mla, "DeepSeek attention form: auto (naive for batches, absorbed for single tokens), naive, absorbed")
      ->check(CLI::IsMember({"auto", "naive", "absorbed"}))->capture_default_str();
  sub->add_option("-t,--threads", o->threads, "threads (default: all cores)");
  sub->add_option("--moe-groups", o->moe_groups, "expert groups N,K for DeepSeek GGUFs without the group keys");
  sub->add_option("--experts-out", o->experts_out, "also write the chosen expert ids per layer and token as JSON");
  set_command_body(sub, [o] { return run_logits(*o); });
}

}  // namespace whale::cli
