// openai_types.cpp — request parsing and validation for /v1/chat/completions and
// /v1/completions. Types are checked before ranges, so a wrong type never reads as a range.
#include "server/openai_types.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace whale::server {

using Json = nlohmann::json;

std::optional<ReasoningFormat> parse_reasoning_format(std::string_view name) {
  if (name == "separate" || name == "deepseek") return ReasoningFormat::kSeparate;
  if (name == "inline") return ReasoningFormat::kInline;
  if (name == "none" || name == "hidden") return ReasoningFormat::kNone;
  return std::nullopt;
}

int json_depth(std::string_view body, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : body) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == ']' || c == '}') --depth;
  }
  return deepest;
}

namespace {

// Typed field readers: nullopt when absent or null (OpenAI treats null as "not given").
struct Fields {
  const Json& obj;
  std::optional<ApiError> error;

  const Json* get(const char* name) const {
    auto it = obj.find(name);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
  }
  void fail(ApiError e) {
    if (!error) error = std::move(e);
  }

  std::optional<double> number(const char* name, double lo, double hi) {
    const Json* v = get(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) {
      fail(bad_request(fmt::format("'{}' must be a number", name), name, "invalid_type"));
      return std::nullopt;
    }
    const double x = v->get<double>();
    if (!std::isfinite(x) || x < lo || x > hi) {
      fail(bad_request(fmt::format("'{}' is {}, outside [{}, {}]", name, v->dump(), lo, hi), name,
                       "invalid_value"));
      return std::nullopt;
    }
    return x;
  }

  std::optional<std::int64_t> integer(const char* name, std::int64_t lo, std::int64_t hi) {
    const Json* v = get(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number_integer()) {
      fail(bad_request(fmt::format("'{}' must be an integer", name), name, "invalid_type"));
      return std::nullopt;
    }
    // Unsigned values above int64 are out of range rather than wrapped.
    if (v->is_number_unsigned() && v->get<std::uint64_t>() >
                                       static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      fail(bad_request(fmt::format("'{}' is {}, outside [{}, {}]", name, v->dump(), lo, hi), name,
                       "invalid_value"));
      return std::nullopt;
    }
    const std::int64_t x = v->get<std::int64_t>();
    if (x < lo || x > hi) {
      fail(bad_request(fmt::format("'{}' is {}, outside [{}, {}]", name, x, lo, hi), name,
                       "invalid_value"));
      return std::nullopt;
    }
    return x;
  }

  std::optional<bool> boolean(const char* name) {
    const Json* v = get(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) {
      fail(bad_request(fmt::format("'{}' must be a boolean", name), name, "invalid_type"));
      return std::nullopt;
    }
    return v->get<bool>();
  }

  std::optional<std::string> string(const char* name) {
    const Json* v = get(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
      fail(bad_request(fmt::format("'{}' must be a string", name), name, "invalid_type"));
      return std::nullopt;
    }
    return v->get<std::string>();
  }
};

// A message's content: a string, or an array of {"type": "text", "text": ...} parts joined.
std::optional<ApiError> message_text(const Json& content, std::size_t i, std::string& out) {
  const std::string where = fmt::format("messages[{}].content", i);
  if (content.is_string()) {
    out = content.get<std::string>();
    return std::nullopt;
  }
  if (!content.is_array())
    return bad_request(fmt::format("'{}' must be a string or an array of text parts", where),
                       where, "invalid_type");
  out.clear();
  for (std::size_t k = 0; k < content.size(); ++k) {
    const Json& part = content[k];
    const std::string pw = fmt::format("{}[{}]", where, k);
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
      return bad_request(fmt::format("'{}' must be an object with a string 'type'", pw), pw,
                         "invalid_type");
    if (part["type"] != "text")
      return bad_request(fmt::format("'{}' has type '{}': only text parts are supported", pw,
                                     part["type"].get<std::string>()),
                         pw, "unsupported_content");
    if (!part.contains("text") || !part["text"].is_string())
      return bad_request(fmt::format("'{}.text' must be a string", pw), pw + ".text", "invalid_type");
    out += part["text"].get<std::string>();
  }
  return std::nullopt;
}

// An earlier assistant turn goes back without its thinking (DeepSeek's multi-turn rule): drop
// everything up to the last </think>, as R1's own template does, for templates that do not.
std::string strip_reasoning(std::string text) {
  const auto end = text.rfind("</think>");
  if (end == std::string::npos) return text;
  text.erase(0, end + 8);
  const auto first = text.find_first_not_of("\n ");
  return first == std::string::npos ? std::string() : text.substr(first);
}

std::optional<ApiError> parse_messages(const Json* v, nlohmann::ordered_json& out) {
  if (v == nullptr) return bad_request("'messages' is required", "messages", "missing_required_parameter");
  if (!v->is_array()) return bad_request("'messages' must be an array", "messages", "invalid_type");
  if (v->empty()) return bad_request("'messages' must not be empty", "messages", "invalid_value");
  out = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < v->size(); ++i) {
    const Json& m = (*v)[i];
    const std::string where = fmt::format("messages[{}]", i);
    if (!m.is_object()) return bad_request(fmt::format("'{}' must be an object", where), where, "invalid_type");
    auto role_it = m.find("role");
    if (role_it == m.end() || !role_it->is_string())
      return bad_request(fmt::format("'{}.role' must be a string", where), where + ".role", "invalid_type");
    std::string role = role_it->get<std::string>();
    if (role == "developer") role = "system";  // OpenAI's newer name for the system message
    if (role != "system" && role != "user" && role != "assistant")
      return bad_request(fmt::format("'{}.role' is '{}': expected system, user or assistant", where, role),
                         where + ".role", "invalid_value");
    std::string text;
    auto content_it = m.find("content");
    const bool has_content = content_it != m.end() && !content_it->is_null();
    if (!has_content && role != "assistant")
      return bad_request(fmt::format("'{}.content' is required", where), where + ".content",
                         "missing_required_parameter");
    if (has_content) {
      if (auto e = message_text(*content_it, i, text)) return e;
    }
    if (role == "assistant") text = strip_reasoning(std::move(text));  // reasoning_content ignored
    out.push_back({{"role", role}, {"content", text}});
  }
  return std::nullopt;
}

