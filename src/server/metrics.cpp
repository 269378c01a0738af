// metrics.cpp — Prometheus text format 0.0.4: "# HELP", "# TYPE", then "name value" lines.
#include "server/metrics.h"

#include <fmt/format.h>

namespace whale::server {

namespace {

void metric(std::string& out, const char* name, const char* type, const char* help, double value) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
}

}  // namespace

std::string prometheus_text(const EngineStats& s, const HttpCounters& http) {
  std::string out;
  auto d = [](auto v) { return static_cast<double>(v); };
  metric(out, "whale_requests_total", "counter", "Engine requests accepted (one per choice).", d(s.requests_total));
  metric(out, "whale_requests_active", "gauge", "Sequences being decoded now.", d(s.requests_active));
  metric(out, "whale_requests_queued", "gauge", "Requests waiting for a free slot.", d(s.requests_queued));
  metric(out, "whale_prompt_tokens_total", "counter", "Prompt tokens received.", d(s.prompt_tokens_total));
  metric(out, "whale_cached_prompt_tokens_total", "counter", "Prompt tokens served from the prefix cache.",
         d(s.cached_prompt_tokens_total));
  metric(out, "whale_generated_tokens_total", "counter", "Tokens generated.", d(s.generated_tokens_total));
  metric(out, "whale_decode_tokens_per_second", "gauge", "Aggregate decode speed over the last seconds.",
         s.decode_tokens_per_s);
  metric(out, "whale_kv_cache_bytes", "gauge", "KV cache bytes in use.", d(s.kv_cache_bytes));
  metric(out, "whale_kv_cache_capacity_bytes", "gauge", "KV cache bytes available.", d(s.kv_cache_capacity_bytes));
  metric(out, "whale_kv_cache_usage_ratio", "gauge", "KV cache use as a fraction of its capacity.",
         s.kv_cache_capacity_bytes > 0 ? d(s.kv_cache_bytes) / d(s.kv_cache_capacity_bytes) : 0.0);
  metric(out, "whale_http_requests_total", "counter", "HTTP requests answered.", d(http.http_requests));
  metric(out, "whale_http_errors_total", "counter", "HTTP requests answered with an error status.",
         d(http.http_errors));
  return out;
}

}  // namespace whale::server
