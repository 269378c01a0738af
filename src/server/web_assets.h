// web_assets.h — the chat page's files (src/server/web/), embedded at build time by
// cmake/embed_web.cmake; "/index.html" is served at "/".
#pragma once

#include <span>
#include <string_view>

namespace whale::server {

struct WebAsset {
  std::string_view path;          // "/index.html", "/app.js", ...
  std::string_view content_type;
  std::string_view body;
};

std::span<const WebAsset> web_assets();

}  // namespace whale::server
