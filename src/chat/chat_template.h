// chat_template.h — renders a conversation with a model's own chat template (Jinja subset).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/status.h"

namespace whale {

struct ChatRenderOptions {
  bool add_generation_prompt = false;
  std::string bos_token;
  std::string eos_token;
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();  // more top-level variables
};

// `messages` is a JSON array of {"role", "content", ...} as the OpenAI API takes them.
// A template using a construct the interpreter lacks is an error naming it.
Result<std::string> render_chat(std::string_view chat_template, const nlohmann::ordered_json& messages,
                                const ChatRenderOptions& options);

}  // namespace whale
