// api_error.h — an HTTP API error in OpenAI's shape: {"error": {"message", "type", "param",
// "code"}} plus the HTTP status it is sent with.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace whale::server {

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";  // OpenAI's error types
  std::string param;                           // the request field at fault; "" when none
  std::string code;                            // machine-readable reason; "" when none
  int retry_after_s = 0;                       // > 0: sent as Retry-After (429)

  nlohmann::json to_json() const;
};

// The common cases, so every route words them alike.
ApiError bad_request(std::string message, std::string param = "", std::string code = "");
ApiError not_found(std::string message, std::string param = "", std::string code = "");

// Serializes any JSON we send: strings the model produced may hold broken UTF-8 (a token's raw
// bytes), which are replaced by U+FFFD instead of throwing.
std::string dump_json(const nlohmann::json& j);
std::string dump_json(const nlohmann::ordered_json& j);

}  // namespace whale::server
