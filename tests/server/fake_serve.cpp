// fake_serve.cpp — `whale serve`'s HTTP front on the scripted engine (fake_engine.h), for
// developing and checking the JS clients and the page without a model:
//   whale-fake-serve [--port N] [--step-ms N] [--pieces N] [--api-key KEY]
// Prints "listening on http://127.0.0.1:PORT" and serves until SIGTERM / SIGINT.
#include <fmt/format.h>
#include <pthread.h>

#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>

#include "server/fake_engine.h"
#include "server/http_server.h"

int main(int argc, char** argv) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  whale::test::FakeEngine::Options eo;
  whale::server::ServerOptions so;
  so.port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--port") so.port = std::atoi(argv[i + 1]);
    else if (flag == "--step-ms") eo.step_ms = std::atoi(argv[i + 1]);
    else if (flag == "--pieces") eo.n_answer_pieces = std::atoi(argv[i + 1]);
    else if (flag == "--api-key") so.api_key = argv[i + 1];
  }
  whale::test::FakeEngine engine(eo);
  whale::server::HttpServer http(engine, so);
  if (auto b = http.bind(); !b.ok()) {
    fmt::print(stderr, "{}\n", b.error().what());
    return 1;
  }
  fmt::print(stderr, "listening on http://127.0.0.1:{}\n", http.port());
  std::fflush(stderr);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    http.stop();
  });
  http.run();
  waiter.join();
  return 0;
}
