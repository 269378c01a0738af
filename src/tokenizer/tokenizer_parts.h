// tokenizer_parts.h — what the tokenizer.json and GGUF loaders gather, and the one function
// that validates it into a Tokenizer (internal to the tokenizer layer).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"

namespace whale {

struct TokenizerParts {
  std::vector<std::string> tokens;  // byte-level string per id; added tokens included
  std::vector<std::pair<std::string, std::string>> merges;
  bool ignore_merges = false;
  std::vector<AddedToken> added;
  PreTokenizer pre_tokenizer;
  Normalizer normalizer;
  std::optional<std::int32_t> bos_id;
  std::optional<std::int32_t> eos_id;
  std::optional<std::int32_t> pad_id;
  bool add_bos = false;
  bool add_eos = false;
  std::string chat_template;
};

Result<Tokenizer> build_tokenizer(TokenizerParts parts);

}  // namespace whale
