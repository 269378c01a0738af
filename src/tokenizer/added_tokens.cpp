// added_tokens.cpp — leftmost-longest matching with the lstrip/rstrip/single_word flags.
#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "tokenizer/utf8.h"

namespace whale {
namespace {

bool is_unicode_space(char32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

bool is_word_byte(unsigned char c) {
  // Bytes >= 0x80 belong to non-ASCII letters in practice; treat them as word characters.
  return c == '_' || c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z');
}

// Start of the whitespace run that ends at `pos`.
std::size_t skip_space_left(std::string_view s, std::size_t pos, std::size_t floor) {
  while (pos > floor) {
    std::size_t b = pos - 1;
    while (b > floor && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
    const std::size_t n = utf8_valid_len(s, b);
    if (n == 0 || b + n != pos || !is_unicode_space(utf8_decode_at(s, b, n))) break;
    pos = b;
  }
  return pos;
}

std::size_t skip_space_right(std::string_view s, std::size_t pos) {
  while (pos < s.size()) {
    const std::size_t n = utf8_valid_len(s, pos);
    if (n == 0 || !is_unicode_space(utf8_decode_at(s, pos, n))) break;
    pos += n;
  }
  return pos;
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i].content.empty()) continue;
    by_first_byte_[static_cast<unsigned char>(tokens_[i].content[0])].push_back(i);
  }
  for (auto& list : by_first_byte_)
    std::stable_sort(list.begin(), list.end(), [&](std::size_t a, std::size_t b) {
      return tokens_[a].content.size() > tokens_[b].content.size();
    });
}

void AddedTokenMatcher::split(std::string_view text, bool parse_special,
                              std::vector<TextSegment>& out) const {
  std::size_t emitted = 0;  // text before this has been appended
  std::size_t pos = 0;
  while (pos < text.size()) {
    const AddedToken* hit = nullptr;
    for (std::size_t idx : by_first_byte_[static_cast<unsigned char>(text[pos])]) {
      const AddedToken& t = tokens_[idx];
      if (text.compare(pos, t.content.size(), t.content) != 0) continue;
      hit = &t;  // the longest match at the leftmost position
      break;
    }
    if (hit == nullptr) {
      ++pos;
      continue;
    }
    std::size_t begin = pos, end = pos + hit->content.size();
    const bool skipped = !parse_special && hit->special;
    const bool inside_word =
        hit->single_word &&
        ((begin > 0 && is_word_byte(static_cast<unsigned char>(text[begin - 1]))) ||
         (end < text.size() && is_word_byte(static_cast<unsigned char>(text[end]))));
    if (skipped || inside_word) {
      pos = end;  // the match is consumed as plain text, as the reference's automaton does
      continue;
    }
    if (hit->lstrip) begin = skip_space_left(text, begin, emitted);
    if (hit->rstrip) end = skip_space_right(text, end);
    if (begin > emitted) out.push_back({-1, text.substr(emitted, begin - emitted)});
    out.push_back({hit->id, text.substr(begin, end - begin)});
    emitted = pos = end;
  }
  if (emitted < text.size()) out.push_back({-1, text.substr(emitted)});
}

}  // namespace whale
