// sequence.cpp — sampling, streaming and stopping for one request; the same decisions, in the
// same order, as generate() in generator.cpp, so the same seed gives the same tokens.
#include "runtime/sequence.h"

#include <algorithm>
#include <cmath>

namespace whale {

Sequence::Sequence(RequestId id, EngineRequest request, EventSink sink, KvCache cache,
                   const SequenceVocab& vocab)
    : id_(id), request_(std::move(request)), sink_(std::move(sink)), cache_(std::move(cache)),
      vocab_(vocab), sampler_(request_.sampling), text_(request_.stop, request_.starts_in_thinking),
      history_(request_.prompt) {
  usage_.prompt_tokens = static_cast<std::int64_t>(request_.prompt.size());
}

std::span<const std::int32_t> Sequence::step_tokens(std::int64_t n) const {
  if (prefilling()) {
    n = std::min(n, prompt_left());
    return std::span(request_.prompt).subspan(static_cast<std::size_t>(cache_.n_tokens), static_cast<std::size_t>(n));
  }
  return {&next_token_, 1};
}

// log-softmax of the raw logits (before bias, penalties and temperature): what the model said.
TokenLogprob Sequence::logprob_of(std::span<const float> raw, std::int32_t token) const {
  float mx = -INFINITY;
  for (float v : raw) mx = std::max(mx, v);
  double sum = 0;
  for (float v : raw) sum += std::exp(static_cast<double>(v - mx));
  const double lse = static_cast<double>(mx) + std::log(sum);
  TokenLogprob lp;
  lp.token = token;
  lp.bytes = vocab_.text.bytes(token);
  lp.logprob = static_cast<float>(raw[static_cast<std::size_t>(token)] - lse);
  const auto k = static_cast<std::size_t>(std::min<std::int64_t>(request_.top_logprobs, static_cast<std::int64_t>(raw.size())));
  if (k > 0) {
    std::vector<std::int32_t> ids(raw.size());
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int32_t>(i);
    std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(),
                      [&](std::int32_t a, std::int32_t b) {
                        const float la = raw[static_cast<std::size_t>(a)], lb = raw[static_cast<std::size_t>(b)];
                        return la > lb || (la == lb && a < b);
                      });
    for (std::size_t i = 0; i < k; ++i)
      lp.top.emplace_back(ids[i], static_cast<float>(raw[static_cast<std::size_t>(ids[i])] - lse));
  }
  return lp;
}

void Sequence::send(EngineEvent& event) {
  if (event.finished) {
    finished_ = true;
    event.usage = usage_;
    sink_(event);  // the request ends either way
    return;
  }
  if (event.thinking.empty() && event.answer.empty() && event.logprobs.empty()) return;
  if (!sink_(event)) finish(FinishReason::kCancelled);  // the client went away
}

bool Sequence::json_allows(std::int32_t token) const {
  if (vocab_.text.is_special(token)) return false;  // EOS too: the object is not closed yet
  const std::string bytes = vocab_.text.bytes(token);
  return !bytes.empty() && json_.accepts(bytes);
}

// Rejection first (a few samples, each refused token masked), since most of the time the
// model's own choice is fine; then one pass over the whole vocabulary. Both sample from the
// distribution restricted to allowed tokens.
std::int32_t Sequence::sample_json(std::span<float> logits) {
  constexpr int kTries = 8;
  rejected_.clear();
  for (int attempt = 0; attempt < kTries; ++attempt) {
    if (attempt > 0) {
      std::copy(raw_.begin(), raw_.end(), logits.begin());
      for (std::int32_t t : rejected_) logits[static_cast<std::size_t>(t)] = -INFINITY;
    }
    const std::int32_t tok = sampler_.sample(logits, history_);
    if (json_allows(tok)) return tok;
    rejected_.push_back(tok);
  }
  std::copy(raw_.begin(), raw_.end(), logits.begin());
  bool any = false;
  for (std::size_t t = 0; t < logits.size(); ++t) {
    if (json_allows(static_cast<std::int32_t>(t)))
      any = true;
    else
      logits[t] = -INFINITY;
  }
  if (!any) return -1;
  return sampler_.sample(logits, history_);
}

bool Sequence::on_logits(std::span<float> logits) {
  if (finished_) return true;
  const bool want_logprobs = request_.top_logprobs >= 0;
  const bool constrained = request_.json_object && forced_.empty() && !text_.in_thinking();
  if (want_logprobs || constrained) raw_.assign(logits.begin(), logits.end());
  std::int32_t tok;
  if (!forced_.empty()) {
    tok = forced_.front();
    forced_.erase(forced_.begin());
  } else if (constrained) {
    tok = sample_json(logits);
    if (tok < 0) {  // no token continues the object (a vocabulary without the needed bytes)
      finish(FinishReason::kStop);
      return true;
    }
  } else {
    tok = sampler_.sample(logits, history_);
  }
  EngineEvent ev;
  if (std::find(vocab_.eos_ids.begin(), vocab_.eos_ids.end(), tok) != vocab_.eos_ids.end()) {
    finish(FinishReason::kStop);
    return true;
  }
  if (want_logprobs) ev.logprobs.push_back(logprob_of(raw_, tok));
  history_.push_back(tok);
  ++usage_.completion_tokens;
  const bool thinking_before = text_.in_thinking();
  if (shows_text(vocab_.text, tok)) {
    ReasoningChunk c = text_.push(vocab_.text.bytes(tok));
    ev.thinking = std::move(c.thinking);
    ev.answer = std::move(c.answer);
  }
  if (thinking_before) ++usage_.reasoning_tokens;
  // The answer's bytes feed the JSON check (forced tokens too: the whitespace after </think>).
  if (request_.json_object && !thinking_before && shows_text(vocab_.text, tok)) json_.push(vocab_.text.bytes(tok));
  std::optional<FinishReason> end;
  if (text_.stopped() || json_.complete())
    end = FinishReason::kStop;
  else if (usage_.completion_tokens >= request_.max_tokens)
    end = FinishReason::kLength;
  if (!end && request_.max_thinking >= 0 && forced_.empty() && text_.in_thinking() &&
      usage_.reasoning_tokens >= request_.max_thinking)
    forced_ = vocab_.text.close_thinking;
  if (!end && cache_.n_tokens >= cache_.capacity) end = FinishReason::kContext;
  if (end) {
    ReasoningChunk rest = text_.finish();
    ev.thinking += rest.thinking;
    ev.answer += rest.answer;
    ev.finished = true;
    ev.finish = *end;
    send(ev);
    return true;
  }
  next_token_ = tok;
  send(ev);
  return finished_;
}

void Sequence::finish(FinishReason reason) {
  if (finished_) return;
  EngineEvent ev;
  ReasoningChunk rest = text_.finish();
  ev.thinking = std::move(rest.thinking);
  ev.answer = std::move(rest.answer);
  ev.finished = true;
  ev.finish = reason;
  send(ev);
}

}  // namespace whale
