// cmd_tokenize.cpp — `whale tokenize`: text -> ids (or back) with a model's own tokenizer; the
// interface tokenization is checked through from outside, so its output format is stable.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tokenizer/tokenizer.h"

namespace whale::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  std::string text;
  std::string jsonl;
  bool has_text = false;
  bool no_bos = false;
  bool no_special = false;
  bool decode = false;
};

Result<std::string> ids_line(const Tokenizer& tok, const std::string& text, const TokenizeOptions& o) {
  EncodeOptions eo;
  if (o.no_bos) eo.add_bos = false;
  eo.parse_special = !o.no_special;
  WHALE_TRY(auto ids, tok.encode(text, eo));
  return nlohmann::json(ids).dump();
}

Result<std::string> decode_ids(const Tokenizer& tok, const nlohmann::json& ids) {
  if (!ids.is_array()) return Error("ids must be a JSON array of integers");
  std::vector<std::int32_t> v;
  for (const auto& x : ids) {
    if (!x.is_number_integer()) return Error("ids must be a JSON array of integers");
    v.push_back(x.get<std::int32_t>());
  }
  return tok.decode(v);
}

Result<void> run_jsonl(const Tokenizer& tok, const TokenizeOptions& o) {
  std::ifstream in_file;
  std::istream* in = &std::cin;
  if (o.jsonl != "-") {
    in_file.open(o.jsonl, std::ios::binary);
    if (!in_file) return Error("cannot open {}", o.jsonl);
    in = &in_file;
  }
  std::string line;
  for (std::size_t n = 1; std::getline(*in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Error("{}:{}: not a JSON object", o.jsonl, n);
    nlohmann::json out;
    if (o.decode) {
      if (!j.contains("ids")) return Error("{}:{}: no \"ids\" field", o.jsonl, n);
      auto text = decode_ids(tok, j["ids"]);
      if (!text.ok()) return std::move(text).error().context("{}:{}", o.jsonl, n);
      out["text"] = *text;
    } else {
      if (!j.contains("text") || !j["text"].is_string()) return Error("{}:{}: no \"text\" string", o.jsonl, n);
      EncodeOptions eo;
      if (o.no_bos) eo.add_bos = false;
      eo.parse_special = !o.no_special;
      auto ids = tok.encode(j["text"].get<std::string>(), eo);
      if (!ids.ok()) return std::move(ids).error().context("{}:{}", o.jsonl, n);
      out["ids"] = *ids;
    }
    fmt::print("{}\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  return {};
}

int run_tokenize(const TokenizeOptions& o) {
  auto fail = [](const Error& e) {
    fmt::print(stderr, "whale tokenize: error: {}\n", e.what());
    return 1;
  };
  if (o.has_text == !o.jsonl.empty()) {
    fmt::print(stderr, "whale tokenize: give exactly one of --text and --jsonl\n");
    return 2;
  }
  auto tok = load_tokenizer(o.model);
  if (!tok.ok()) return fail(tok.error());
  if (!o.jsonl.empty()) {
    auto r = run_jsonl(*tok, o);
    return r.ok() ? 0 : fail(r.error());
  }
  if (o.decode) {
    const auto ids = nlohmann::json::parse(o.text, nullptr, false);
    auto text = decode_ids(*tok, ids);
    if (!text.ok()) return fail(text.error());
    std::fwrite(text->data(), 1, text->size(), stdout);
    return 0;
  }
  auto line = ids_line(*tok, o.text, o);
  if (!line.ok()) return fail(line.error());
  fmt::print("{}\n", *line);
  return 0;
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto opts = std::make_shared<TokenizeOptions>();
  CLI::App* sub = app.add_subcommand(
      "tokenize", "Print the token ids of a text as a JSON array (or, with --decode, the text of "
                  "a JSON array of ids), using the model's own tokenizer.");
  sub->add_option("-m,--model", opts->model,
                  "GGUF file (also vocab-only), Hugging Face model folder, or a folder with "
                  "tokenizer.json and tokenizer_config.json")->required();
  sub->add_option("--text", opts->text, "the text (with --decode: a JSON array of ids)")
      ->each([opts](const std::string&) { opts->has_text = true; });
  sub->add_option("--jsonl", opts->jsonl,
                  "read lines {\"text\": ...} (with --decode: {\"ids\": [...]}) from this file "
                  "('-' for stdin) and write one {\"ids\": [...]} ({\"text\": ...}) line each");
  sub->add_flag("--no-bos", opts->no_bos, "never add BOS (default: as the model's configuration says)");
  sub->add_flag("--no-special", opts->no_special,
                "encode tokens flagged special as plain text (Hugging Face split_special_tokens)");
  sub->add_flag("--decode", opts->decode, "ids to text instead");
  set_command_body(sub, [opts] { return run_tokenize(*opts); });
}

}  // namespace whale::cli
