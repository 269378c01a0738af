// lexer.cpp — template text/tag splitting and tag tokenizing.
#include "chat/lexer.h"

#include <cctype>

namespace whale::jinja {
namespace {

int line_of(std::string_view src, std::size_t pos) {
  int line = 1;
  for (std::size_t k = 0; k < pos && k < src.size(); ++k) line += src[k] == '\n';
  return line;
}

// Index of the closing delimiter, skipping over quoted strings.
std::size_t find_close(std::string_view src, std::size_t from, std::string_view close) {
  char quote = 0;
  for (std::size_t k = from; k + close.size() <= src.size(); ++k) {
    const char c = src[k];
    if (quote) {
      if (c == '\\') ++k;
      else if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (src.compare(k, close.size(), close) == 0) {
      return k;
    }
  }
  return std::string_view::npos;
}

}  // namespace

Result<std::vector<Segment>> split_segments(std::string_view src) {
  std::vector<Segment> out;
  std::size_t pos = 0;
  bool strip_next = false, trim_newline = false;
  while (pos <= src.size()) {
    std::size_t open = std::string_view::npos;
    for (std::size_t k = src.find('{', pos); k != std::string_view::npos; k = src.find('{', k + 1)) {
      if (k + 1 < src.size() && (src[k + 1] == '{' || src[k + 1] == '%' || src[k + 1] == '#')) {
        open = k;
        break;
      }
    }
    std::string text(src.substr(pos, open == std::string_view::npos ? std::string_view::npos : open - pos));
    if (strip_next) {
      text.erase(0, text.find_first_not_of(" \t\r\n"));
      if (text.find_first_not_of(" \t\r\n") == std::string::npos) text.clear();
    } else if (trim_newline && !text.empty() && text[0] == '\n') {
      text.erase(0, 1);
    }
    if (open == std::string_view::npos) {
      if (!text.empty()) out.push_back({Segment::Kind::kText, text, 0});
      break;
    }
    const char type = src[open + 1];
    const bool minus_open = open + 2 < src.size() && src[open + 2] == '-';
    if (minus_open) {
      const std::size_t last = text.find_last_not_of(" \t\r\n");
      text.erase(last == std::string::npos ? 0 : last + 1);
    } else if (type != '{') {
      // lstrip_blocks: blanks between the start of a line and a block tag are removed
      // (judged on the raw source, as Jinja's lexer does, before trim_blocks).
      const std::size_t nl = src.rfind('\n', open == 0 ? 0 : open - 1);
      const std::size_t line_start = (nl == std::string_view::npos || open == 0) ? 0 : nl + 1;
      const std::size_t blanks = open - line_start;
      if (line_start >= pos && blanks <= text.size() &&
          src.substr(line_start, blanks).find_first_not_of(" \t") == std::string_view::npos)
        text.erase(text.size() - blanks);
    }
    if (!text.empty()) out.push_back({Segment::Kind::kText, text, 0});
    const std::string_view close = type == '{' ? "}}" : type == '%' ? "%}" : "#}";
    const std::size_t body = open + 2 + (minus_open ? 1 : 0);
    const std::size_t end = type == '#' ? src.find(close, body) : find_close(src, body, close);
    if (end == std::string_view::npos)
      return Error("unclosed '{{{}' tag at line {}", type, line_of(src, open));
    const bool minus_close = end > body && src[end - 1] == '-';
    std::string inner(src.substr(body, end - body - (minus_close ? 1 : 0)));
    if (type != '#')
      out.push_back({type == '{' ? Segment::Kind::kExpr : Segment::Kind::kStmt, inner, line_of(src, open)});
    strip_next = minus_close;
    trim_newline = type != '{';  // trim_blocks
    pos = end + 2;
  }
  return out;
}

Result<std::vector<Tok>> lex(std::string_view s, int line) {
  std::vector<Tok> out;
  std::size_t k = 0;
  while (k < s.size()) {
    const char c = s[k];
    if (std::isspace(static_cast<unsigned char>(c))) { ++k; continue; }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t e = k;
      while (e < s.size() && (std::isalnum(static_cast<unsigned char>(s[e])) || s[e] == '_')) ++e;
      out.push_back({Tok::Kind::kName, std::string(s.substr(k, e - k))});
      k = e;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      std::size_t e = k;
      bool is_float = false;
      while (e < s.size() && (std::isdigit(static_cast<unsigned char>(s[e])) ||
                              (s[e] == '.' && !is_float && e + 1 < s.size() &&
                               std::isdigit(static_cast<unsigned char>(s[e + 1]))))) {
        is_float |= s[e] == '.';
        ++e;
      }
      out.push_back({is_float ? Tok::Kind::kFloat : Tok::Kind::kInt, std::string(s.substr(k, e - k))});
      k = e;
    } else if (c == '\'' || c == '"') {
      std::string str;
      std::size_t e = k + 1;
      for (; e < s.size() && s[e] != c; ++e) {
        if (s[e] != '\\' || e + 1 >= s.size()) { str += s[e]; continue; }
        const char n = s[++e];
        switch (n) {
          case 'n': str += '\n'; break;
          case 't': str += '\t'; break;
          case 'r': str += '\r'; break;
          default: str += n;  // \\ \' \" and anything else literally
        }
      }
      if (e >= s.size()) return Error("unterminated string at line {}", line);
      out.push_back({Tok::Kind::kString, std::move(str)});
      k = e + 1;
    } else {
      static constexpr std::string_view kOps[] = {"==", "!=", "<=", ">=", "//", "**", "<", ">", "+",
                                                  "-", "*", "/", "%", "~", "(", ")", "[", "]",
                                                  "{", "}", ",", ".", ":", "|", "="};
      bool found = false;
      for (std::string_view op : kOps)
        if (s.compare(k, op.size(), op) == 0) {
          out.push_back({Tok::Kind::kOp, std::string(op)});
          k += op.size();
          found = true;
          break;
        }
      if (!found) return Error("unexpected character '{}' at line {}", c, line);
    }
  }
  out.push_back({Tok::Kind::kEnd, ""});
  return out;
}

}  // namespace whale::jinja
