// utf8_stream.h — joins token bytes into text without ever emitting half a character: a
// multi-byte UTF-8 sequence split across tokens is held until complete.
#pragma once

#include <string>
#include <string_view>

namespace whale {

class Utf8Stream {
 public:
  // Adds bytes; returns the complete characters now available. Bytes that can never start or
  // continue a valid sequence are replaced by U+FFFD at once (they cannot become valid).
  std::string push(std::string_view bytes);
  // End of stream: an incomplete trailing sequence becomes U+FFFD.
  std::string flush();

 private:
  std::string pending_;
};

}  // namespace whale
