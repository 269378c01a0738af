// main.cpp — the `whale` command line: parses the subcommand and runs it.
#include <cstdio>
#include <map>

#include "cli/commands.h"

namespace whale::cli {
namespace {
std::map<const CLI::App*, CommandBody>& bodies() {
  static std::map<const CLI::App*, CommandBody> b;
  return b;
}
}  // namespace

void set_command_body(CLI::App* sub, CommandBody body) { bodies()[sub] = std::move(body); }
CommandBody command_body(const CLI::App* sub) {
  auto it = bodies().find(sub);
  return it == bodies().end() ? CommandBody{} : it->second;
}

}  // namespace whale::cli

int main(int argc, char** argv) {
  CLI::App app{
      "whale — run DeepSeek-R1-family models (DeepSeek-V3/R1, V2, R1 distills) on your CPU.\n"
      "MODEL is a GGUF file (split files: name the first part) or a Hugging Face folder\n"
      "(config.json + *.safetensors)."};
  app.set_version_flag("--version", "whale 0.1.0");
  app.require_subcommand(1);
  whale::cli::add_info_command(app);
  whale::cli::add_logits_command(app);
  whale::cli::add_run_command(app);
  whale::cli::add_chat_command(app);
  whale::cli::add_perplexity_command(app);
  whale::cli::add_bench_command(app);
  whale::cli::add_tokenize_command(app);
  whale::cli::add_chat_render_command(app);
  whale::cli::add_quantize_command(app);
  whale::cli::add_convert_command(app);
  whale::cli::add_serve_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (const CLI::App* sub : app.get_subcommands()) {
    if (auto body = whale::cli::command_body(sub)) return body();
  }
  std::fprintf(stderr, "whale: no command given (see whale --help)\n");
  return 2;
}
