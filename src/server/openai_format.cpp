// openai_format.cpp — response and stream-chunk JSON in OpenAI's shapes (chat.completion,
// chat.completion.chunk, text_completion).
#include "server/openai_format.h"

#include "server/api_error.h"

namespace whale::server {

namespace {

// OpenAI sends the token text plus its bytes as integers (the text may be part of a character).
OJson chat_token_json(const std::string& bytes, float logprob) {
  OJson b = OJson::array();
  for (unsigned char c : bytes) b.push_back(static_cast<int>(c));
  return OJson{{"token", bytes}, {"logprob", logprob}, {"bytes", std::move(b)}};
}

OJson chat_logprobs(const ResponseMeta& meta, const std::vector<TokenLogprob>& lps) {
  OJson content = OJson::array();
  for (const TokenLogprob& t : lps) {
    OJson item = chat_token_json(t.bytes, t.logprob);
    OJson top = OJson::array();
    for (const auto& [id, lp] : t.top)
      top.push_back(chat_token_json(meta.token_bytes ? meta.token_bytes(id) : std::string(), lp));
    item["top_logprobs"] = std::move(top);
    content.push_back(std::move(item));
  }
  return OJson{{"content", std::move(content)}};
}

// The legacy completions shape: parallel arrays, top_logprobs as {token: logprob} maps.
OJson completion_logprobs(const ResponseMeta& meta, const std::vector<TokenLogprob>& lps,
                          std::int64_t first_offset) {
  OJson tokens = OJson::array(), values = OJson::array(), tops = OJson::array(), offsets = OJson::array();
  std::int64_t offset = first_offset;
  for (const TokenLogprob& t : lps) {
    tokens.push_back(t.bytes);
    values.push_back(t.logprob);
    OJson top = OJson::object();
    for (const auto& [id, lp] : t.top) top[meta.token_bytes ? meta.token_bytes(id) : std::to_string(id)] = lp;
    tops.push_back(std::move(top));
    offsets.push_back(offset);
    offset += static_cast<std::int64_t>(t.bytes.size());
  }
  return OJson{{"tokens", std::move(tokens)},
               {"token_logprobs", std::move(values)},
               {"top_logprobs", std::move(tops)},
               {"text_offset", std::move(offsets)}};
}

OJson logprobs_json(const ResponseMeta& meta, const std::vector<TokenLogprob>& lps, std::int64_t offset) {
  if (!meta.logprobs) return nullptr;
  return meta.endpoint == Endpoint::kChat ? chat_logprobs(meta, lps) : completion_logprobs(meta, lps, offset);
}

// The thinking written into the text itself (inline chat, and every text completion, whose
// answer is the raw continuation). A prompt that opened <think> itself gets no opening tag.
std::string inline_text(const ResponseMeta& meta, const ChoiceState& c) {
  if (c.thinking.empty()) return c.answer;
  const bool opener = !(meta.endpoint == Endpoint::kCompletion && meta.starts_in_thinking);
  return (opener ? "<think>" : "") + c.thinking + "</think>" + c.answer;
}

// R1 writes "</think>\n\n" before its answer; DeepSeek's API returns the answer without those
// newlines when the thinking is given apart (inline output keeps the raw text).
std::string_view trim_answer_start(std::string_view answer, bool had_thinking) {
  if (!had_thinking) return answer;
  const auto first = answer.find_first_not_of("\r\n");
  return first == std::string_view::npos ? std::string_view() : answer.substr(first);
}

OJson base_object(const ResponseMeta& meta, bool chunk) {
  const char* object = meta.endpoint == Endpoint::kChat ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                                        : "text_completion";
  return OJson{{"id", meta.id}, {"object", object}, {"created", meta.created}, {"model", meta.model}};
}

}  // namespace

std::string finish_reason_text(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength:
    case FinishReason::kContext: return "length";
    case FinishReason::kCancelled: return "cancelled";
  }
  return "stop";
}

void accumulate(ChoiceState& c, const EngineEvent& ev) {
  c.thinking += ev.thinking;
  c.answer += ev.answer;
  c.logprobs.insert(c.logprobs.end(), ev.logprobs.begin(), ev.logprobs.end());
  if (ev.finished) {
    c.finished = true;
    c.finish = ev.finish;
    c.usage = ev.usage;
  }
}

