// cmd_quantize.cpp — `whale quantize IN.gguf OUT.gguf TYPE`: new tensor types, same metadata.
#include <fmt/format.h>

#include "cli/commands.h"
#include "convert/quantize_gguf.h"

namespace whale::cli {
namespace {

struct QuantizeArgs {
  std::string in;
  std::string out;
  std::string type;
  int threads = 0;
  bool allow_requantize = false;
  bool pure = false;
  bool verbose = false;
};

void print_decisions(const ConvertReport& r, bool verbose) {
  int fallbacks = 0;
  for (const TensorDecision& t : r.tensors) {
    if (t.to != t.wanted) ++fallbacks;
    if (verbose || t.to != t.wanted)
      fmt::print(stderr, "  {:<40} {:>7} -> {:<7}{}\n", t.name, dtype_name(t.from),
                 dtype_name(t.to),
                 t.to != t.wanted
                     ? fmt::format("  (row width {} does not fit {})", t.cols, dtype_name(t.wanted))
                     : "");
  }
  fmt::print(stderr, "{} tensors: {}{}\n", r.tensors.size(), summarize_types(r),
             fallbacks
                 ? fmt::format("; {} fell back to a type that fits their row width", fallbacks)
                 : "");
}

int run_quantize(const QuantizeArgs& a) {
  auto target = parse_quant_target(a.type);
  if (!target.ok()) {
    fmt::print(stderr, "whale quantize: error: TYPE: {}\n", target.error().what());
    return 1;
  }
  QuantizeOptions o{*target, a.threads, a.allow_requantize, a.pure};
  auto report = quantize_gguf(a.in, a.out, o);
  if (!report.ok()) {
    fmt::print(stderr, "whale quantize: error: {}\n", report.error().what());
    return 1;
  }
  print_decisions(*report, a.verbose);
  fmt::print(stderr, "wrote {} ({})\n", a.out, target->name);
  return 0;
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto a = std::make_shared<QuantizeArgs>();
  CLI::App* sub = app.add_subcommand(
      "quantize",
      "Rewrite a GGUF model with quantized weights. Metadata and tensor order are kept;\n"
      "general.file_type and general.quantization_version are set. Mixtures give the tensors\n"
      "that matter most more bits (docs/quantization.md lists the rules); norms, biases and the\n"
      "expert router stay F32; rows whose width does not fit a type's block fall back to one\n"
      "that does.\n\n"
      "Examples:\n"
      "  whale quantize model-f16.gguf model-q4_k_m.gguf Q4_K_M\n"
      "  whale quantize model-f32.gguf model-q8_0.gguf q8_0 --threads 8\n"
      "  whale quantize model-q8_0.gguf model-q4_0.gguf Q4_0 --allow-requantize --pure\n\n"
      "TYPE: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 IQ4_NL IQ4_XS Q2_K Q3_K_S Q3_K_M Q3_K_L\n"
      "      Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K (Q3_K, Q4_K, Q5_K mean the _M mixtures)\n"
      "      IQ2_XXS IQ1_S IQ1_M (2.06 / 1.56 / 1.75 bits per weight; a codebook search, 6-10x\n"
      "      slower than the K types; without an importance matrix, so expect a clearly worse\n"
      "      model than the published imatrix-made files of these types).");
  sub->add_option("input", a->in, "GGUF to read (the first part of a split GGUF reads all parts)")
      ->required();
  sub->add_option("output", a->out, "GGUF to write (written to a temporary name, then renamed)")
      ->required();
  sub->add_option("type", a->type, "target type or mixture, case-insensitive (see above)")
      ->required();
  sub->add_option("-t,--threads", a->threads, "threads (default: all hardware threads)");
  sub->add_flag("--allow-requantize", a->allow_requantize,
                "re-encode tensors that are already quantized (loses precision twice)");
  sub->add_flag("--pure", a->pure,
                "every weight matrix gets TYPE: no mixture bumps, output.weight included");
  sub->add_flag("-v,--verbose", a->verbose, "list every tensor's old and new type");
  set_command_body(sub, [a] { return run_quantize(*a); });
}

}  // namespace whale::cli
