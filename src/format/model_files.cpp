// model_files.cpp — GGUF (single or split) and Hugging Face folders behind one type.
#include "format/model_files.h"


#include "format/gguf.h"
#include "format/safetensors.h"
#include "util/text_file.h"

namespace whale {

std::uint64_t ModelFiles::total_bytes() const {
  std::uint64_t n = 0;
  for (const auto& f : files) n += f.size();
  return n;
}

namespace {

Result<ModelFiles> open_gguf_model(const std::filesystem::path& path) {
  ModelFiles out;
  out.format = ModelFormat::kGguf;
  out.path = path;
  std::vector<std::filesystem::path> parts = gguf_split_paths(path);
  if (parts.empty()) parts.push_back(path);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (!std::filesystem::exists(parts[i]))
      return Error("split part {} of {} is missing: {}", i + 1, parts.size(), parts[i].string());
    WHALE_TRY(GgufFile g, open_gguf(parts[i]));
    if (parts.size() > 1) {
      const std::int64_t count = g.contents.metadata.get_int_or("split.count", -1);
      const std::int64_t no = g.contents.metadata.get_int_or("split.no", -1);
      if (count != static_cast<std::int64_t>(parts.size()) || no != static_cast<std::int64_t>(i))
        return Error("{}: split.no/split.count say part {} of {}, the file name says {} of {}",
                     parts[i].string(), no + 1, count, i + 1, parts.size());
    }
    if (i == 0) {
      out.gguf_metadata = g.contents.metadata;
      out.gguf_version = g.contents.version;
    }
    for (auto& rec : g.contents.tensors) {
      rec.file_index = static_cast<std::uint32_t>(i);
      auto added = out.tensors.add(std::move(rec));
      if (!added.ok()) return std::move(added).error().context("{}", parts[i].string());
    }
    out.files.push_back(std::move(g.file));
  }
  if (parts.size() > 1) {
    const std::int64_t expected = out.gguf_metadata.get_int_or("split.tensors.count", -1);
    if (expected >= 0 && expected != static_cast<std::int64_t>(out.tensors.size()))
      return Error("{}: split.tensors.count is {} but the parts hold {} tensors", path.string(),
                   expected, out.tensors.size());
  }
  return out;
}

Result<ModelFiles> open_hf_folder(const std::filesystem::path& dir) {
  ModelFiles out;
  out.format = ModelFormat::kSafetensors;
  out.path = dir;
  if (!std::filesystem::exists(dir / "config.json"))
    return Error("{} has no config.json (a Hugging Face model folder needs one)", dir.string());
  WHALE_TRY(out.hf_config_json, read_text_file(dir / "config.json"));
  if (std::filesystem::exists(dir / "generation_config.json")) {
    WHALE_TRY(std::string gen, read_text_file(dir / "generation_config.json"));
    out.hf_generation_config_json = std::move(gen);
  }
  WHALE_TRY(SafetensorsSet set, open_safetensors(dir));
  out.files = std::move(set.files);
  out.tensors = std::move(set.tensors);
  return out;
}

}  // namespace

Result<ModelFiles> open_model_files(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Error("{}: no such file or folder", path.string());
  if (std::filesystem::is_directory(path, ec)) return open_hf_folder(path);
  if (path.filename() == "config.json") return open_hf_folder(path.parent_path());
  return open_gguf_model(path);
}

}  // namespace whale