OJson usage_json(const std::vector<ChoiceState>& choices) {
  std::int64_t prompt = 0, cached = 0, completion = 0, reasoning = 0;
  for (const ChoiceState& c : choices) {
    prompt = std::max(prompt, c.usage.prompt_tokens);
    cached = std::max(cached, c.usage.cached_prompt_tokens);
    completion += c.usage.completion_tokens;
    reasoning += c.usage.reasoning_tokens;
  }
  return OJson{{"prompt_tokens", prompt},
               {"completion_tokens", completion},
               {"total_tokens", prompt + completion},
               {"prompt_tokens_details", {{"cached_tokens", cached}}},
               {"completion_tokens_details", {{"reasoning_tokens", reasoning}}}};
}

OJson full_response(const ResponseMeta& meta, const std::vector<ChoiceState>& choices) {
  OJson r = base_object(meta, false);
  OJson list = OJson::array();
  for (std::size_t i = 0; i < choices.size(); ++i) {
    const ChoiceState& c = choices[i];
    OJson choice{{"index", i}};
    if (meta.endpoint == Endpoint::kChat) {
      OJson message{{"role", "assistant"}};
      switch (meta.reasoning) {
        case ReasoningFormat::kSeparate:
          message["content"] = trim_answer_start(c.answer, !c.thinking.empty());
          if (!c.thinking.empty()) message["reasoning_content"] = c.thinking;
          break;
        case ReasoningFormat::kInline: message["content"] = inline_text(meta, c); break;
        case ReasoningFormat::kNone: message["content"] = trim_answer_start(c.answer, !c.thinking.empty()); break;
      }
      choice["message"] = std::move(message);
    } else {
      choice["text"] = inline_text(meta, c);
    }
    choice["logprobs"] = logprobs_json(meta, c.logprobs, 0);
    choice["finish_reason"] = finish_reason_text(c.finish);
    list.push_back(std::move(choice));
  }
  r["choices"] = std::move(list);
  r["usage"] = usage_json(choices);
  return r;
}

std::optional<OJson> stream_chunk(const ResponseMeta& meta, std::int32_t index, ChoiceState& c,
                                  const EngineEvent& ev) {
  // Text for this event, with inline tags where the thinking starts and ends.
  std::string text;
  std::string reasoning;
  const bool inline_mode = meta.endpoint == Endpoint::kCompletion || meta.reasoning == ReasoningFormat::kInline;
  if (inline_mode) {
    if (!ev.thinking.empty()) {
      if (!c.inline_open && !c.inline_closed) {
        c.inline_open = true;
        if (!(meta.endpoint == Endpoint::kCompletion && meta.starts_in_thinking)) text += "<think>";
      }
      text += ev.thinking;
    }
    if (c.inline_open && (!ev.answer.empty() || ev.finished)) {
      text += "</think>";
      c.inline_open = false;
      c.inline_closed = true;
    }
    text += ev.answer;
  } else {
    if (meta.reasoning == ReasoningFormat::kSeparate) reasoning = ev.thinking;
    text = ev.answer;
    if (!c.answer_begun) {
      text = trim_answer_start(text, !c.thinking.empty() || !ev.thinking.empty());
      c.answer_begun = !text.empty();
    }
  }
  const std::int64_t offset = static_cast<std::int64_t>(c.answer.size() + c.thinking.size());
  accumulate(c, ev);

  const bool first_chat = meta.endpoint == Endpoint::kChat && !c.sent_role;
  if (text.empty() && reasoning.empty() && !ev.finished && !first_chat && ev.logprobs.empty())
    return std::nullopt;

  OJson chunk = base_object(meta, true);
  OJson choice{{"index", index}};
  if (meta.endpoint == Endpoint::kChat) {
    OJson delta = OJson::object();
    if (first_chat) {
      delta["role"] = "assistant";
      c.sent_role = true;
    }
    if (!reasoning.empty()) delta["reasoning_content"] = reasoning;
    if (!text.empty() || (first_chat && reasoning.empty())) delta["content"] = text;
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = meta.logprobs && !ev.logprobs.empty() ? logprobs_json(meta, ev.logprobs, offset) : OJson(nullptr);
  choice["finish_reason"] = ev.finished ? OJson(finish_reason_text(ev.finish)) : OJson(nullptr);
  chunk["choices"] = OJson::array({std::move(choice)});
  return chunk;
}

OJson usage_chunk(const ResponseMeta& meta, const std::vector<ChoiceState>& choices) {
  OJson chunk = base_object(meta, true);
  chunk["choices"] = OJson::array();
  chunk["usage"] = usage_json(choices);
  return chunk;
}

std::string sse_event(const OJson& j) { return "data: " + dump_json(j) + "\n\n"; }

}  // namespace whale::server
