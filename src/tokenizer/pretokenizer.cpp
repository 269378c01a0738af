// pretokenizer.cpp — applies Split / ByteLevel / Digits steps as Hugging Face `tokenizers` does.
#include "tokenizer/pretokenizer.h"

#include <nlohmann/json.hpp>

namespace whale {

const char* const kGpt2Pattern =
    R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)re";

namespace {

// The patterns of the tokenizer.json files these GGUF pre-tokenizer names stand for.
constexpr const char* kDeepSeekV3Digits = R"re(\p{N}{1,3})re";
constexpr const char* kDeepSeekV3Cjk = R"re([\x{4e00}-\x{9fa5}\x{3040}-\x{309f}\x{30a0}-\x{30ff}]+)re";
constexpr const char* kDeepSeekV3Main =
    R"re([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
constexpr const char* kQwen2Pattern =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
constexpr const char* kLlama3Pattern =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

nlohmann::json split_json(const char* pattern) {
  return {{"type", "Split"}, {"pattern", {{"Regex", pattern}}}, {"behavior", "Isolated"},
          {"invert", false}};
}
nlohmann::json byte_level_json() {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}};
}

Result<SplitBehavior> parse_behavior(const std::string& s) {
  if (s == "Isolated") return SplitBehavior::kIsolated;
  if (s == "Removed") return SplitBehavior::kRemoved;
  if (s == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (s == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (s == "Contiguous") return SplitBehavior::kContiguous;
  return Error("unsupported Split behavior '{}'", s);
}

// Splits one piece at `ranges` (the regex matches) following `behavior`.
void split_piece(std::string_view piece, const std::vector<ByteRange>& ranges, bool invert,
                 SplitBehavior behavior, std::vector<std::string>& out) {
  struct Seg {
    std::size_t b, e;
    bool is_match;
  };
  std::vector<Seg> segs;
  std::size_t pos = 0;
  for (const ByteRange& r : ranges) {
    if (r.begin > pos) segs.push_back({pos, r.begin, invert});
    segs.push_back({r.begin, r.end, !invert});
    pos = r.end;
  }
  if (pos < piece.size()) segs.push_back({pos, piece.size(), invert});

  std::vector<std::pair<std::size_t, std::size_t>> parts;
  bool pending_next = false;  // kMergedWithNext: the last part waits for the next segment
  bool last_was_match = false;
  for (const Seg& s : segs) {
    switch (behavior) {
      case SplitBehavior::kIsolated:
        parts.push_back({s.b, s.e});
        break;
      case SplitBehavior::kRemoved:
        if (!s.is_match) parts.push_back({s.b, s.e});
        break;
      case SplitBehavior::kMergedWithPrevious:
        if (s.is_match && !parts.empty()) parts.back().second = s.e;
        else parts.push_back({s.b, s.e});
        break;
      case SplitBehavior::kMergedWithNext:
        if (pending_next) parts.back().second = s.e;
        else parts.push_back({s.b, s.e});
        pending_next = s.is_match;
        break;
      case SplitBehavior::kContiguous:
        if (s.is_match && last_was_match && !parts.empty()) parts.back().second = s.e;
        else parts.push_back({s.b, s.e});
        break;
    }
    last_was_match = s.is_match;
  }
  for (auto [b, e] : parts)
    if (e > b) out.emplace_back(piece.substr(b, e - b));
}

}  // namespace

Result<void> PreTokenizer::add_json_step(const nlohmann::json& j) {
  const std::string type = j.value("type", "");
  if (type == "Sequence") {
    for (const auto& child : j.at("pretokenizers")) WHALE_TRY_VOID(add_json_step(child));
    return {};
  }
  PreTokenizeStep step;
  if (type == "Split") {
    step.kind = PreTokenizeStep::Kind::kSplit;
    const auto& pat = j.at("pattern");
    std::string regex;
    if (pat.contains("Regex")) {
      regex = pat.at("Regex").get<std::string>();
    } else {
      // A literal string pattern: quote it so PCRE2 matches it verbatim.
      regex = "\\Q" + pat.at("String").get<std::string>() + "\\E";
    }
    WHALE_TRY(step.regex, Regex::compile(regex));
    WHALE_TRY(step.behavior, parse_behavior(j.value("behavior", "Isolated")));
    step.invert = j.value("invert", false);
  } else if (type == "ByteLevel") {
    step.kind = PreTokenizeStep::Kind::kByteLevel;
    step.use_regex = j.value("use_regex", true);
    step.add_prefix_space = j.value("add_prefix_space", false);
    if (step.use_regex) {
      WHALE_TRY(step.regex, Regex::compile(kGpt2Pattern));
    }
  } else if (type == "Digits") {
    step.kind = PreTokenizeStep::Kind::kDigits;
    step.individual_digits = j.value("individual_digits", false);
    WHALE_TRY(step.regex, Regex::compile(step.individual_digits ? "\\p{N}" : "\\p{N}+"));
  } else {
    return Error("unsupported pre_tokenizer type '{}'", type);
  }
  steps_.push_back(std::move(step));
  return {};
}

Result<PreTokenizer> PreTokenizer::from_json(const nlohmann::json& j) {
  PreTokenizer p;
  if (j.is_null()) return p;
  try {
    WHALE_TRY_VOID(p.add_json_step(j));
  } catch (const nlohmann::json::exception& e) {
    return Error("malformed pre_tokenizer: {}", e.what());
  }
  return p;
}

Result<PreTokenizer> PreTokenizer::from_gguf_name(std::string_view name) {
  nlohmann::json seq = {{"type", "Sequence"}, {"pretokenizers", nlohmann::json::array()}};
  auto& steps = seq["pretokenizers"];
  if (name == "deepseek-v3") {
    steps.push_back(split_json(kDeepSeekV3Digits));
    steps.push_back(split_json(kDeepSeekV3Cjk));
    steps.push_back(split_json(kDeepSeekV3Main));
  } else if (name == "qwen2" || name == "deepseek-r1-qwen") {
    steps.push_back(split_json(kQwen2Pattern));
  } else if (name == "llama-bpe" || name == "llama3" || name == "smaug-bpe") {
    steps.push_back(split_json(kLlama3Pattern));
  } else if (name == "gpt-2" || name == "default") {
    steps.push_back({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}});
    return from_json(seq);
  } else {
    return Error("unsupported tokenizer.ggml.pre '{}' (known: deepseek-v3, qwen2, "
                 "deepseek-r1-qwen, llama-bpe, gpt-2)", name);
  }
  steps.push_back(byte_level_json());
  return from_json(seq);
}

std::vector<std::string> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string> pieces;
  if (text.empty()) return pieces;
  pieces.emplace_back(text);
  std::vector<std::string> next;
  for (const PreTokenizeStep& step : steps_) {
    if (step.kind == PreTokenizeStep::Kind::kByteLevel && !step.use_regex && !step.add_prefix_space)
      continue;  // only the byte mapping, which the model applies
    next.clear();
    next.reserve(pieces.size());
    for (std::string& piece : pieces) {
      if (step.kind == PreTokenizeStep::Kind::kByteLevel) {
        if (step.add_prefix_space && piece.front() != ' ') piece.insert(piece.begin(), ' ');
        if (!step.use_regex) {
          next.push_back(std::move(piece));
          continue;
        }
        split_piece(piece, step.regex.find_all(piece), false, SplitBehavior::kIsolated, next);
      } else if (step.kind == PreTokenizeStep::Kind::kDigits) {
        split_piece(piece, step.regex.find_all(piece), false, SplitBehavior::kIsolated, next);
      } else {
        split_piece(piece, step.regex.find_all(piece), step.invert, step.behavior, next);
      }
    }
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace whale
