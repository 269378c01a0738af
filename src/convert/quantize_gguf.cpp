// quantize_gguf.cpp — GGUF -> GGUF with the types the recipe chooses.
#include "convert/quantize_gguf.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "convert/gguf_keys.h"
#include "convert/row_encode.h"
#include "format/gguf_writer.h"
#include "format/model_files.h"
#include "quant/dequantize.h"

namespace whale {
namespace {

// head_count / head_count_kv, when both are plain integers; MLA files count one latent head.
std::int64_t gqa_of(const Metadata& m, const std::string& arch) {
  if (arch == "deepseek2") return 1;
  const std::int64_t h = m.get_int_or(arch + ".attention.head_count", 1);
  const std::int64_t kv = m.get_int_or(arch + ".attention.head_count_kv", h);
  return kv > 0 ? std::max<std::int64_t>(1, h / kv) : 1;
}

}  // namespace

std::string summarize_types(const ConvertReport& r) {
  std::vector<std::pair<DType, int>> counts;
  for (const TensorDecision& t : r.tensors) {
    auto it =
        std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == t.to; });
    if (it == counts.end())
      counts.emplace_back(t.to, 1);
    else
      ++it->second;
  }
  std::string out;
  for (const auto& [d, n] : counts)
    out += fmt::format("{}{} x {}", out.empty() ? "" : ", ", n, dtype_name(d));
  return out;
}

Result<ConvertReport> quantize_gguf(const std::filesystem::path& in,
                                    const std::filesystem::path& out, const QuantizeOptions& o) {
  WHALE_TRY(ModelFiles files, open_model_files(in));
  if (files.format != ModelFormat::kGguf)
    return Error("{} is not a GGUF file (use `whale convert` for Hugging Face folders)",
                 in.string());
  Metadata md = files.gguf_metadata;
  for (const char* k : {"split.no", "split.count", "split.tensors.count"}) md.erase(k);
  const std::string arch = md.get_string_or("general.architecture", "");
  const std::int64_t n_layers = md.get_int_or(arch + ".block_count", 0);
  const std::int64_t n_gqa = gqa_of(md, arch);
  const bool has_output = files.tensors.find("output.weight") != nullptr;
  const std::int64_t n_experts = md.get_int_or(arch + ".expert_count", 0);
  md.set("general.file_type", meta_u32(o.target.file_type));
  md.set("general.quantization_version", meta_u32(kGgmlQuantizationVersion));

  auto pool =
      std::make_shared<ThreadPool>(o.threads > 0 ? o.threads : ThreadPool::default_threads());
  GgufWriter writer(std::move(md));
  ConvertReport report;
  for (const TensorRecord& t : files.tensors.all()) {
    const TypeChoice choice =
        choose_tensor_type(o.target, {t.name, t.shape, n_layers, n_gqa, has_output, n_experts}, o.pure);
    report.tensors.push_back({t.name, t.dtype, choice.dtype, choice.wanted, t.cols()});
    const TensorRecord* src = &t;
    if (choice.dtype == t.dtype) {
      WHALE_TRY_VOID(writer.add_tensor(t.name, t.dtype, t.shape,
                                       [src](std::span<std::byte> dst) -> Result<void> {
                                         std::memcpy(dst.data(), src->bytes.data(), dst.size());
                                         release_pages(src->bytes);
                                         return {};
                                       }));
      continue;
    }
    if (dtype_traits(t.dtype).is_quantized && !o.allow_requantize)
      return Error(
          "{}: tensor '{}' is already quantized ({}); requantizing to {} compounds the "
          "error — pass --allow-requantize to do it anyway",
          in.string(), t.name, dtype_name(t.dtype), dtype_name(choice.dtype));
    if (!has_dequantize(t.dtype))
      return Error("{}: tensor '{}' has type {}, which whale cannot decode", in.string(), t.name,
                   dtype_name(t.dtype));
    WHALE_TRY_VOID(writer.add_tensor(
        t.name, choice.dtype, t.shape,
        [src, pool, dtype = choice.dtype](std::span<std::byte> dst) -> Result<void> {
          encode_rows(
              src->rows(), src->cols(), dtype,
              [src](std::int64_t r, float* d) { decode_row(*src, nullptr, r, d); }, *pool, dst);
          release_pages(src->bytes);
          return {};
        }));
  }
  WHALE_TRY_VOID(writer.write(out, fmt::format("quantize {}", o.target.name)));
  return report;
}

}  // namespace whale
