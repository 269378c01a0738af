// cmd_serve.cpp — `whale serve`: the OpenAI-compatible HTTP server with the web chat page.
// SIGTERM / SIGINT shut it down gracefully: new requests are refused, running ones end with a
// final "cancelled" event, and the process exits 0.
#include <fmt/format.h>
#include <pthread.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <thread>

#include "cli/commands.h"
#include "cli/session.h"
#include "runtime/engine.h"
#include "server/http_server.h"

namespace whale::cli {
namespace {

struct ServeOptions {
  std::string model;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::int32_t parallel = 4;
  std::int32_t max_queued = 64;
  std::int64_t ctx = 0;
  int threads = 0;
  std::string api_key;
  std::size_t max_body = 8u << 20;
  std::string reasoning_format = "separate";
  int timeout_s = 10;
};

int run_serve(const ServeOptions& o) {
  auto reasoning = server::parse_reasoning_format(o.reasoning_format);
  if (!reasoning) {
    fmt::print(stderr, "whale serve: error: --reasoning-format '{}' is not separate, inline or none\n",
               o.reasoning_format);
    return 2;
  }
  // Signals are taken by one thread with sigwait, never by a handler: block them before any
  // thread (the engine's, the HTTP pool) exists so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up is a failed write, not a crash

  EngineOptions eo;
  eo.model_path = o.model;
  eo.n_threads = o.threads;
  eo.context_tokens = o.ctx;
  eo.parallel = o.parallel;
  eo.max_queued = o.max_queued;
  auto engine = Engine::load(eo);
  if (!engine.ok()) {
    fmt::print(stderr, "whale serve: error: {}\n", engine.error().what());
    return 1;
  }
  server::ServerOptions so;
  so.host = o.host;
  so.port = o.port;
  so.api_key = o.api_key;
  so.max_body_bytes = o.max_body;
  so.reasoning = *reasoning;
  so.read_timeout_s = o.timeout_s;
  so.http_threads = o.parallel + o.max_queued + 16;
  auto defaults = model_sampling_defaults(o.model, (*engine)->tokenizer());
  if (defaults.ok()) so.sampling_defaults = *defaults;
  server::HttpServer http(**engine, so);
  if (auto bound = http.bind(); !bound.ok()) {
    fmt::print(stderr, "whale serve: error: {}\n", bound.error().what());
    return 1;
  }
  fmt::print(stderr, "whale serve: listening on http://{}:{} (model {}, context {} tokens, {} parallel)\n",
             o.host, http.port(), (*engine)->model_name(), (*engine)->context_tokens(), o.parallel);
  std::fflush(stderr);

  std::atomic<bool> finished{false};
  std::thread waiter([&] {
    const timespec tick{0, 200'000'000};
    while (!finished) {
      const int sig = sigtimedwait(&signals, nullptr, &tick);
      if (sig == SIGINT || sig == SIGTERM) {
        fmt::print(stderr, "whale serve: {} received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
        std::fflush(stderr);
        http.stop();
        return;
      }
    }
  });
  http.run();
  finished = true;
  waiter.join();
  http.stop();
  fmt::print(stderr, "whale serve: stopped\n");
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* sub = app.add_subcommand("serve", "OpenAI-compatible HTTP server with a web chat page");
  sub->add_option("-m,--model", o->model, "GGUF file or Hugging Face model folder")->required();
  sub->add_option("--host", o->host, "address to listen on (0.0.0.0: every interface)")->capture_default_str();
  sub->add_option("--port", o->port, "port (0: any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
  sub->add_option("--parallel", o->parallel, "sequences decoded together")->capture_default_str()->check(CLI::Range(1, 256));
  sub->add_option("--max-queued", o->max_queued, "requests waiting beyond --parallel; more get 429")
      ->capture_default_str()->check(CLI::Range(0, 4096));
  sub->add_option("-c,--ctx-size", o->ctx, "context per sequence in tokens (default: the model's, capped by memory)");
  sub->add_option("-t,--threads", o->threads, "compute threads (default: all cores)");
  sub->add_option("--api-key", o->api_key, "require 'Authorization: Bearer KEY' on /v1/* and /metrics")
      ->envname("WHALE_API_KEY");
  sub->add_option("--max-body", o->max_body, "largest request body in bytes; larger get 413")->capture_default_str();
  sub->add_option("--timeout", o->timeout_s, "drop a client that sends or reads nothing for this many seconds")
      ->capture_default_str()->check(CLI::Range(1, 3600));
  sub->add_option("--reasoning-format", o->reasoning_format,
                  "where chat answers put the thinking: separate (reasoning_content), inline (<think> in "
                  "content) or none; a request may override it with reasoning_format")
      ->capture_default_str();
  set_command_body(sub, [o] { return run_serve(*o); });
}

}  // namespace whale::cli
