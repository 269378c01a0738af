// commands.h — each subcommand registers itself on the CLI11 app; main() only dispatches.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace whale::cli {

// A subcommand's body: returns the process exit code. Errors are printed by the command.
using CommandBody = std::function<int()>;

// Registered commands store their body here; main() runs the one CLI11 selected.
void set_command_body(CLI::App* sub, CommandBody body);
CommandBody command_body(const CLI::App* sub);

void add_info_command(CLI::App& app);
void add_logits_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_chat_command(CLI::App& app);
void add_perplexity_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_chat_render_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_serve_command(CLI::App& app);

}  // namespace whale::cli
