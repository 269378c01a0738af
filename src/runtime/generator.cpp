// generator.cpp — the generation loop.
#include "runtime/generator.h"

#include <algorithm>
#include <chrono>

#include "runtime/text_stream.h"

namespace whale {

std::string_view finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kContext: return "context";
    case FinishReason::kCancelled: return "cancelled";
  }
  return "stop";
}

bool shows_text(const TokenText& vocab, std::int32_t token) {
  if (!vocab.is_special(token)) return true;
  const std::string b = vocab.bytes(token);
  return b == "<think>" || b == "</think>";
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Routes the shown text to the callbacks and the result.
class TextPipeline {
 public:
  TextPipeline(const GenerationRequest& r, const GenerationCallbacks& cb, GenerationResult& out)
      : text_(r.stop, r.starts_in_thinking), cb_(cb), out_(out) {}

  void push_bytes(std::string_view bytes) { route(text_.push(bytes)); }
  void finish() { route(text_.finish()); }
  bool stopped() const { return text_.stopped(); }
  bool in_thinking() const { return text_.in_thinking(); }

 private:
  void route(const ReasoningChunk& c) {
    if (!c.thinking.empty()) {
      out_.thinking += c.thinking;
      if (cb_.on_thinking) cb_.on_thinking(c.thinking);
    }
    if (!c.answer.empty()) {
      out_.answer += c.answer;
      if (cb_.on_answer) cb_.on_answer(c.answer);
    }
  }
  TokenTextStream text_;
  const GenerationCallbacks& cb_;
  GenerationResult& out_;
};

}  // namespace

Result<GenerationResult> generate(Model& model, const TokenText& vocab,
                                  const GenerationRequest& request, std::int64_t context_tokens,
                                  const GenerationCallbacks& callbacks) {
  const ModelConfig& c = model.config();
  if (request.prompt.empty()) return Error("the prompt is empty");
  WHALE_TRY_VOID(validate(request.sampling, c.vocab_size));
  const auto n_prompt = static_cast<std::int64_t>(request.prompt.size());
  if (n_prompt >= context_tokens)
    return Error("the prompt has {} tokens but the context holds {} (raise --ctx)", n_prompt,
                 context_tokens);

  GenerationResult out;
  out.n_prompt = n_prompt;
  KvCache cache = model.new_cache(context_tokens);
  // Only the last prompt token's logits: the head over every prompt token cost as much as a
  // sixth of the 1.5B model's prefill, and n_prompt × vocab floats of memory.
  std::vector<float> logits(static_cast<std::size_t>(c.vocab_size));
  const auto start = Clock::now();
  const SeqStep prefill{request.prompt, &cache, LogitRows::kLast};
  WHALE_TRY_VOID(model.forward_batch(std::span(&prefill, 1), Span2D<float>(logits.data(), 1, c.vocab_size)));
  out.prompt_seconds = seconds_since(start);

  std::vector<std::int32_t> history = request.prompt;
  Sampler sampler(request.sampling);
  TextPipeline text(request, callbacks, out);
  std::span<float> last(logits);
  std::vector<std::int32_t> forced;  // tokens to feed instead of sampling (closing a think)
  const auto decode_start = Clock::now();
  for (;;) {
    if (callbacks.cancelled && callbacks.cancelled()) {
      out.finish = FinishReason::kCancelled;
      break;
    }
    std::int32_t tok;
    if (!forced.empty()) {
      tok = forced.front();
      forced.erase(forced.begin());
    } else {
      tok = sampler.sample(last, history);
    }
    if (out.n_generated == 0) out.first_token_seconds = seconds_since(start);
    const bool is_eos = std::find(request.eos_ids.begin(), request.eos_ids.end(), tok) != request.eos_ids.end();
    if (is_eos) {
      out.finish = FinishReason::kStop;
      break;
    }
    history.push_back(tok);
    out.tokens.push_back(tok);
    ++out.n_generated;
    const bool thinking_before = text.in_thinking();
    if (shows_text(vocab, tok)) text.push_bytes(vocab.bytes(tok));
    if (thinking_before) ++out.n_thinking_tokens;
    if (text.stopped()) {
      out.finish = FinishReason::kStop;
      break;
    }
    if (out.n_generated >= request.max_tokens) {
      out.finish = FinishReason::kLength;
      break;
    }
    if (request.max_thinking >= 0 && forced.empty() && text.in_thinking() &&
        out.n_thinking_tokens >= request.max_thinking)
      forced = vocab.close_thinking;
    if (cache.n_tokens >= cache.capacity) {
      out.finish = FinishReason::kContext;
      break;
    }
    WHALE_TRY_VOID(model.forward(std::span(&tok, 1), cache, Span2D<float>(logits.data(), 1, c.vocab_size)));
  }
  text.finish();
  out.generate_seconds = seconds_since(decode_start);
  return out;
}

}  // namespace whale
