// pretokenizer.h — Hugging Face pre-tokenizers that byte-level BPE models use: Split (regex,
// with its behaviours), ByteLevel (optional GPT-2 regex), Digits, and Sequence of these.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/regex.h"
#include "util/status.h"

namespace whale {

enum class SplitBehavior { kIsolated, kRemoved, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct PreTokenizeStep {
  enum class Kind { kSplit, kByteLevel, kDigits };
  Kind kind = Kind::kSplit;
  Regex regex;                  // kSplit; kByteLevel when use_regex
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;          // kSplit: the regex matches the pieces, not the delimiters
  bool use_regex = false;       // kByteLevel
  bool add_prefix_space = false;  // kByteLevel
  bool individual_digits = false;  // kDigits
};

// Turns normalized text into the words BPE sees (still raw bytes; the byte-level mapping is
// applied by the model). Immutable and thread-safe.
class PreTokenizer {
 public:
  static Result<PreTokenizer> from_json(const nlohmann::json& j);  // null: one piece
  // From a GGUF `tokenizer.ggml.pre` name ("deepseek-v3", "qwen2", "llama-bpe", ...).
  static Result<PreTokenizer> from_gguf_name(std::string_view name);

  std::vector<std::string> split(std::string_view text) const;

 private:
  Result<void> add_json_step(const nlohmann::json& j);
  std::vector<PreTokenizeStep> steps_;
};

// The GPT-2 pattern ByteLevel uses when use_regex is true.
extern const char* const kGpt2Pattern;

}  // namespace whale
