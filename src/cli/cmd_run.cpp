// cmd_run.cpp — `whale run`: one prompt in, the model's thinking and answer streamed out.
#include <fmt/format.h>
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/session.h"
#include "cli/terminal_output.h"
#include "util/text_file.h"

namespace whale::cli {
namespace {

struct RunOptions {
  SessionOptions session;
  std::string prompt;
  std::string prompt_file;
  std::string system;
  bool raw = false;
  bool hide_thinking = false;
  bool thinking_only = false;
  bool json = false;
};

int run_run(const RunOptions& o) {
  auto fail = [](const Error& e) {
    fmt::print(stderr, "whale run: error: {}\n", e.what());
    return 1;
  };
  std::string text = o.prompt;
  if (!o.prompt_file.empty()) {
    auto t = read_text_file(o.prompt_file);
    if (!t.ok()) return fail(t.error());
    text = *t;
  } else if (text.empty()) {
    if (isatty(STDIN_FILENO)) return fail(Error("no prompt: give -p TEXT, -f FILE, or pipe text on stdin"));
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  auto session = Session::open(o.session);
  if (!session.ok()) return fail(session.error());
  std::vector<ChatMessage> messages;
  if (!o.system.empty()) messages.push_back({"system", o.system});
  messages.push_back({"user", text});
  auto prompt = o.raw ? session->encode_raw(text) : session->encode_chat(messages);
  if (!prompt.ok()) return fail(prompt.error());

  const bool tty = isatty(STDOUT_FILENO) != 0;
  const bool show_thinking = !o.hide_thinking && !o.json;
  const bool show_answer = !o.thinking_only && !o.json;
  ReplyPrinter printer(tty, show_thinking, show_answer);
  GenerationCallbacks cb;
  cb.on_thinking = [&](std::string_view s) { printer.thinking(s); };
  cb.on_answer = [&](std::string_view s) { printer.answer(s); };
  auto result = session->generate(*prompt, cb);
  printer.end();
  if (!result.ok()) return fail(result.error());
  const GenerationResult& r = *result;
  if (o.json) {
    nlohmann::json j;
    j["thinking"] = r.thinking;
    j["answer"] = r.answer;
    j["finish_reason"] = std::string(finish_reason_name(r.finish));
    j["seed"] = session->sampling().seed;
    j["usage"] = {{"prompt_tokens", r.n_prompt}, {"completion_tokens", r.n_generated},
                  {"reasoning_tokens", r.n_thinking_tokens}};
    j["timings"] = {{"prompt_seconds", r.prompt_seconds}, {"generate_seconds", r.generate_seconds},
                    {"first_token_seconds", r.first_token_seconds},
                    {"prompt_tokens_per_second", r.prompt_seconds > 0 ? r.n_prompt / r.prompt_seconds : 0.0},
                    {"generate_tokens_per_second",
                     r.generate_seconds > 0 && r.n_generated > 1 ? (r.n_generated - 1) / r.generate_seconds : 0.0}};
    fmt::print("{}\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    return 0;
  }
  fmt::print("\n");
  std::fflush(stdout);  // the statistics go to stderr: keep them after the answer when piped
  print_stats(r);
  return 0;
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* sub = app.add_subcommand(
      "run", "Answer one prompt: the chat template is applied, the model's thinking is shown "
             "dimmed (R1 models) and its answer streamed, then one line of statistics.\n"
             "Example: whale run -m DeepSeek-R1-Distill-Qwen-1.5B-Q8_0.gguf -p \"What is 17 * 23?\"");
  add_session_options(*sub, o->session);
  sub->add_option("-p,--prompt", o->prompt, "the prompt (or -f FILE, or text on stdin)");
  sub->add_option("-f,--file", o->prompt_file, "read the prompt from a file");
  sub->add_option("--system", o->system, "a system message before the prompt");
  sub->add_flag("--raw", o->raw, "feed the prompt as is, without the chat template");
  sub->add_flag("--hide-thinking", o->hide_thinking, "print only the answer");
  sub->add_flag("--thinking-only", o->thinking_only, "print only the thinking");
  sub->add_flag("--json", o->json, "print one JSON object: thinking, answer, usage, timings");
  set_command_body(sub, [o] { return run_run(*o); });
}

}  // namespace whale::cli
