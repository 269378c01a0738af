// lexer.h — splits a template into text and tags, and tag contents into tokens.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace whale::jinja {

struct Segment {
  enum class Kind { kText, kExpr, kStmt } kind;
  std::string content;
  int line;
};

// Text and tags, with `-` whitespace control, trim_blocks and lstrip_blocks applied as
// transformers configures Jinja; comments are dropped.
Result<std::vector<Segment>> split_segments(std::string_view src);

struct Tok {
  enum class Kind { kName, kString, kInt, kFloat, kOp, kEnd } kind;
  std::string text;
};

// The tokens of one tag's content; always ends with a kEnd token.
Result<std::vector<Tok>> lex(std::string_view s, int line);

}  // namespace whale::jinja
