// hf_tokenizer.h — GGUF tokenizer.ggml.* metadata from a Hugging Face tokenizer.json (+
// tokenizer_config.json): byte-level BPE as llama.cpp's "gpt2" tokenizer model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "format/metadata.h"
#include "util/status.h"

namespace whale {

// Adds tokens, token types, merges, special ids, add_bos, the pre-tokenizer name and the chat
// template to `m`. `vocab_size` is config.json's: the token list is padded to it with
// "[PADn]" unused tokens, as llama.cpp's converter does. Fails (naming the file) when the
// tokenizer is not byte-level BPE or its pre-tokenizer matches none whale can name.
Result<void> add_hf_tokenizer_metadata(const std::filesystem::path& folder, std::int64_t vocab_size,
                                       Metadata& m);

// The tokenizer.ggml.pre name whose pre-tokenizer splits text exactly as `pre_tokenizer_json`
// (tokenizer.json's "pre_tokenizer" node) does on a set of probe strings; "" when none does.
std::string identify_pre_tokenizer(const std::string& pre_tokenizer_json);

}  // namespace whale
