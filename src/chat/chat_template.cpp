// chat_template.cpp — builds the template context (messages, bos/eos, generation flag).
#include "chat/chat_template.h"

#include "chat/ast.h"
#include "chat/eval.h"

namespace whale {

Result<std::string> render_chat(std::string_view chat_template, const nlohmann::ordered_json& messages,
                                const ChatRenderOptions& options) {
  if (!messages.is_array()) return Error("messages must be a JSON array");
  WHALE_TRY(jinja::StmtList program, jinja::parse_template(chat_template));
  jinja::Value ctx = jinja::Value::object();
  for (const auto& [k, v] : options.extra.items()) ctx.set(k, jinja::from_json(v));
  ctx.set("messages", jinja::from_json(messages));
  ctx.set("add_generation_prompt", jinja::Value::boolean(options.add_generation_prompt));
  ctx.set("bos_token", jinja::Value::string(options.bos_token));
  ctx.set("eos_token", jinja::Value::string(options.eos_token));
  return jinja::render(program, ctx).context("rendering chat template");
}

}  // namespace whale
