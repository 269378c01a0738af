// detok_stream.h — incremental detokenization that never emits part of a UTF-8 character.
#pragma once

#include <cstdint>
#include <string>

#include "tokenizer/tokenizer.h"

namespace whale {

// Feed ids as they are generated; each call returns the text that is now complete. Bytes
// that may still become a valid character are held back; bytes that can never become valid
// are emitted as U+FFFD; flush() turns a held-back incomplete tail into U+FFFD.
// Not thread-safe (one per sequence); borrows the tokenizer.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special = false)
      : tokenizer_(&tokenizer), skip_special_(skip_special) {}

  std::string push(std::int32_t id);
  std::string push_bytes(std::string_view bytes);
  std::string flush();
  const std::string& pending() const { return pending_; }

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace whale
