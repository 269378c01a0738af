// cmd_convert.cpp — `whale convert HF_FOLDER -o OUT.gguf --type T`: Hugging Face to GGUF.
#include <fmt/format.h>

#include "cli/commands.h"
#include "convert/convert_hf.h"

namespace whale::cli {
namespace {

struct ConvertArgs {
  std::string folder;
  std::string out;
  std::string type = "f16";
  std::string name;
  int threads = 0;
  bool pure = false;
  bool verbose = false;
};

int run_convert(const ConvertArgs& a) {
  auto target = parse_quant_target(a.type);
  if (!target.ok()) {
    fmt::print(stderr, "whale convert: error: --type: {}\n", target.error().what());
    return 1;
  }
  ConvertOptions o{*target, a.threads, a.pure, a.name};
  auto report = convert_hf_to_gguf(a.folder, a.out, o);
  if (!report.ok()) {
    fmt::print(stderr, "whale convert: error: {}\n", report.error().what());
    return 1;
  }
  for (const std::string& n : report->notices) fmt::print(stderr, "notice: {}\n", n);
  int fallbacks = 0;
  for (const TensorDecision& t : report->tensors) {
    if (t.to != t.wanted) ++fallbacks;
    if (a.verbose || t.to != t.wanted)
      fmt::print(stderr, "  {:<40} {:<7}{}\n", t.name, dtype_name(t.to),
                 t.to != t.wanted
                     ? fmt::format("  (row width {} does not fit {})", t.cols, dtype_name(t.wanted))
                     : "");
  }
  fmt::print(
      stderr, "{} tensors: {}{}\nwrote {} ({})\n", report->tensors.size(), summarize_types(*report),
      fallbacks ? fmt::format("; {} fell back to a type that fits their row width", fallbacks) : "",
      a.out, target->name);
  return 0;
}

}  // namespace

void add_convert_command(CLI::App& app) {
  auto a = std::make_shared<ConvertArgs>();
  CLI::App* sub = app.add_subcommand(
      "convert",
      "Convert a Hugging Face model folder (config.json + *.safetensors, single or sharded;\n"
      "F32/F16/BF16, or DeepSeek's FP8 release with weight_scale_inv) to one GGUF that\n"
      "llama.cpp loads: arch deepseek2 (DeepSeek-V2/V3/R1), qwen2 or llama, with the tokenizer\n"
      "(tokenizer.json, tokenizer_config.json's chat template). Tensors are converted one at a\n"
      "time, FP8 block by block, so memory stays near the largest tensor.\n\n"
      "Examples:\n"
      "  whale convert ./DeepSeek-R1-Distill-Qwen-1.5B -o r1-1.5b-f16.gguf\n"
      "  whale convert ./DeepSeek-R1 -o r1-q4_k_m.gguf --type q4_k_m --threads 16\n"
      "  whale convert ./DeepSeek-V2-Lite -o v2-lite-bf16.gguf --type bf16\n\n"
      "--type: f32 f16 bf16 q8_0, or any `whale quantize` TYPE (mixtures included).");
  sub->add_option("folder", a->folder, "Hugging Face model folder")->required();
  sub->add_option("-o,--output", a->out, "GGUF to write")->required();
  sub->add_option("--type", a->type, "tensor type or mixture (default f16)");
  sub->add_option("--name", a->name, "general.name (default: the folder's name)");
  sub->add_option("-t,--threads", a->threads, "threads (default: all hardware threads)");
  sub->add_flag("--pure", a->pure, "with a quantized --type: no mixture bumps");
  sub->add_flag("-v,--verbose", a->verbose, "list every tensor's type");
  set_command_body(sub, [a] { return run_convert(*a); });
}

}  // namespace whale::cli
