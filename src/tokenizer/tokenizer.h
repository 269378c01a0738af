// tokenizer.h — text <-> token ids for the byte-level BPE vocabularies of the R1 family
// (DeepSeek-V3/R1, Qwen2 for R1-Distill-Qwen, Llama 3 for R1-Distill-Llama), id for id with
// Hugging Face `tokenizers`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "format/metadata.h"
#include "tokenizer/added_tokens.h"
#include "util/status.h"

namespace whale {

struct EncodeOptions {
  std::optional<bool> add_bos;  // nullopt: as the model's own configuration says
  bool parse_special = true;    // off: tokens flagged special are encoded as plain text
};

struct TokenizerParts;  // tokenizer_parts.h: what the loaders gather

class Tokenizer {
 public:
  // tokenizer.json text plus tokenizer_config.json text (may be empty).
  static Result<Tokenizer> from_hf_json(std::string_view tokenizer_json,
                                        std::string_view tokenizer_config_json);
  // A folder with tokenizer.json and (optionally) tokenizer_config.json.
  static Result<Tokenizer> from_hf_folder(const std::filesystem::path& dir);
  // GGUF `tokenizer.ggml.*` metadata (model "gpt2").
  static Result<Tokenizer> from_gguf(const Metadata& metadata);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Thread-safe.
  Result<std::vector<std::int32_t>> encode(std::string_view text,
                                           const EncodeOptions& options = {}) const;
  // Concatenated text; invalid UTF-8 becomes U+FFFD. Fails on an id outside the vocabulary.
  Result<std::string> decode(std::span<const std::int32_t> ids, bool skip_special = false) const;
  // The raw bytes token `id` stands for (may be part of a UTF-8 character); empty if unknown.
  std::string token_bytes(std::int32_t id) const;
  // The token's string as the vocabulary spells it (byte-level form for BPE tokens).
  std::string token_text(std::int32_t id) const;
  std::optional<std::int32_t> token_id(std::string_view token_text) const;
  bool is_special(std::int32_t id) const;

  std::size_t vocab_size() const;
  std::optional<std::int32_t> bos_id() const;
  std::optional<std::int32_t> eos_id() const;
  std::optional<std::int32_t> pad_id() const;
  bool add_bos_default() const;
  bool add_eos_default() const;
  std::string bos_token() const;  // "" when the model has none
  std::string eos_token() const;
  const std::string& chat_template() const;  // "" when the model has none

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  friend Result<Tokenizer> build_tokenizer(TokenizerParts parts);
  std::unique_ptr<Impl> impl_;
};

// A GGUF file (full or vocab-only), a Hugging Face model folder, or a folder holding only
// tokenizer.json (+ tokenizer_config.json); a path to tokenizer.json itself also works.
Result<Tokenizer> load_tokenizer(const std::filesystem::path& path);

}  // namespace whale
