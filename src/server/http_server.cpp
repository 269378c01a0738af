// http_server.cpp — routes and policies of the HTTP front, on cpp-httplib (Debian's 0.11).
// Each connection is served by one pool thread; a streaming response keeps its thread while it
// pumps engine events into the socket, so the pool is sized for every running and queued request.
#include "server/http_server.h"

#include <fmt/format.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "server/completions.h"
#include "server/metrics.h"
#include "server/web_assets.h"

namespace whale::server {

struct HttpServer::Impl {
  Engine& engine;
  ServerOptions options;
  ParseContext ctx;
  httplib::Server http;
  int port = 0;
  std::atomic<bool> draining{false};
  std::atomic<std::int64_t> active_streams{0};
  std::atomic<std::int64_t> http_requests{0};
  std::atomic<std::int64_t> http_errors{0};
  std::once_flag stop_once;

  Impl(Engine& e, ServerOptions o) : engine(e), options(std::move(o)) {
    ctx.model_name = engine.model_name();
    ctx.vocab_size = static_cast<std::int64_t>(engine.tokenizer().vocab_size());
    ctx.defaults = options.sampling_defaults;
    ctx.reasoning = options.reasoning;
  }

  void send_error(httplib::Response& res, const ApiError& e) const {
    res.status = e.status;
    if (e.retry_after_s > 0) res.set_header("Retry-After", std::to_string(e.retry_after_s));
    res.set_content(dump_json(e.to_json()), "application/json");
  }

  // Compares without an early exit, so response timing does not reveal a key's prefix.
  bool key_ok(const httplib::Request& req) const {
    const std::string expected = "Bearer " + options.api_key;
    const std::string got = req.get_header_value("Authorization");
    unsigned diff = got.size() == expected.size() ? 0u : 1u;
    for (std::size_t i = 0; i < got.size() && i < expected.size(); ++i)
      diff |= static_cast<unsigned char>(got[i] ^ expected[i]);
    return diff == 0;
  }

