// hf_tokenizer.cpp — tokenizer.json -> tokenizer.ggml.* keys.
#include "convert/hf_tokenizer.h"

#include <fmt/format.h>

#include <array>
#include <nlohmann/json.hpp>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"
#include "util/text_file.h"

namespace whale {
namespace {

using nlohmann::json;

// llama.cpp's token types.
constexpr std::int32_t kNormal = 1;
constexpr std::int32_t kControl = 3;
constexpr std::int32_t kUserDefined = 4;
constexpr std::int32_t kUnused = 5;

// Text that separates the R1 family's pre-tokenizers: digit runs (DeepSeek splits them in
// threes, Llama 3 in threes, Qwen2 one by one), CJK, contractions, whitespace runs, symbols.
constexpr std::array<const char*, 6> kProbes = {
    "Hello world! It's 2024: 1234567 apples, 3.14159 pies.",
    "\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c\xe3\x80\x82\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa"
    "\x9e abc",
    "  leading   spaces\n\n\ttabs\r\nand  lines  \n",
    "don't WE'LL you're I'M they've",
    "x=a+b*c; // code\t{return 42;} ====>>>",
    "\xf0\x9f\xa6\x99 emoji \xc3\x84\xc3\x96\xc3\x9c caf\xc3\xa9 123abc456",
};

// The names whale's GGUF tokenizer loader knows, most specific first.
constexpr std::array<const char*, 4> kPreNames = {"deepseek-v3", "qwen2", "llama-bpe", "gpt-2"};

}  // namespace

std::string identify_pre_tokenizer(const std::string& pre_tokenizer_json) {
  const json j = json::parse(pre_tokenizer_json, nullptr, false);
  if (j.is_discarded()) return "";
  auto hf = PreTokenizer::from_json(j);
  if (!hf.ok()) return "";
  for (const char* name : kPreNames) {
    auto cand = PreTokenizer::from_gguf_name(name);
    if (!cand.ok()) continue;
    bool same = true;
    for (const char* probe : kProbes) {
      if (hf->split(probe) != cand->split(probe)) {
        same = false;
        break;
      }
    }
    if (same) return name;
  }
  return "";
}

Result<void> add_hf_tokenizer_metadata(const std::filesystem::path& folder, std::int64_t vocab_size,
                                       Metadata& m) {
  const auto tok_path = folder / "tokenizer.json";
  WHALE_TRY(const std::string tok_text, read_text_file(tok_path));
  // Loading it the way whale runs it checks that it is byte-level BPE and gives the special ids,
  // add_bos and the chat template with tokenizer_config.json's overrides applied.
  WHALE_TRY(const Tokenizer loaded, Tokenizer::from_hf_folder(folder));
  const json tok = json::parse(tok_text, nullptr, false);
  if (tok.is_discarded() || !tok.is_object())
    return Error("{}: not a JSON object", tok_path.string());
  try {
    std::vector<std::string> tokens;
    std::vector<std::int32_t> types;
    auto put = [&](std::size_t id, std::string text, std::int32_t type) {
      if (tokens.size() <= id) {
        tokens.resize(id + 1);
        types.resize(id + 1, 0);
      }
      tokens[id] = std::move(text);
      types[id] = type;
    };
    for (const auto& [text, id] : tok.at("model").at("vocab").items())
      put(id.get<std::size_t>(), text, kNormal);
    for (const json& a : tok.value("added_tokens", json::array()))
      put(a.at("id").get<std::size_t>(), a.at("content").get<std::string>(),
          a.value("special", false) ? kControl : kUserDefined);
    for (std::size_t i = 0; i < tokens.size(); ++i)
      if (types[i] == 0)
        return Error("{}: token id {} is missing from the vocabulary", tok_path.string(), i);
    if (static_cast<std::int64_t>(tokens.size()) > vocab_size)
      return Error("{}: {} tokens, more than config.json's vocab_size {}", tok_path.string(),
                   tokens.size(), vocab_size);
    // The embedding has vocab_size rows; llama.cpp pads the list so ids and rows agree.
    for (auto i = static_cast<std::int64_t>(tokens.size()); i < vocab_size; ++i) {
      tokens.push_back(fmt::format("[PAD{}]", i));
      types.push_back(kUnused);
    }
    std::vector<std::string> merges;
    for (const json& mg : tok.at("model").at("merges"))
      merges.push_back(mg.is_string()
                           ? mg.get<std::string>()
                           : mg.at(0).get<std::string>() + " " + mg.at(1).get<std::string>());
    const std::string pre = identify_pre_tokenizer(tok.value("pre_tokenizer", json()).dump());
    if (pre.empty())
      return Error(
          "{}: the pre_tokenizer splits text like none of the pre-tokenizers GGUF can "
          "name (deepseek-v3, qwen2, llama-bpe, gpt-2)",
          tok_path.string());
    m.set("tokenizer.ggml.model", meta_str("gpt2"));
    m.set("tokenizer.ggml.pre", meta_str(pre));
    m.set("tokenizer.ggml.tokens", meta_str_array(tokens));
    m.set("tokenizer.ggml.token_type", meta_i32_array(types));
    m.set("tokenizer.ggml.merges", meta_str_array(merges));
    if (auto id = loaded.bos_id())
      m.set("tokenizer.ggml.bos_token_id", meta_u32(static_cast<std::uint32_t>(*id)));
    if (auto id = loaded.eos_id())
      m.set("tokenizer.ggml.eos_token_id", meta_u32(static_cast<std::uint32_t>(*id)));
    if (auto id = loaded.pad_id())
      m.set("tokenizer.ggml.padding_token_id", meta_u32(static_cast<std::uint32_t>(*id)));
    m.set("tokenizer.ggml.add_bos_token", meta_bool(loaded.add_bos_default()));
    m.set("tokenizer.ggml.add_eos_token", meta_bool(loaded.add_eos_default()));
    if (!loaded.chat_template().empty())
      m.set("tokenizer.chat_template", meta_str(loaded.chat_template()));
  } catch (const json::exception& e) {
    return Error("{}: malformed: {}", tok_path.string(), e.what());
  }
  return {};
}

}  // namespace whale