std::optional<ApiError> parse_stop(const Json* v, std::vector<std::string>& out) {
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) {
    if (!v->get<std::string>().empty()) out.push_back(v->get<std::string>());
    return std::nullopt;
  }
  if (!v->is_array()) return bad_request("'stop' must be a string or an array of strings", "stop", "invalid_type");
  if (v->size() > static_cast<std::size_t>(kMaxStopStrings))
    return bad_request(fmt::format("'stop' has {} strings; at most {}", v->size(), kMaxStopStrings), "stop",
                       "invalid_value");
  for (const Json& s : *v) {
    if (!s.is_string()) return bad_request("'stop' must be a string or an array of strings", "stop", "invalid_type");
    if (!s.get<std::string>().empty()) out.push_back(s.get<std::string>());
  }
  return std::nullopt;
}

std::optional<ApiError> parse_logit_bias(const Json* v, std::int64_t vocab_size,
                                         std::map<std::int32_t, float>& out) {
  if (v == nullptr) return std::nullopt;
  if (!v->is_object()) return bad_request("'logit_bias' must be an object of token id to bias", "logit_bias", "invalid_type");
  for (const auto& [key, bias] : v->items()) {
    std::int64_t id = -1;
    const bool digits = !key.empty() && key.size() <= 10 &&
                        key.find_first_not_of("0123456789") == std::string::npos;
    if (digits) id = std::stoll(key);
    if (!digits || id >= vocab_size)
      return bad_request(fmt::format("'logit_bias' key '{}' is not a token id below {}", key, vocab_size),
                         "logit_bias", "invalid_value");
    if (!bias.is_number() || !std::isfinite(bias.get<double>()) || std::fabs(bias.get<double>()) > 100)
      return bad_request(fmt::format("'logit_bias' for token {} must be a number in [-100, 100]", key),
                         "logit_bias", "invalid_value");
    // OpenAI's -100 means "never": make it exact rather than merely unlikely.
    const double b = bias.get<double>();
    out[static_cast<std::int32_t>(id)] = b <= -100 ? -INFINITY : static_cast<float>(b);
  }
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> parse_request(std::string_view body, Endpoint endpoint,
                                      const ParseContext& ctx, ApiRequest& out) {
  if (json_depth(body, kMaxJsonDepth) > kMaxJsonDepth)
    return bad_request(fmt::format("the request body nests deeper than {} levels", kMaxJsonDepth), "",
                       "invalid_json");
  const Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return bad_request("the request body is not valid JSON (UTF-8)", "", "invalid_json");
  if (!j.is_object()) return bad_request("the request body must be a JSON object", "", "invalid_json");

  out = ApiRequest{};
  out.endpoint = endpoint;
  Fields f{j, std::nullopt};
  EngineRequest& e = out.engine;

  // The model first: an unknown model is 404 whatever else is wrong.
  auto model = f.string("model");
  if (f.error) return f.error;
  if (!model) return bad_request("'model' is required", "model", "missing_required_parameter");
  if (*model != ctx.model_name)
    return not_found(fmt::format("model '{}' does not exist; this server serves '{}'", *model, ctx.model_name),
                     "model", "model_not_found");
  out.model = *model;

  if (endpoint == Endpoint::kChat) {
    if (auto err = parse_messages(f.get("messages"), out.messages)) return err;
  } else {
    const Json* p = f.get("prompt");
    if (p == nullptr) return bad_request("'prompt' is required", "prompt", "missing_required_parameter");
    if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) p = &(*p)[0];
    if (!p->is_string())
      return bad_request("'prompt' must be a string (or an array of one string)", "prompt", "invalid_type");
    out.prompt = p->get<std::string>();
  }

  e.sampling = ctx.defaults;
  constexpr std::int64_t kMaxInt32 = std::numeric_limits<std::int32_t>::max();
  auto max_tokens = f.integer("max_tokens", 1, std::numeric_limits<std::int64_t>::max());
  auto max_completion = f.integer("max_completion_tokens", 1, std::numeric_limits<std::int64_t>::max());
  if (max_completion) max_tokens = max_completion;
  if (max_tokens) {
    e.max_tokens = *max_tokens;
    out.max_tokens_given = true;
  }
  if (auto t = f.number("temperature", 0, 2)) e.sampling.temperature = static_cast<float>(*t);
  if (auto t = f.number("top_p", 0, 1)) {
    if (*t <= 0) f.fail(bad_request("'top_p' is 0; it must be in (0, 1]", "top_p", "invalid_value"));
    e.sampling.top_p = static_cast<float>(*t);
  }
  if (auto t = f.integer("top_k", 0, kMaxInt32)) e.sampling.top_k = static_cast<std::int32_t>(*t);
  if (auto t = f.number("min_p", 0, 1)) e.sampling.min_p = static_cast<float>(*t);
  if (auto t = f.number("frequency_penalty", -2, 2)) e.sampling.frequency_penalty = static_cast<float>(*t);
  if (auto t = f.number("presence_penalty", -2, 2)) e.sampling.presence_penalty = static_cast<float>(*t);
  if (auto t = f.number("repetition_penalty", 0, 10)) {
    if (*t <= 0) f.fail(bad_request("'repetition_penalty' must be positive", "repetition_penalty", "invalid_value"));
    e.sampling.repetition_penalty = static_cast<float>(*t);
  }
  if (auto s = f.integer("seed", std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max())) {
    e.sampling.seed = static_cast<std::uint64_t>(*s);
    out.seed_given = true;
  }
  if (auto n = f.integer("n", 1, kMaxChoices)) out.n = static_cast<std::int32_t>(*n);
  // whale's extension: cap the thinking, then the model is made to answer (R1 can think for
  // thousands of tokens).
  if (auto t = f.integer("max_thinking_tokens", 0, std::numeric_limits<std::int64_t>::max())) e.max_thinking = *t;
  if (auto s = f.boolean("stream")) out.stream = *s;
  if (f.error) return f.error;

  if (const Json* so = f.get("stream_options")) {
    if (!so->is_object()) return bad_request("'stream_options' must be an object", "stream_options", "invalid_type");
    Fields sf{*so, std::nullopt};
    if (auto u = sf.boolean("include_usage")) out.include_usage = *u;
    if (sf.error) {
      sf.error->param = "stream_options.include_usage";
      return sf.error;
    }
  }
  if (auto err = parse_stop(f.get("stop"), e.stop)) return err;
  if (auto err = parse_logit_bias(f.get("logit_bias"), ctx.vocab_size, e.sampling.logit_bias)) return err;

  // Logprobs: chat takes a boolean plus top_logprobs; completions an integer count.
  if (endpoint == Endpoint::kChat) {
    auto lp = f.boolean("logprobs");
    auto top = f.integer("top_logprobs", 0, kMaxTopLogprobs);
    if (f.error) return f.error;
    out.logprobs = lp.value_or(false);
    if (top && !out.logprobs)
      return bad_request("'top_logprobs' needs 'logprobs': true", "top_logprobs", "invalid_value");
    if (out.logprobs) e.top_logprobs = static_cast<std::int32_t>(top.value_or(0));
  } else {
    auto lp = f.integer("logprobs", 0, kMaxCompletionLogprobs);
    if (f.error) return f.error;
    if (lp) {
      out.logprobs = true;
      e.top_logprobs = static_cast<std::int32_t>(*lp);
    }
  }

  if (const Json* rf = f.get("response_format")) {
    if (!rf->is_object() || !rf->contains("type") || !(*rf)["type"].is_string())
      return bad_request("'response_format' must be an object with a string 'type'", "response_format", "invalid_type");
    const std::string type = (*rf)["type"].get<std::string>();
    if (type == "json_object") e.json_object = true;
    else if (type != "text")
      return bad_request(fmt::format("'response_format.type' '{}' is not supported (text or json_object)", type),
                         "response_format.type", "invalid_value");
  }

  out.reasoning = ctx.reasoning;
  if (auto r = f.string("reasoning_format")) {
    auto parsed = parse_reasoning_format(*r);
    if (!parsed)
      return bad_request(fmt::format("'reasoning_format' '{}' is not one of separate, inline, none", *r),
                         "reasoning_format", "invalid_value");
    out.reasoning = *parsed;
  }
  if (f.error) return f.error;
  return std::nullopt;
}

}  // namespace whale::server
