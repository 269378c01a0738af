// load_gguf.cpp — a Tokenizer from GGUF `tokenizer.ggml.*` metadata, and load_tokenizer().
#include "format/gguf.h"
#include "tokenizer/tokenizer_parts.h"

namespace whale {
namespace {

// llama.cpp's token types.
constexpr std::int64_t kTokenControl = 3;
constexpr std::int64_t kTokenUserDefined = 4;

Result<std::vector<std::string>> string_array(const Metadata& md, std::string_view key) {
  WHALE_TRY(const MetaArray* arr, md.get_array(key));
  std::vector<std::string> out;
  out.reserve(arr->items.size());
  for (const MetaValue& v : arr->items) {
    WHALE_TRY(auto s, v.as_string());
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<std::int32_t> optional_id(const Metadata& md, std::string_view key) {
  const std::int64_t v = md.get_int_or(key, -1);
  if (v < 0 || v > INT32_MAX) return std::nullopt;
  return static_cast<std::int32_t>(v);
}

}  // namespace

Result<Tokenizer> Tokenizer::from_gguf(const Metadata& md) {
  const std::string model = md.get_string_or("tokenizer.ggml.model", "");
  if (model != "gpt2")
    return Error("tokenizer.ggml.model '{}' is not supported (only byte-level BPE, 'gpt2')", model);
  TokenizerParts p;
  WHALE_TRY(p.tokens, string_array(md, "tokenizer.ggml.tokens"));
  std::vector<std::string> merges;
  if (md.contains("tokenizer.ggml.merges")) {
    WHALE_TRY(merges, string_array(md, "tokenizer.ggml.merges"));
  }
  for (std::size_t i = 0; i < merges.size(); ++i) {
    const std::size_t sp = merges[i].find(' ', 1);
    if (sp == std::string::npos) return Error("tokenizer.ggml.merges[{}] has no space", i);
    p.merges.emplace_back(merges[i].substr(0, sp), merges[i].substr(sp + 1));
  }
  if (const MetaValue* types = md.find("tokenizer.ggml.token_type")) {
    WHALE_TRY(const MetaArray* arr, types->as_array());
    if (arr->items.size() != p.tokens.size())
      return Error("tokenizer.ggml.token_type has {} entries for {} tokens", arr->items.size(),
                   p.tokens.size());
    for (std::size_t i = 0; i < arr->items.size(); ++i) {
      WHALE_TRY(std::int64_t type, arr->items[i].as_int());
      if (type != kTokenControl && type != kTokenUserDefined) continue;
      AddedToken t;
      t.content = p.tokens[i];
      t.id = static_cast<std::int32_t>(i);
      t.special = type == kTokenControl;
      p.added.push_back(std::move(t));
    }
  }
  const std::string pre = md.get_string_or("tokenizer.ggml.pre", "default");
  WHALE_TRY(p.pre_tokenizer, PreTokenizer::from_gguf_name(pre));
  if (pre == "qwen2" || pre == "deepseek-r1-qwen") p.normalizer = Normalizer::nfc();
  p.ignore_merges = pre == "llama-bpe" || pre == "llama3";
  p.bos_id = optional_id(md, "tokenizer.ggml.bos_token_id");
  p.eos_id = optional_id(md, "tokenizer.ggml.eos_token_id");
  p.pad_id = optional_id(md, "tokenizer.ggml.padding_token_id");
  p.add_bos = md.get_bool_or("tokenizer.ggml.add_bos_token", false) && p.bos_id.has_value();
  p.add_eos = md.get_bool_or("tokenizer.ggml.add_eos_token", false) && p.eos_id.has_value();
  p.chat_template = md.get_string_or("tokenizer.chat_template", "");
  return build_tokenizer(std::move(p)).context("GGUF tokenizer metadata");
}

Result<Tokenizer> load_tokenizer(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Tokenizer::from_hf_folder(path);
  if (path.extension() == ".json") return Tokenizer::from_hf_folder(path.parent_path());
  WHALE_TRY(GgufFile gguf, open_gguf(path));
  return Tokenizer::from_gguf(gguf.contents.metadata).context("loading tokenizer from {}", path.string());
}

}  // namespace whale
