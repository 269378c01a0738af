// cmd_chat_render.cpp — `whale chat-render`: a conversation rendered with the model's chat
// template, printed exactly (nothing added), so templates can be checked from outside.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "cli/commands.h"
#include "tokenizer/tokenizer.h"
#include "util/text_file.h"

namespace whale::cli {
namespace {

struct ChatRenderCliOptions {
  std::string model;
  std::string messages;
  std::string chat_template;
  bool add_generation_prompt = false;
};

Result<std::string> render(const ChatRenderCliOptions& o) {
  WHALE_TRY(Tokenizer tok, load_tokenizer(o.model));
  std::string source = tok.chat_template();
  if (!o.chat_template.empty()) {
    WHALE_TRY(source, read_text_file(o.chat_template));
  }
  if (source.empty())
    return Error("{} has no chat template; give one with --chat-template FILE", o.model);
  WHALE_TRY(std::string text, read_text_file(o.messages));
  const auto messages = nlohmann::ordered_json::parse(text, nullptr, false);
  if (messages.is_discarded() || !messages.is_array())
    return Error("{} is not a JSON array of messages", o.messages);
  ChatRenderOptions ro;
  ro.add_generation_prompt = o.add_generation_prompt;
  ro.bos_token = tok.bos_token();
  ro.eos_token = tok.eos_token();
  return render_chat(source, messages, ro);
}

}  // namespace

void add_chat_render_command(CLI::App& app) {
  auto opts = std::make_shared<ChatRenderCliOptions>();
  CLI::App* sub = app.add_subcommand(
      "chat-render", "Print a conversation rendered with the model's chat template, exactly.");
  sub->add_option("-m,--model", opts->model, "GGUF file, Hugging Face folder, or tokenizer folder")
      ->required();
  sub->add_option("--messages", opts->messages,
                  "JSON file: an array of {\"role\", \"content\"} messages (OpenAI style)")->required();
  sub->add_flag("--add-generation-prompt", opts->add_generation_prompt,
                "end with the prompt that starts the assistant's turn");
  sub->add_option("--chat-template", opts->chat_template, "Jinja file that overrides the model's template");
  set_command_body(sub, [opts] {
    auto out = render(*opts);
    if (!out.ok()) {
      fmt::print(stderr, "whale chat-render: error: {}\n", out.error().what());
      return 1;
    }
    std::fwrite(out->data(), 1, out->size(), stdout);
    return 0;
  });
}

}  // namespace whale::cli
