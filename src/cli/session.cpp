// session.cpp — model + tokenizer + template + sampling defaults for the interactive commands.
#include "cli/session.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>

#include "chat/chat_template.h"
#include "format/model_files.h"
#include "model/model_info.h"
#include "util/text_file.h"
#include "util/system_memory.h"

namespace whale::cli {

void add_session_options(CLI::App& sub, SessionOptions& o) {
  sub.add_option("-m,--model", o.model, "GGUF file or Hugging Face model folder")->required();
  sub.add_option("-t,--threads", o.threads, "threads (default: all cores)");
  sub.add_option("-c,--ctx", o.ctx, "context length in tokens, prompt + answer (default: the model's, capped by free memory)");
  sub.add_option("-n,--max-tokens", o.max_tokens, "most tokens to generate")->capture_default_str();
  sub.add_option("--temp", o.temperature, "temperature; 0 is greedy (default: the model's, R1: 0.6)");
  sub.add_option("--top-k", o.top_k, "keep the K most likely tokens (0: off)");
  sub.add_option("--top-p", o.top_p, "nucleus sampling threshold (default: the model's, R1: 0.95)");
  sub.add_option("--min-p", o.min_p, "drop tokens below this fraction of the best one");
  sub.add_option("--repeat-penalty", o.repetition_penalty, "repetition penalty (1: off)");
  sub.add_option("--frequency-penalty", o.frequency_penalty, "subtracted per earlier occurrence");
  sub.add_option("--presence-penalty", o.presence_penalty, "subtracted once for any earlier occurrence");
  sub.add_option("-s,--seed", o.seed, "random seed: the same seed and settings give the same text");
  sub.add_option("--stop", o.stop, "stop when this text appears (repeatable); it is not printed");
  sub.add_option("--logit-bias", o.logit_bias, "ID=BIAS: add BIAS to token ID's logit (repeatable; -inf bans it)");
  sub.add_flag("--ignore-eos", o.ignore_eos, "keep generating past end-of-sequence tokens (benchmarks, tests)");
  sub.add_option("--max-thinking", o.max_thinking, "cap the thinking at N tokens, then make the model answer");
  sub.add_option("--chat-template", o.chat_template_file, "a Jinja chat template file to use instead of the model's");
  sub.add_option("--moe-groups", o.moe_groups, "expert groups N,K for DeepSeek GGUFs without the group keys");
}

Result<std::pair<int, int>> parse_moe_groups(const std::string& s) {
  int n = 0, k = 0;
  char comma = 0;
  std::istringstream in(s);
  if (!(in >> n >> comma >> k) || comma != ',' || n < 1 || k < 1 || k > n || !in.eof())
    return Error("--moe-groups '{}' is not N,K with 1 <= K <= N", s);
  return std::pair{n, k};
}

// Sampling defaults: the model's generation config, else DeepSeek's published recommendation
// for R1 models (temperature 0.6, top-p 0.95), else plain sampling at 0.8.
static SamplingParams default_sampling(const ModelFiles& files, const Tokenizer& tok) {
  SamplingParams p;
  std::optional<GenerationDefaults> g;
  if (files.format == ModelFormat::kGguf) {
    auto r = generation_defaults_from_gguf(files.gguf_metadata);
    if (r.ok()) g = *r;
  } else if (files.hf_generation_config_json) {
    auto r = generation_defaults_from_hf_json(*files.hf_generation_config_json);
    if (r.ok()) g = *r;
  }
  const bool reasoning = tok.token_id("<think>").has_value();
  p.temperature = reasoning ? 0.6f : 0.8f;
  p.top_p = reasoning ? 0.95f : 1.0f;
  if (g && g->temperature) p.temperature = static_cast<float>(*g->temperature);
  if (g && g->top_p) p.top_p = static_cast<float>(*g->top_p);
  if (g && g->top_k) p.top_k = static_cast<std::int32_t>(*g->top_k);
  return p;
}

Result<SamplingParams> model_sampling_defaults(const std::string& model, const Tokenizer& tok) {
  WHALE_TRY(ModelFiles files, open_model_files(model));
  return default_sampling(files, tok);
}

Result<Session> Session::open(const SessionOptions& o) {
  Session s;
  s.options_ = o;
  LoadOptions lo;
  lo.n_threads = o.threads;
  if (!o.moe_groups.empty()) {
    WHALE_TRY(lo.moe_groups, parse_moe_groups(o.moe_groups));
  }
  WHALE_TRY(s.model_, load_model(o.model, lo));
  for (const auto& n : s.model_->config().notices) fmt::print(stderr, "whale: notice: {}\n", n);
  auto tok = load_tokenizer(o.model);
  if (!tok.ok()) return std::move(tok).error().context("tokenizer of {}", o.model);
  s.tokenizer_ = std::make_unique<Tokenizer>(std::move(tok).value());
  if (!o.chat_template_file.empty()) {
    WHALE_TRY(s.chat_template_, read_text_file(o.chat_template_file));
  } else {
    s.chat_template_ = s.tokenizer_->chat_template();
  }
  WHALE_TRY(ModelFiles files, open_model_files(o.model));
  s.sampling_ = default_sampling(files, *s.tokenizer_);
  if (o.temperature) s.sampling_.temperature = *o.temperature;
  if (o.top_p) s.sampling_.top_p = *o.top_p;
  if (o.top_k) s.sampling_.top_k = *o.top_k;
  if (o.min_p) s.sampling_.min_p = *o.min_p;
  if (o.repetition_penalty) s.sampling_.repetition_penalty = *o.repetition_penalty;
  s.sampling_.frequency_penalty = o.frequency_penalty;
  s.sampling_.presence_penalty = o.presence_penalty;
  s.sampling_.seed = o.seed ? *o.seed
                            : static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  for (const std::string& item : o.logit_bias) {
    const auto eq = item.find('=');
    try {
      if (eq == std::string::npos) throw std::invalid_argument(item);
      std::size_t used = 0;
      const long id = std::stol(item.substr(0, eq), &used);
      if (used != eq) throw std::invalid_argument(item);
      const std::string value = item.substr(eq + 1);
      const float bias = value == "-inf" ? -INFINITY : std::stof(value, &used);
      if (value != "-inf" && used != value.size()) throw std::invalid_argument(item);
      s.sampling_.logit_bias[static_cast<std::int32_t>(id)] = bias;
    } catch (const std::exception&) {
      return Error("--logit-bias '{}' is not ID=BIAS", item);
    }
  }
  WHALE_TRY_VOID(validate(s.sampling_, s.model_->config().vocab_size));

  const ModelConfig& c = s.model_->config();
  if (!o.ignore_eos) {
    if (auto e = s.tokenizer_->eos_id()) s.eos_ids_.push_back(*e);
    for (auto e : c.eos_token_ids) s.eos_ids_.push_back(static_cast<std::int32_t>(e));
  }
  s.context_ = o.ctx > 0 ? std::min<std::int64_t>(o.ctx, c.max_position_embeddings) : c.max_position_embeddings;
  if (o.ctx > s.context_)
    fmt::print(stderr, "whale: notice: context capped at the model's {} tokens\n", c.max_position_embeddings);
  // The cache grows block by block, but a context it could never hold is refused up front:
  // at most half of the memory available now.
  const std::uint64_t per_token = s.model_->new_cache(1).capacity_bytes();
  const auto avail = available_memory_bytes();
  if (per_token > 0 && static_cast<std::uint64_t>(s.context_) * per_token > avail / 2) {
    const auto fit = static_cast<std::int64_t>(avail / 2 / per_token);
    fmt::print(stderr, "whale: notice: a {}-token KV cache needs {:.1f} GB; capped at {} tokens to fit in memory\n",
               s.context_, static_cast<double>(s.context_ * per_token) / 1e9, fit);
    s.context_ = std::max<std::int64_t>(fit, 1);
  }

  const Tokenizer* tk = s.tokenizer_.get();
  s.token_text_.bytes = [tk](std::int32_t id) { return tk->token_bytes(id); };
  s.token_text_.is_special = [tk](std::int32_t id) { return tk->is_special(id); };
  EncodeOptions eo;
  eo.add_bos = false;
  auto close = tk->encode("\n</think>\n\n", eo);
  if (close.ok()) s.token_text_.close_thinking = *close;
  return s;
}

Result<std::vector<std::int32_t>> Session::encode_chat(const std::vector<ChatMessage>& messages) const {
  if (chat_template_.empty())
    return Error("the model has no chat template: use --raw, or give one with --chat-template FILE");
  nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
  for (const auto& m : messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
  ChatRenderOptions ro;
  ro.add_generation_prompt = true;
  ro.bos_token = tokenizer_->bos_token();
  ro.eos_token = tokenizer_->eos_token();
  auto text = render_chat(chat_template_, msgs, ro);
  if (!text.ok()) return std::move(text).error().context("chat template");
  // The template writes BOS itself, as transformers' apply_chat_template expects.
  EncodeOptions eo;
  eo.add_bos = false;
  return tokenizer_->encode(*text, eo);
}

Result<std::vector<std::int32_t>> Session::encode_raw(const std::string& text) const {
  return tokenizer_->encode(text);
}

Result<GenerationResult> Session::generate(const std::vector<std::int32_t>& prompt,
                                           const GenerationCallbacks& callbacks) {
  GenerationRequest req;
  req.prompt = prompt;
  req.sampling = sampling_;
  req.max_tokens = options_.max_tokens;
  req.stop = options_.stop;
  req.eos_ids = eos_ids_;
  req.max_thinking = options_.max_thinking;
  // R1 templates end the generation prompt with "<think>\n": the output starts inside it.
  std::string tail;
  for (std::size_t i = prompt.size() >= 3 ? prompt.size() - 3 : 0; i < prompt.size(); ++i)
    tail += tokenizer_->token_bytes(prompt[i]);
  while (!tail.empty() && (tail.back() == ' ' || tail.back() == '\n')) tail.pop_back();
  req.starts_in_thinking = tail.ends_with("<think>");
  return whale::generate(*model_, token_text_, req, context_, callbacks);
}

void print_stats(const GenerationResult& r) {
  const double pp = r.prompt_seconds > 0 ? static_cast<double>(r.n_prompt) / r.prompt_seconds : 0.0;
  const double tg = r.generate_seconds > 0 && r.n_generated > 1
                        ? static_cast<double>(r.n_generated - 1) / r.generate_seconds
                        : 0.0;
  fmt::print(stderr,
             "[prompt {} tokens ({:.1f} tok/s) | generated {} tokens ({:.1f} tok/s) | first token "
             "{:.0f} ms | finish: {}]\n",
             r.n_prompt, pp, r.n_generated, tg, r.first_token_seconds * 1000.0,
             finish_reason_name(r.finish));
}

}  // namespace whale::cli
