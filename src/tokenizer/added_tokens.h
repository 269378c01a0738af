// added_tokens.h — added and special tokens matched whole in text before BPE runs.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace whale {

struct AddedToken {
  std::string content;
  std::int32_t id = -1;
  bool special = false;     // skipped in text when special-token parsing is off
  bool normalized = false;  // matched in the normalized text rather than the raw text
  bool lstrip = false;      // the match absorbs whitespace on its left
  bool rstrip = false;      // ... and on its right
  bool single_word = false; // matches only when not inside a word
};

// One piece of the input: either an added token or text for the normalizer and BPE.
struct TextSegment {
  std::int32_t token_id = -1;  // -1: text
  std::string_view text;
};

// Finds added tokens leftmost-longest, as Hugging Face's AddedVocabulary does. Immutable.
class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(std::vector<AddedToken> tokens);

  // Appends `text` split into token and text segments; with `parse_special` off, a match of a
  // token flagged special is left as text.
  void split(std::string_view text, bool parse_special, std::vector<TextSegment>& out) const;
  bool empty() const { return tokens_.empty(); }

 private:
  std::vector<AddedToken> tokens_;
  std::array<std::vector<std::size_t>, 256> by_first_byte_;  // longest first
};

}  // namespace whale
