// convert_hf.cpp — HF folder -> GGUF: config keys, tokenizer keys, then tensor by tensor.
#include "convert/convert_hf.h"

#include <fmt/format.h>

#include <algorithm>

#include "convert/gguf_keys.h"
#include "convert/hf_tensors.h"
#include "convert/hf_tokenizer.h"
#include "format/gguf_writer.h"
#include "format/model_files.h"
#include "util/text_file.h"

namespace whale {

Result<ConvertReport> convert_hf_to_gguf(const std::filesystem::path& folder,
                                         const std::filesystem::path& out,
                                         const ConvertOptions& o) {
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec))
    return Error("{}: not a folder (expected a Hugging Face model folder with config.json)",
                 folder.string());
  if (!std::filesystem::exists(folder / "config.json", ec))
    return Error("{}: no config.json (a Hugging Face model folder needs one)", folder.string());
  // The config first: an unsupported model says so before anything looks for weights.
  WHALE_TRY(const std::string config_json, read_text_file(folder / "config.json"));
  auto config = config_from_hf_json(config_json);
  if (!config.ok()) return std::move(config).error().context("{}", folder.string());
  const ModelConfig& c = *config;
  WHALE_TRY(ModelFiles files, open_model_files(folder));
  std::optional<GenerationDefaults> gen;
  if (files.hf_generation_config_json) {
    auto g = generation_defaults_from_hf_json(*files.hf_generation_config_json);
    if (!g.ok())
      return std::move(g).error().context("{}", (folder / "generation_config.json").string());
    gen = std::move(g).value();
  }

  ConvertReport report;
  std::string name = o.name;
  if (name.empty()) name = std::filesystem::absolute(folder).lexically_normal().filename().string();
  if (name.empty())
    name = std::filesystem::absolute(folder).lexically_normal().parent_path().filename().string();
  auto md = gguf_model_metadata(c, name, o.target.file_type, gen);
  if (!md.ok()) return std::move(md).error().context("{}", folder.string());
  if (std::filesystem::exists(folder / "tokenizer.json", ec)) {
    WHALE_TRY_VOID(add_hf_tokenizer_metadata(folder, c.vocab_size, *md));
  } else {
    // Still a usable model for `whale logits --tokens`; llama.cpp needs a vocabulary to run.
    report.notices.push_back(
        fmt::format("{} has no tokenizer.json: the GGUF carries no tokenizer", folder.string()));
    if (c.bos_token_id)
      md->set("tokenizer.ggml.bos_token_id", meta_u32(static_cast<std::uint32_t>(*c.bos_token_id)));
    if (!c.eos_token_ids.empty())
      md->set("tokenizer.ggml.eos_token_id",
              meta_u32(static_cast<std::uint32_t>(c.eos_token_ids[0])));
  }

  auto plan = plan_hf_tensors(files.tensors, c);
  if (!plan.ok()) return std::move(plan).error().context("{}", folder.string());
  const std::int64_t n_layers = c.num_hidden_layers + c.num_nextn_predict_layers;
  const std::int64_t n_gqa =
      c.uses_mla()
          ? 1
          : std::max<std::int64_t>(
                1, c.num_attention_heads / std::max<std::int64_t>(1, c.num_key_value_heads));
  auto pool =
      std::make_shared<ThreadPool>(o.threads > 0 ? o.threads : ThreadPool::default_threads());
  const bool has_output = std::any_of(
      plan->begin(), plan->end(), [](const PlannedTensor& t) { return t.name == "output.weight"; });
  GgufWriter writer(std::move(md).value());
  for (PlannedTensor& t : *plan) {
    const TypeChoice choice =
        choose_tensor_type(o.target, {t.name, t.shape, n_layers, n_gqa, has_output, c.n_routed_experts}, o.pure);
    report.tensors.push_back({t.name, DType::kF32, choice.dtype, choice.wanted, t.shape.back()});
    std::int64_t rows = 1;
    for (std::size_t i = 0; i + 1 < t.shape.size(); ++i) rows *= t.shape[i];
    WHALE_TRY_VOID(writer.add_tensor(
        t.name, choice.dtype, t.shape,
        [open = std::move(t.open), inputs = t.inputs, pool, rows, cols = t.shape.back(),
         dtype = choice.dtype](std::span<std::byte> dst) -> Result<void> {
          encode_rows(rows, cols, dtype, open(*pool), *pool, dst);
          for (const auto& in : inputs) release_pages(in);
          return {};
        }));
  }
  WHALE_TRY_VOID(writer.write(out, fmt::format("convert {}", o.target.name)));
  return report;
}

}  // namespace whale