  httplib::Server::HandlerResponse pre_route(const httplib::Request& req, httplib::Response& res) {
    const bool api = req.path.rfind("/v1/", 0) == 0 || req.path == "/metrics";
    if (api && !options.api_key.empty() && !key_ok(req)) {
      ApiError e;
      e.status = 401;
      e.message = req.has_header("Authorization") ? "the API key is wrong" : "an API key is required (Authorization: Bearer KEY)";
      e.code = "invalid_api_key";
      send_error(res, e);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  // Fills errors that httplib produced itself (no route, body too large, unreadable request)
  // in the same OpenAI shape; a handler's own error body is left alone.
  httplib::Server::HandlerResponse on_error(const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    ApiError e;
    e.status = res.status;
    switch (res.status) {
      case 404:
        e.message = fmt::format("no route {} {}", req.method, req.path);
        e.code = "unknown_route";
        break;
      case 405: e.message = fmt::format("method {} is not allowed on {}", req.method, req.path); break;
      case 413:
        e.message = fmt::format("the request body is larger than the limit of {} bytes", options.max_body_bytes);
        e.code = "body_too_large";
        break;
      default: e.message = fmt::format("the request could not be handled (HTTP {})", res.status); break;
    }
    send_error(res, e);
    return httplib::Server::HandlerResponse::Handled;
  }

  void completion(const httplib::Request& req, httplib::Response& res, Endpoint endpoint) {
    if (draining) {
      ApiError e;
      e.status = 503;
      e.type = "server_error";
      e.code = "shutting_down";
      e.message = "the server is shutting down";
      return send_error(res, e);
    }
    PreparedRequest prepared;
    if (auto e = prepare_request(engine, ctx, req.body, endpoint, prepared)) return send_error(res, *e);
    const bool stream = prepared.api.stream;
    auto started = ActiveResponse::start(engine, std::move(prepared));
    if (auto* e = std::get_if<ApiError>(&started)) return send_error(res, *e);
    std::shared_ptr<ActiveResponse> active = std::move(std::get<0>(started));
    if (!stream) {
      auto result = active->collect();
      if (auto* e = std::get_if<ApiError>(&result)) return send_error(res, *e);
      res.set_content(dump_json(std::get<OJson>(result)), "application/json");
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");  // proxies must not buffer the stream
    ++active_streams;
    res.set_chunked_content_provider(
        "text/event-stream",
        [active](std::size_t, httplib::DataSink& sink) {
          bool write_failed = false;
          const bool more = active->pump(
              [&](std::string_view s) {
                write_failed = !sink.write(s.data(), s.size());
                return !write_failed;
              },
              std::chrono::milliseconds(100));
          if (write_failed) return false;  // client gone: the engine requests are cancelled
          if (!more) sink.done();
          return true;
        },
        [this, active](bool) {
          active->cancel();
          --active_streams;
        });
  }

  nlohmann::json model_object() const {
    return {{"id", ctx.model_name}, {"object", "model"}, {"created", 0}, {"owned_by", "whale"},
            {"context_length", engine.context_tokens()}};
  }

  void models(httplib::Response& res) const {
    res.set_content(dump_json(nlohmann::json{{"object", "list"}, {"data", nlohmann::json::array({model_object()})}}),
                    "application/json");
  }

  // GET /v1/models/{id}: the SDKs' models.retrieve.
  void model(const httplib::Request& req, httplib::Response& res) const {
    const std::string id = req.matches.size() > 1 ? std::string(req.matches[1]) : std::string();
    if (id != ctx.model_name)
      return send_error(res, not_found(fmt::format("model '{}' does not exist; this server serves '{}'", id,
                                                   ctx.model_name),
                                       "model", "model_not_found"));
    res.set_content(dump_json(model_object()), "application/json");
  }

  void routes() {
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) { return pre_route(req, res); });
    http.set_error_handler(httplib::Server::HandlerWithResponse(
        [this](const httplib::Request& req, httplib::Response& res) { return on_error(req, res); }));
    http.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      ApiError e;
      e.status = 500;
      e.type = "server_error";
      e.message = "internal error";
      send_error(res, e);
    });
    http.set_logger([this](const httplib::Request&, const httplib::Response& res) {
      ++http_requests;
      if (res.status >= 400) ++http_errors;
    });
    http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) { completion(req, res, Endpoint::kChat); });
    http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) { completion(req, res, Endpoint::kCompletion); });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) { models(res); });
    http.Get(R"(/v1/models/(.+))", [this](const httplib::Request& req, httplib::Response& res) { model(req, res); });
    http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      res.status = draining ? 503 : 200;
      res.set_content(draining ? R"({"status":"shutting_down"})" : R"({"status":"ok"})", "application/json");
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      const HttpCounters counters{http_requests.load(), http_errors.load()};
      res.set_content(prometheus_text(engine.stats(), counters), "text/plain; version=0.0.4");
    });
    for (const WebAsset& asset : web_assets()) {
      const std::string path(asset.path);
      http.Get(path == "/index.html" ? "/" : path, [&asset](const httplib::Request&, httplib::Response& res) {
        res.set_header("Cache-Control", "no-cache");
        res.set_content(std::string(asset.body), std::string(asset.content_type));
      });
    }
  }
};

HttpServer::HttpServer(Engine& engine, ServerOptions options)
    : impl_(std::make_unique<Impl>(engine, std::move(options))) {
  Impl& s = *impl_;
  const ServerOptions& o = s.options;
  // Every running and queued request may hold a thread (streams do), plus room for the
  // requests that are refused, /metrics and the page.
  const int threads = o.http_threads > 0 ? o.http_threads : 96;
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  s.http.set_payload_max_length(o.max_body_bytes);
  s.http.set_read_timeout(o.read_timeout_s, 0);
  s.http.set_write_timeout(o.read_timeout_s, 0);
  s.http.set_keep_alive_timeout(o.read_timeout_s);  // an idle kept-alive connection holds a pool thread
  s.routes();
}

HttpServer::~HttpServer() { stop(); }

Result<void> HttpServer::bind() {
  Impl& s = *impl_;
  if (s.options.port == 0) {
    s.port = s.http.bind_to_any_port(s.options.host);
    if (s.port <= 0) return Error("cannot listen on {} (any port)", s.options.host);
  } else {
    if (!s.http.bind_to_port(s.options.host, s.options.port))
      return Error("cannot listen on {}:{} (in use, or not an address of this machine?)", s.options.host,
                   s.options.port);
    s.port = s.options.port;
  }
  return {};
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::run() { impl_->http.listen_after_bind(); }

void HttpServer::stop() {
  Impl& s = *impl_;
  std::call_once(s.stop_once, [&s] {
    s.draining = true;
    // Ends every request with a final cancelled event; the streams write it, then close.
    s.engine.shutdown();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (s.active_streams > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s.http.stop();
  });
}

}  // namespace whale::server
