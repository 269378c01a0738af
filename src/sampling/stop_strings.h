// stop_strings.h — finds stop strings in streamed text across token boundaries, holding back
// only the tail that could still become a stop string, so a stop string is never printed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace whale {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  // Adds generated text. Returns the text that is now safe to show; sets stopped() when a stop
  // string appeared (the text before it is returned, the stop string and after are dropped).
  std::string push(std::string_view text);
  // At the end of generation: whatever was held back (no stop string can complete any more).
  std::string flush();
  bool stopped() const { return stopped_; }
  const std::string& matched() const { return matched_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
  std::string matched_;
};

}  // namespace whale
