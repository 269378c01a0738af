// http_server.h — `whale serve`'s HTTP front: OpenAI routes, /health, /metrics, the web page,
// API-key check, body limits, and graceful shutdown. Binds 127.0.0.1 unless told otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "runtime/engine.h"
#include "server/openai_types.h"
#include "util/status.h"

namespace whale::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                               // 0: any free port (tests)
  std::string api_key;                           // "": no authentication
  std::size_t max_body_bytes = 8u << 20;         // larger bodies get 413
  int read_timeout_s = 10;                       // a client that stalls mid-request is dropped
  int http_threads = 0;                          // 0: enough for every running and queued request
  ReasoningFormat reasoning = ReasoningFormat::kSeparate;
  SamplingParams sampling_defaults;              // the model's recommended sampling
};

class HttpServer {
 public:
  // `engine` must outlive the server.
  HttpServer(Engine& engine, ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listening socket; fails naming the address.
  Result<void> bind();
  int port() const;  // after bind(): the actual port
  // Serves until stop(); returns when every connection has been closed.
  void run();
  // Graceful: new requests get 503, in-flight ones end with a final "cancelled" event (the
  // engine shuts down), then the listener closes. Safe from any thread, more than once.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace whale::server
