// metrics.h — Prometheus text exposition of the engine's counters for GET /metrics.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/engine.h"

namespace whale::server {

struct HttpCounters {
  std::int64_t http_requests = 0;  // every request the server answered
  std::int64_t http_errors = 0;    // answered with a 4xx or 5xx
};

std::string prometheus_text(const EngineStats& stats, const HttpCounters& http);

}  // namespace whale::server
