// text_stream.cpp — flushing the text path in order (UTF-8, then stops, then the splitter).
#include "runtime/text_stream.h"

namespace whale {

ReasoningChunk TokenTextStream::finish() {
  ReasoningChunk out = split_.push(stop_.push(utf8_.flush()));
  append(out, split_.push(stop_.flush()));
  append(out, split_.flush());
  return out;
}

void append(ReasoningChunk& a, const ReasoningChunk& b) {
  a.thinking += b.thinking;
  a.answer += b.answer;
}

}  // namespace whale
