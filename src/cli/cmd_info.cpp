// cmd_info.cpp — `whale info MODEL`: architecture, sizes, parameter counts, cache needs.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "format/model_files.h"
#include "model/model_info.h"

namespace whale::cli {
namespace {

std::string human_bytes(std::uint64_t b) {
  const double d = static_cast<double>(b);
  if (d >= 1e9) return fmt::format("{:.2f} GB", d / 1e9);
  if (d >= 1e6) return fmt::format("{:.2f} MB", d / 1e6);
  if (d >= 1e3) return fmt::format("{:.1f} kB", d / 1e3);
  return fmt::format("{} B", b);
}

std::string human_count(std::int64_t n) {
  const double d = static_cast<double>(n);
  if (d >= 1e9) return fmt::format("{:.2f} B", d / 1e9);
  if (d >= 1e6) return fmt::format("{:.2f} M", d / 1e6);
  if (d >= 1e3) return fmt::format("{:.1f} K", d / 1e3);
  return fmt::format("{}", n);
}

struct InfoOptions {
  std::string model;
  std::int64_t ctx = 0;
  bool json = false;
  bool show_metadata = false;
  bool show_tensors = false;
};

nlohmann::json to_json(const ModelSummary& s, std::int64_t ctx) {
  const ModelConfig& c = s.config;
  nlohmann::json j;
  j["architecture"] = std::string(arch_name(c.arch));
  j["name"] = c.name;
  j["format"] = s.format == ModelFormat::kGguf ? "gguf" : "safetensors";
  j["file_bytes"] = s.file_bytes;
  j["files"] = s.n_files;
  j["tensors"] = s.n_tensors;
  j["params_total"] = s.total_params;
  j["params_active"] = s.active_params;
  j["params_mtp"] = s.mtp_params;
  j["layers"] = c.num_hidden_layers;
  j["mtp_layers"] = c.num_nextn_predict_layers;
  j["hidden_size"] = c.hidden_size;
  j["vocab_size"] = c.vocab_size;
  j["context_length"] = c.max_position_embeddings;
  j["attention"] = c.uses_mla() ? "mla" : "gqa";
  j["attention_detail"] = s.attention;
  j["experts"] = {{"routed", c.n_routed_experts}, {"shared", c.n_shared_experts},
                  {"used", c.num_experts_per_tok}, {"groups", c.n_group},
                  {"groups_kept", c.topk_group}, {"ffn", c.moe_intermediate_size},
                  {"first_dense_layers", c.first_k_dense_replace}};
  nlohmann::json types = nlohmann::json::object();
  for (const auto& [name, u] : s.dtypes)
    types[name] = {{"tensors", u.tensors}, {"params", u.params}, {"bytes", u.bytes}};
  j["dtypes"] = types;
  j["kv_cache"] = {{"tokens", ctx},
                   {"values_per_token_per_layer", s.kv_values_per_token_per_layer()},
                   {"bytes_f32", s.kv_cache_bytes(ctx, 4)},
                   {"bytes_f16", s.kv_cache_bytes(ctx, 2)}};
  j["notices"] = c.notices;
  return j;
}

void print_text(const ModelSummary& s, const ModelFiles& files, const InfoOptions& o) {
  const ModelConfig& c = s.config;
  fmt::print("model         {}\n", files.path.string());
  fmt::print("format        {}{}, {} file{}, {}\n",
             s.format == ModelFormat::kGguf ? "GGUF" : "safetensors",
             s.format == ModelFormat::kGguf ? fmt::format(" v{}", files.gguf_version) : "",
             s.n_files, s.n_files == 1 ? "" : "s", human_bytes(s.file_bytes));
  fmt::print("architecture  {} ({})\n", arch_name(c.arch), c.name);
  fmt::print("parameters    {} total, {} active per token{}\n", human_count(s.total_params),
             human_count(s.active_params),
             s.mtp_params ? fmt::format(" ({} in MTP)", human_count(s.mtp_params)) : "");
  fmt::print("layers        {}{}, hidden {}, vocab {}, context {}\n", c.num_hidden_layers,
             c.num_nextn_predict_layers ? fmt::format(" + {} MTP", c.num_nextn_predict_layers) : "",
             c.hidden_size, c.vocab_size, c.max_position_embeddings);
  fmt::print("attention     {}\n", s.attention);
  fmt::print("experts       {}\n", s.experts);
  if (c.rope_scaling.type == RopeScalingType::kYarn)
    fmt::print("rope          YaRN x{} from {} tokens, theta {}\n", c.rope_scaling.factor,
               c.rope_scaling.original_max_position_embeddings, c.rope_theta);
  else
    fmt::print("rope          theta {}\n", c.rope_theta);
  fmt::print("tensors       {}\n", s.n_tensors);
  for (const auto& [name, u] : s.dtypes)
    fmt::print("  {:<8} {:>5} tensors {:>10} params {:>10}\n", name, u.tensors,
               human_count(u.params), human_bytes(u.bytes));
  fmt::print("KV cache      {} values/token/layer{}; {} tokens: {} (f32), {} (f16)\n",
             s.kv_values_per_token_per_layer(), c.uses_mla() ? " (MLA latent + rope key)" : "",
             o.ctx, human_bytes(s.kv_cache_bytes(o.ctx, 4)), human_bytes(s.kv_cache_bytes(o.ctx, 2)));
  for (const auto& n : c.notices) fmt::print("notice        {}\n", n);
  if (o.show_metadata && s.format == ModelFormat::kGguf) {
    fmt::print("\nmetadata ({} keys)\n", files.gguf_metadata.size());
    for (const auto& [k, v] : files.gguf_metadata.entries())
      fmt::print("  {:<48} {:<6} {}\n", k, meta_type_name(v.type()), v.to_display());
  }
  if (o.show_tensors) {
    fmt::print("\ntensors\n");
    for (const auto& t : files.tensors.all())
      fmt::print("  {:<48} {:<8} [{}]\n", t.name, dtype_name(t.dtype), fmt::join(t.shape, ", "));
  }
}

int run_info(const InfoOptions& o_in) {
  InfoOptions o = o_in;
  auto files = open_model_files(o.model);
  if (!files.ok()) {
    fmt::print(stderr, "whale info: error: {}\n", files.error().what());
    return 1;
  }
  auto config = read_model_config(*files);
  if (!config.ok()) {
    fmt::print(stderr, "whale info: error: {}\n", config.error().what());
    return 1;
  }
  auto summary = summarize_model(*files, *config);
  if (!summary.ok()) {
    fmt::print(stderr, "whale info: error: {}\n", summary.error().what());
    return 1;
  }
  if (o.ctx <= 0) o.ctx = config->max_position_embeddings;
  if (o.json) {
    fmt::print("{}\n", to_json(*summary, o.ctx).dump(2));
  } else {
    print_text(*summary, *files, o);
  }
  return 0;
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* sub = app.add_subcommand(
      "info", "Describe a model: architecture, parameters (total and active), layers, attention "
              "and expert layout, tensor types, file size, and KV-cache memory for N tokens.");
  sub->add_option("model", opts->model, "GGUF file or Hugging Face model folder")->required();
  sub->add_option("-c,--ctx", opts->ctx, "tokens to size the KV cache for (default: the model's context)");
  sub->add_flag("--json", opts->json, "print one JSON object instead of text");
  sub->add_flag("--metadata", opts->show_metadata, "also list every GGUF metadata key");
  sub->add_flag("--tensors", opts->show_tensors, "also list every tensor with its type and shape");
  set_command_body(sub, [opts] { return run_info(*opts); });
}

}  // namespace whale::cli
