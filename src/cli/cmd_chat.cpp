// cmd_chat.cpp — `whale chat`: an interactive multi-turn conversation with line editing and
// history (libedit), slash commands, and Ctrl-C that stops the current answer only.
#include <editline/readline.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/session.h"
#include "cli/terminal_output.h"
#include "util/text_file.h"

namespace whale::cli {
namespace {

// Set by SIGINT; polled between decoding steps. A signal handler may only touch a lock-free
// atomic, which is why this one flag is global.
std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted.store(true); }

struct ChatOptions {
  SessionOptions session;
  std::string system;
  bool hide_thinking = false;
};

const char* kHelp =
    "commands: /reset (forget the conversation)  /system TEXT (set the system message)\n"
    "          /save FILE  /load FILE (the conversation as JSON)  /exit (or Ctrl-D)\n"
    "Ctrl-C stops the answer being written.\n";

Result<std::vector<ChatMessage>> load_conversation(const std::string& path) {
  WHALE_TRY(std::string text, read_text_file(path));
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return Error("{}: not a JSON array of messages", path);
  std::vector<ChatMessage> out;
  for (const auto& m : j) {
    if (!m.is_object() || !m.contains("role") || !m.contains("content") || !m["role"].is_string() ||
        !m["content"].is_string())
      return Error("{}: every message needs string \"role\" and \"content\"", path);
    out.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  }
  return out;
}

int run_chat(const ChatOptions& o) {
  auto session = Session::open(o.session);
  if (!session.ok()) {
    fmt::print(stderr, "whale chat: error: {}\n", session.error().what());
    return 1;
  }
  std::signal(SIGINT, on_sigint);
  const bool tty = isatty(STDOUT_FILENO) != 0;
  std::vector<ChatMessage> history;
  std::string system = o.system;
  fmt::print("whale chat — {}. Type /help for commands.\n", o.session.model);
  for (;;) {
    g_interrupted = false;
    char* raw = readline(">>> ");
    if (raw == nullptr) {
      if (g_interrupted.exchange(false)) {  // Ctrl-C at the prompt: stay
        fmt::print("\n(use /exit or Ctrl-D to leave)\n");
        continue;
      }
      break;  // Ctrl-D
    }
    std::string line(raw);
    std::free(raw);
    if (line.empty()) continue;
    add_history(line.c_str());
    if (line == "/exit" || line == "/quit") break;
    if (line == "/help") {
      fmt::print("{}", kHelp);
      continue;
    }
    if (line == "/reset") {
      history.clear();
      fmt::print("(conversation cleared)\n");
      continue;
    }
    if (line.rfind("/system", 0) == 0) {
      system = line.size() > 8 ? line.substr(8) : "";
      fmt::print("(system message {})\n", system.empty() ? "cleared" : "set");
      continue;
    }
    if (line.rfind("/save ", 0) == 0) {
      nlohmann::json j = nlohmann::json::array();
      if (!system.empty()) j.push_back({{"role", "system"}, {"content", system}});
      for (const auto& m : history) j.push_back({{"role", m.role}, {"content", m.content}});
      auto r = write_text_file(line.substr(6), j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
      fmt::print("{}\n", r.ok() ? "(saved)" : r.error().what());
      continue;
    }
    if (line.rfind("/load ", 0) == 0) {
      auto loaded = load_conversation(line.substr(6));
      if (!loaded.ok()) {
        fmt::print("{}\n", loaded.error().what());
        continue;
      }
      history.clear();
      system.clear();
      for (auto& m : *loaded) {
        if (m.role == "system") system = m.content;
        else history.push_back(std::move(m));
      }
      fmt::print("(loaded {} messages)\n", history.size());
      continue;
    }
    if (line[0] == '/') {
      fmt::print("unknown command {}; {}", line, kHelp);
      continue;
    }
    history.push_back({"user", line});
    std::vector<ChatMessage> messages;
    if (!system.empty()) messages.push_back({"system", system});
    messages.insert(messages.end(), history.begin(), history.end());
    auto prompt = session->encode_chat(messages);
    if (!prompt.ok()) {
      fmt::print(stderr, "error: {}\n", prompt.error().what());
      history.pop_back();
      continue;
    }
    ReplyPrinter printer(tty, !o.hide_thinking, true);
    GenerationCallbacks cb;
    cb.on_thinking = [&](std::string_view s) { printer.thinking(s); };
    cb.on_answer = [&](std::string_view s) { printer.answer(s); };
    cb.cancelled = [] { return g_interrupted.load(); };
    auto r = session->generate(*prompt, cb);
    printer.end();
    if (!r.ok()) {
      fmt::print(stderr, "\nerror: {}\n", r.error().what());
      history.pop_back();
      continue;
    }
    if (r->finish == FinishReason::kCancelled) fmt::print(" [stopped]");
    fmt::print("\n");
    // Keep the think section in the history: the model's own template decides whether earlier
    // turns' reasoning is shown to it again (R1's drops it).
    std::string content = r->thinking.empty() ? r->answer : "<think>" + r->thinking + "</think>" + r->answer;
    history.push_back({"assistant", content});
  }
  fmt::print("\n");
  return 0;
}

}  // namespace

void add_chat_command(CLI::App& app) {
  auto o = std::make_shared<ChatOptions>();
  CLI::App* sub = app.add_subcommand(
      "chat", "Talk with a model turn by turn. Line editing and history; /help lists the "
              "commands (/reset, /system, /save, /load); Ctrl-C stops the current answer.");
  add_session_options(*sub, o->session);
  sub->add_option("--system", o->system, "a system message for the conversation");
  sub->add_flag("--hide-thinking", o->hide_thinking, "do not print the model's thinking");
  set_command_body(sub, [o] { return run_chat(*o); });
}

}  // namespace whale::cli
