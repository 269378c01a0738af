// regex.h — a compiled PCRE2 pattern (UTF + Unicode properties) that lists match ranges.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

namespace whale {

struct ByteRange {
  std::size_t begin = 0;
  std::size_t end = 0;
};

// Thread-safe after construction: each call allocates its own match data.
class Regex {
 public:
  // PCRE2_UTF | PCRE2_UCP, so \p{L}, \s and (?i) follow Unicode as Oniguruma does for
  // Hugging Face; invalid UTF-8 in the subject is tolerated (PCRE2_MATCH_INVALID_UTF).
  static Result<Regex> compile(std::string_view pattern);

  // Non-overlapping matches, left to right (an empty match advances by one character).
  std::vector<ByteRange> find_all(std::string_view text) const;
  const std::string& pattern() const { return pattern_; }

 private:
  struct CodeDeleter {
    void operator()(void* code) const;
  };
  std::string pattern_;
  std::shared_ptr<void> code_;  // pcre2_code_8*, shared by copies (immutable)
};

}  // namespace whale
