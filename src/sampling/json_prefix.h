// json_prefix.h — an incremental check that a text is a prefix of exactly one JSON object
// (RFC 8259 grammar; leading whitespace allowed, nothing after the closing brace), for
// `response_format: json_object`: a token is allowed when appending its bytes keeps the answer
// such a prefix. Bytes >= 0x80 inside strings are taken as they come (the text stream replaces
// invalid UTF-8); control characters in strings are refused, as JSON requires.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace whale {

class JsonPrefix {
 public:
  // Whether text + `bytes` is still a prefix of one JSON object. Does not change this state.
  bool accepts(std::string_view bytes) const;
  // Appends bytes; returns false (and leaves the state unusable) when they break the prefix,
  // so test with accepts() first, or push into a copy.
  bool push(std::string_view bytes);
  // The top-level object has closed: the text is one complete JSON object.
  bool complete() const { return mode_ == Mode::kDone; }

 private:
  enum class Mode : std::uint8_t {
    kTop,          // before the top-level '{' (whitespace allowed)
    kKeyOrEnd,     // after '{': a key or '}'
    kKey,          // after ',' in an object: a key
    kColon,        // after a key
    kValue,        // after ':' or ',' in an array: any value
    kValueOrEnd,   // after '[': a value or ']'
    kAfterValue,   // ',' or the container's closing bracket
    kString,       // inside a string
    kEscape,       // after '\' in a string
    kUnicode,      // inside \uXXXX
    kNumber,       // inside a number (see num_)
    kLiteral,      // inside true / false / null
    kDone,         // the top-level object closed
  };
  // Number states: after '-', after a leading 0, in integer digits, after '.', in fraction
  // digits, after 'e', after the exponent sign, in exponent digits.
  enum class Num : std::uint8_t { kMinus, kZero, kInt, kDot, kFrac, kExp, kExpSign, kExpDigits };

  bool step(char c);
  bool begin_value(char c);
  bool end_value();  // a value finished: back to its container

  Mode mode_ = Mode::kTop;
  Num num_ = Num::kMinus;
  bool string_is_key_ = false;
  std::uint8_t unicode_left_ = 0;
  std::string_view literal_rest_;  // what is left of "true" / "false" / "null"
  std::vector<char> stack_;        // open containers: '{' or '['
};

}  // namespace whale
