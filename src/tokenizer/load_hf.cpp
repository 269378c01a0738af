// load_hf.cpp — a Tokenizer from Hugging Face tokenizer.json + tokenizer_config.json.
#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer_parts.h"
#include "util/text_file.h"

namespace whale {
namespace {

using nlohmann::json;

Result<std::pair<std::string, std::string>> parse_merge(const json& m, std::size_t rank) {
  if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
    return std::pair{m[0].get<std::string>(), m[1].get<std::string>()};
  if (m.is_string()) {
    const auto s = m.get<std::string>();
    const std::size_t sp = s.find(' ', 1);  // byte-level tokens hold no spaces
    if (sp != std::string::npos) return std::pair{s.substr(0, sp), s.substr(sp + 1)};
  }
  return Error("merge {} is neither \"a b\" nor [\"a\", \"b\"]", rank);
}

// bos/eos/pad in tokenizer_config.json: a string, {"content": ...}, or null.
std::string token_string(const json& cfg, const char* key) {
  if (!cfg.contains(key)) return {};
  const json& v = cfg.at(key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v.at("content").is_string())
    return v.at("content").get<std::string>();
  return {};
}

// True when the post-processor's single-sequence template starts with a special token.
bool template_adds_bos(const json& pp, std::string* bos_content) {
  if (!pp.is_object()) return false;
  const std::string type = pp.value("type", "");
  if (type == "Sequence" && pp.contains("processors")) {
    for (const json& child : pp.at("processors"))
      if (template_adds_bos(child, bos_content)) return true;
    return false;
  }
  if (type != "TemplateProcessing" || !pp.contains("single")) return false;
  const json& single = pp.at("single");
  if (!single.is_array() || single.empty() || !single[0].contains("SpecialToken")) return false;
  *bos_content = single[0]["SpecialToken"].value("id", "");
  return true;
}

std::string chat_template_of(const json& cfg) {
  if (!cfg.contains("chat_template")) return {};
  const json& t = cfg.at("chat_template");
  if (t.is_string()) return t.get<std::string>();
  if (t.is_array())  // [{"name": "default", "template": "..."}, ...]
    for (const json& entry : t)
      if (entry.value("name", "") == "default") return entry.value("template", "");
  return {};
}

Result<TokenizerParts> parts_from_json(const json& tok, const json& cfg) {
  TokenizerParts p;
  const json& model = tok.at("model");
  if (model.value("type", "BPE") != "BPE")
    return Error("tokenizer model type '{}' is not BPE", model.value("type", ""));
  if (model.value("byte_fallback", false)) return Error("BPE byte_fallback is not supported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(key) && model.at(key).is_string() && !model.at(key).get<std::string>().empty())
      return Error("BPE {} is not supported", key);
  p.ignore_merges = model.value("ignore_merges", false);

  std::size_t n = 0;
  for (const auto& [text, id] : model.at("vocab").items())
    n = std::max(n, static_cast<std::size_t>(id.get<std::int64_t>()) + 1);
  const json added = tok.value("added_tokens", json::array());
  for (const json& a : added) n = std::max(n, static_cast<std::size_t>(a.at("id").get<std::int64_t>()) + 1);
  if (n > (1u << 24)) return Error("vocabulary of {} tokens is implausibly large", n);
  p.tokens.resize(n);
  for (const auto& [text, id] : model.at("vocab").items())
    p.tokens[static_cast<std::size_t>(id.get<std::int64_t>())] = text;
  for (const json& a : added) {
    AddedToken t;
    t.content = a.at("content").get<std::string>();
    t.id = a.at("id").get<std::int32_t>();
    t.special = a.value("special", false);
    t.normalized = a.value("normalized", !t.special);
    t.lstrip = a.value("lstrip", false);
    t.rstrip = a.value("rstrip", false);
    t.single_word = a.value("single_word", false);
    p.tokens[static_cast<std::size_t>(t.id)] = t.content;
    p.added.push_back(std::move(t));
  }
  const json& merges = model.at("merges");
  p.merges.reserve(merges.size());
  for (std::size_t i = 0; i < merges.size(); ++i) {
    WHALE_TRY(auto m, parse_merge(merges[i], i));
    p.merges.push_back(std::move(m));
  }
  WHALE_TRY(p.normalizer, Normalizer::from_json(tok.value("normalizer", json())));
  WHALE_TRY(p.pre_tokenizer, PreTokenizer::from_json(tok.value("pre_tokenizer", json())));

  auto id_of = [&](const std::string& content) -> std::optional<std::int32_t> {
    if (content.empty()) return std::nullopt;
    for (const AddedToken& t : p.added)
      if (t.content == content) return t.id;
    for (std::size_t i = 0; i < p.tokens.size(); ++i)
      if (p.tokens[i] == content) return static_cast<std::int32_t>(i);
    return std::nullopt;
  };
  std::string template_bos;
  const bool post_adds_bos = template_adds_bos(tok.value("post_processor", json()), &template_bos);
  std::string bos = token_string(cfg, "bos_token");
  if (bos.empty()) bos = template_bos;
  p.bos_id = id_of(bos);
  p.eos_id = id_of(token_string(cfg, "eos_token"));
  p.pad_id = id_of(token_string(cfg, "pad_token"));
  // transformers: add_bos_token in the config wins (LlamaTokenizerFast rebuilds the
  // post-processor from it); otherwise tokenizer.json's post-processor decides.
  p.add_bos = cfg.contains("add_bos_token") && cfg.at("add_bos_token").is_boolean()
                  ? cfg.at("add_bos_token").get<bool>()
                  : post_adds_bos;
  p.add_eos = cfg.value("add_eos_token", false) == true;
  if (p.add_bos && !p.bos_id) p.add_bos = false;
  p.chat_template = chat_template_of(cfg);
  return p;
}

}  // namespace

Result<Tokenizer> Tokenizer::from_hf_json(std::string_view tokenizer_json,
                                          std::string_view tokenizer_config_json) {
  const json tok = json::parse(tokenizer_json, nullptr, false);
  if (tok.is_discarded() || !tok.is_object()) return Error("tokenizer.json is not a JSON object");
  json cfg = json::object();
  if (!tokenizer_config_json.empty()) {
    cfg = json::parse(tokenizer_config_json, nullptr, false);
    if (cfg.is_discarded() || !cfg.is_object())
      return Error("tokenizer_config.json is not a JSON object");
  }
  try {
    WHALE_TRY(TokenizerParts parts, parts_from_json(tok, cfg));
    return build_tokenizer(std::move(parts));
  } catch (const json::exception& e) {
    return Error("malformed tokenizer.json: {}", e.what());
  }
}

Result<Tokenizer> Tokenizer::from_hf_folder(const std::filesystem::path& dir) {
  WHALE_TRY(std::string tok, read_text_file(dir / "tokenizer.json"));
  std::string cfg;
  std::error_code ec;
  if (std::filesystem::exists(dir / "tokenizer_config.json", ec)) {
    WHALE_TRY(cfg, read_text_file(dir / "tokenizer_config.json"));
  }
  return from_hf_json(tok, cfg).context("loading tokenizer from {}", dir.string());
}

}  // namespace whale
