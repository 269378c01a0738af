// completions.cpp — prepare, submit, collect and stream one completion request.
#include "server/completions.h"

#include <fmt/format.h>

#include <ctime>
#include <random>

#include "chat/chat_template.h"

namespace whale::server {

namespace {

std::string random_id(std::string_view prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}{:016x}{:08x}", prefix, rng(), static_cast<std::uint32_t>(rng()));
}

std::uint64_t random_seed() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

// R1's template ends the generation prompt with "<think>\n": the model starts inside it.
bool ends_in_think(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  return text.ends_with("<think>");
}

ApiError server_error(int status, std::string message, std::string code) {
  ApiError e;
  e.status = status;
  e.type = "server_error";
  e.message = std::move(message);
  e.code = std::move(code);
  return e;
}

ApiError cancelled_error() {
  return server_error(503, "the request was cancelled: the server is shutting down", "cancelled");
}

}  // namespace

std::optional<ApiError> prepare_request(const Engine& engine, const ParseContext& ctx,
                                        std::string_view body, Endpoint endpoint, PreparedRequest& out) {
  if (auto e = parse_request(body, endpoint, ctx, out.api)) return e;
  const Tokenizer& tok = engine.tokenizer();
  std::string text;
  EncodeOptions eo;
  if (endpoint == Endpoint::kChat) {
    if (tok.chat_template().empty())
      return bad_request("this model has no chat template: use /v1/completions with a raw prompt", "messages",
                         "no_chat_template");
    ChatRenderOptions ro;
    ro.add_generation_prompt = true;
    ro.bos_token = tok.bos_token();
    ro.eos_token = tok.eos_token();
    auto rendered = render_chat(tok.chat_template(), out.api.messages, ro);
    if (!rendered.ok())
      return bad_request(fmt::format("the chat template could not render these messages: {}", rendered.error().what()),
                         "messages", "template_error");
    text = std::move(rendered).value();
    eo.add_bos = false;  // the template writes BOS itself
  } else {
    text = out.api.prompt;
  }
  auto ids = tok.encode(text, eo);
  if (!ids.ok())
    return bad_request(fmt::format("the prompt could not be tokenized: {}", ids.error().what()),
                       endpoint == Endpoint::kChat ? "messages" : "prompt", "invalid_value");
  out.prompt = std::move(ids).value();
  const char* prompt_param = endpoint == Endpoint::kChat ? "messages" : "prompt";
  if (out.prompt.empty()) return bad_request("the prompt is empty", prompt_param, "invalid_value");
  const std::int64_t context = engine.context_tokens();
  const auto n_prompt = static_cast<std::int64_t>(out.prompt.size());
  if (n_prompt >= context)
    return bad_request(fmt::format("the prompt has {} tokens but the context holds {} (prompt and answer "
                                   "together); shorten the prompt",
                                   n_prompt, context),
                       prompt_param, "context_length_exceeded");
  EngineRequest& e = out.api.engine;
  if (!out.api.max_tokens_given) e.max_tokens = context - n_prompt;
  if (!out.api.seed_given) e.sampling.seed = random_seed();
  e.starts_in_thinking = ends_in_think(text);

  ResponseMeta& m = out.meta;
  m.id = random_id(endpoint == Endpoint::kChat ? "chatcmpl-" : "cmpl-");
  m.created = static_cast<std::int64_t>(std::time(nullptr));
  m.model = out.api.model;
  m.endpoint = endpoint;
  m.reasoning = out.api.reasoning;
  m.logprobs = out.api.logprobs;
  m.starts_in_thinking = e.starts_in_thinking;
  m.token_bytes = [&tok](std::int32_t id) { return tok.token_bytes(id); };  // the engine outlives requests
  return std::nullopt;
}

ActiveResponse::ActiveResponse(Engine& engine, PreparedRequest request)
    : engine_(engine),
      request_(std::move(request)),
      channel_(std::make_shared<EventChannel>(request_.api.n)),
      choices_(static_cast<std::size_t>(request_.api.n)) {}

std::variant<std::unique_ptr<ActiveResponse>, ApiError> ActiveResponse::start(Engine& engine,
                                                                               PreparedRequest request) {
  // The constructor is private (a response only exists once submitted), so no make_unique.
  std::unique_ptr<ActiveResponse> r(new ActiveResponse(engine, std::move(request)));
  const PreparedRequest& p = r->request_;
  for (std::int32_t i = 0; i < p.api.n; ++i) {
    EngineRequest er = p.api.engine;
    er.prompt = p.prompt;
    er.sampling.seed = p.api.engine.sampling.seed + static_cast<std::uint64_t>(i);  // choice i: seed + i
    std::shared_ptr<EventChannel> channel = r->channel_;
    auto id = engine.submit(std::move(er), [channel, i](const EngineEvent& ev) { return channel->push(i, ev); });
    if (!id.ok()) {
      r->cancel();
      if (is_queue_full(id.error())) {
        ApiError e;
        e.status = 429;
        e.type = "rate_limit_error";
        e.code = "queue_full";
        e.message = fmt::format("the server is busy ({}); retry shortly", id.error().what());
        e.retry_after_s = 1;
        return e;
      }
      return bad_request(id.error().what(), "", "rejected");
    }
    r->ids_.push_back(*id);
  }
  return r;
}

ActiveResponse::~ActiveResponse() { cancel(); }

void ActiveResponse::cancel() {
  if (!complete_) {
    for (RequestId id : ids_) engine_.cancel(id);
    complete_ = true;
  }
  channel_->close();
}

std::variant<OJson, ApiError> ActiveResponse::collect() {
  while (!channel_->done()) {
    for (auto& [index, ev] : channel_->take(std::chrono::milliseconds(200))) {
      accumulate(choices_[static_cast<std::size_t>(index)], ev);
      if (ev.finished && ev.finish == FinishReason::kCancelled) cancelled_ = true;
    }
  }
  complete_ = true;
  channel_->close();
  if (cancelled_) return cancelled_error();
  return full_response(request_.meta, choices_);
}

bool ActiveResponse::pump(const std::function<bool(std::string_view)>& write, std::chrono::milliseconds wait,
                          std::chrono::milliseconds keepalive) {
  if (complete_) return false;
  std::string out;
  for (auto& [index, ev] : channel_->take(wait)) {
    ChoiceState& choice = choices_[static_cast<std::size_t>(index)];
    if (ev.finished && ev.finish == FinishReason::kCancelled) {
      cancelled_ = true;
      accumulate(choice, ev);
      continue;
    }
    auto chunk = stream_chunk(request_.meta, index, choice, ev);
    if (!chunk) continue;
    if (request_.api.include_usage) (*chunk)["usage"] = nullptr;
    out += sse_event(*chunk);
  }
  bool finished = channel_->done();
  if (finished) {
    // A cancelled stream ends with an error event the SDKs raise, never a silent truncation.
    if (cancelled_) out += sse_event(OJson(cancelled_error().to_json()));
    else if (request_.api.include_usage) out += sse_event(usage_chunk(request_.meta, choices_));
    out += kSseDone;
  }
  const auto now = std::chrono::steady_clock::now();
  if (out.empty() && now - last_write_ >= keepalive) out = ": keep-alive\n\n";  // also notices a closed socket
  if (!out.empty()) {
    if (!write(out)) {
      cancel();
      return false;
    }
    last_write_ = now;
  }
  if (finished) {
    complete_ = true;
    channel_->close();
  }
  return !finished;
}

}  // namespace whale::server
