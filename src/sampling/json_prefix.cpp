// json_prefix.cpp — the byte-at-a-time JSON object prefix automaton.
#include "sampling/json_prefix.h"

namespace whale {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

bool JsonPrefix::accepts(std::string_view bytes) const {
  JsonPrefix copy = *this;
  return copy.push(bytes);
}

bool JsonPrefix::push(std::string_view bytes) {
  for (char c : bytes)
    if (!step(c)) return false;
  return true;
}

bool JsonPrefix::end_value() {
  mode_ = stack_.empty() ? Mode::kDone : Mode::kAfterValue;
  return true;
}

bool JsonPrefix::begin_value(char c) {
  switch (c) {
    case '{':
      stack_.push_back('{');
      mode_ = Mode::kKeyOrEnd;
      return true;
    case '[':
      stack_.push_back('[');
      mode_ = Mode::kValueOrEnd;
      return true;
    case '"':
      string_is_key_ = false;
      mode_ = Mode::kString;
      return true;
    case 't': literal_rest_ = "rue"; mode_ = Mode::kLiteral; return true;
    case 'f': literal_rest_ = "alse"; mode_ = Mode::kLiteral; return true;
    case 'n': literal_rest_ = "ull"; mode_ = Mode::kLiteral; return true;
    case '-': num_ = Num::kMinus; mode_ = Mode::kNumber; return true;
    case '0': num_ = Num::kZero; mode_ = Mode::kNumber; return true;
    default:
      if (c >= '1' && c <= '9') {
        num_ = Num::kInt;
        mode_ = Mode::kNumber;
        return true;
      }
      return false;
  }
}

bool JsonPrefix::step(char c) {
  switch (mode_) {
    case Mode::kTop:
      if (is_ws(c)) return true;
      if (c != '{') return false;  // the answer must be an object
      stack_.push_back('{');
      mode_ = Mode::kKeyOrEnd;
      return true;
    case Mode::kKeyOrEnd:
    case Mode::kKey:
      if (is_ws(c)) return true;
      if (c == '"') {
        string_is_key_ = true;
        mode_ = Mode::kString;
        return true;
      }
      if (c == '}' && mode_ == Mode::kKeyOrEnd) {
        stack_.pop_back();
        return end_value();
      }
      return false;
    case Mode::kColon:
      if (is_ws(c)) return true;
      if (c != ':') return false;
      mode_ = Mode::kValue;
      return true;
    case Mode::kValue:
      if (is_ws(c)) return true;
      return begin_value(c);
    case Mode::kValueOrEnd:
      if (is_ws(c)) return true;
      if (c == ']') {
        stack_.pop_back();
        return end_value();
      }
      return begin_value(c);
    case Mode::kAfterValue:
      if (is_ws(c)) return true;
      if (c == ',') {
        mode_ = stack_.back() == '{' ? Mode::kKey : Mode::kValue;
        return true;
      }
      if ((c == '}' && stack_.back() == '{') || (c == ']' && stack_.back() == '[')) {
        stack_.pop_back();
        return end_value();
      }
      return false;
    case Mode::kString:
      if (c == '"') {
        if (string_is_key_) {
          mode_ = Mode::kColon;
          return true;
        }
        return end_value();
      }
      if (c == '\\') {
        mode_ = Mode::kEscape;
        return true;
      }
      return static_cast<unsigned char>(c) >= 0x20;
    case Mode::kEscape:
      if (c == 'u') {
        unicode_left_ = 4;
        mode_ = Mode::kUnicode;
        return true;
      }
      if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
        mode_ = Mode::kString;
        return true;
      }
      return false;
    case Mode::kUnicode:
      if (!is_hex(c)) return false;
      if (--unicode_left_ == 0) mode_ = Mode::kString;
      return true;
    case Mode::kLiteral:
      if (literal_rest_.empty() || c != literal_rest_.front()) return false;
      literal_rest_.remove_prefix(1);
      if (literal_rest_.empty()) return end_value();
      return true;
    case Mode::kNumber:
      switch (num_) {
        case Num::kMinus:
          if (c == '0') { num_ = Num::kZero; return true; }
          if (c >= '1' && c <= '9') { num_ = Num::kInt; return true; }
          return false;
        case Num::kZero:
        case Num::kInt:
          if (is_digit(c) && num_ == Num::kInt) return true;
          if (c == '.') { num_ = Num::kDot; return true; }
          if (c == 'e' || c == 'E') { num_ = Num::kExp; return true; }
          break;  // the number may end here
        case Num::kDot:
          if (is_digit(c)) { num_ = Num::kFrac; return true; }
          return false;
        case Num::kFrac:
          if (is_digit(c)) return true;
          if (c == 'e' || c == 'E') { num_ = Num::kExp; return true; }
          break;
        case Num::kExp:
          if (c == '+' || c == '-') { num_ = Num::kExpSign; return true; }
          if (is_digit(c)) { num_ = Num::kExpDigits; return true; }
          return false;
        case Num::kExpSign:
          if (is_digit(c)) { num_ = Num::kExpDigits; return true; }
          return false;
        case Num::kExpDigits:
          if (is_digit(c)) return true;
          break;
      }
      // A complete number ended (numbers only occur inside containers); `c` follows it.
      end_value();
      return step(c);
    case Mode::kDone:
      return false;  // nothing after the object: the answer ends there
  }
  return false;
}

}  // namespace whale
