// safetensors.cpp — safetensors parsing. Format: an 8-byte little-endian header length N, N
// bytes of JSON mapping names to {dtype, shape, data_offsets: [begin, end)} relative to the
// data that follows, and an optional "__metadata__" object of strings.
#include "format/safetensors.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>

#include "format/byte_reader.h"
#include "util/text_file.h"

namespace whale {
namespace {

using nlohmann::json;

constexpr std::uint64_t kMaxHeaderBytes = 100u << 20;  // the format's own limit is 100 MB

Result<DType> dtype_from_safetensors(const std::string& s) {
  static const std::map<std::string, DType, std::less<>> kNames = {
      {"F64", DType::kF64}, {"F32", DType::kF32}, {"F16", DType::kF16}, {"BF16", DType::kBF16},
      {"F8_E4M3", DType::kF8_E4M3}, {"F8_E5M2", DType::kF8_E5M2}, {"I64", DType::kI64},
      {"I32", DType::kI32}, {"I16", DType::kI16}, {"I8", DType::kI8}, {"U8", DType::kU8},
      {"BOOL", DType::kBool}};
  auto it = kNames.find(s);
  if (it == kNames.end()) return Error("unsupported dtype '{}'", s);
  return it->second;
}

// Parses JSON text, rejecting duplicate keys in the top-level object (nlohmann would keep the
// last silently, and two tensors of one name are a corrupt file). Never throws.
Result<json> parse_json_no_duplicates(std::string_view text) {
  std::set<std::string> seen;
  std::string duplicate;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1) {
      std::string key = parsed.get<std::string>();
      if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
    }
    return true;
  };
  json j = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error("header is not valid JSON");
  if (!duplicate.empty()) return Error("duplicate tensor name '{}'", duplicate);
  return j;
}

Result<std::uint64_t> as_u64(const json& j, const char* what) {
  if (!j.is_number_unsigned()) return Error("{} is not a non-negative integer", what);
  return j.get<std::uint64_t>();
}

}  // namespace

Result<SafetensorsContents> parse_safetensors(std::span<const std::byte> bytes) {
  ByteReader in(bytes);
  WHALE_TRY(const std::uint64_t header_len, in.read<std::uint64_t>());
  if (header_len > kMaxHeaderBytes)
    return Error("header length {} exceeds the 100 MB limit (not a safetensors file?)", header_len);
  if (header_len > in.remaining())
    return Error("header length {} is past the end of the {} byte file", header_len, bytes.size());
  WHALE_TRY(auto header_bytes, in.read_bytes(header_len));
  const std::string_view text(reinterpret_cast<const char*>(header_bytes.data()), header_bytes.size());
  if (!is_valid_utf8(text)) return Error("header is not valid UTF-8");
  WHALE_TRY(json header, parse_json_no_duplicates(text));
  if (!header.is_object()) return Error("header is not a JSON object");

  const std::span<const std::byte> data = bytes.subspan(8 + header_len);
  SafetensorsContents out;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return Error("__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) return Error("__metadata__ value '{}' is not a string", k);
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    // A named reference, not the structured binding: clang 14 (the fuzz build) cannot capture
    // bindings in lambdas.
    const std::string& tensor_name = name;
    auto fail = [&](Error e) { return std::move(e).context("tensor '{}'", tensor_name); };
    if (!entry.is_object()) return fail(Error("entry is not an object"));
    const auto dt = entry.find("dtype");
    const auto sh = entry.find("shape");
    const auto off = entry.find("data_offsets");
    if (dt == entry.end() || !dt->is_string()) return fail(Error("missing or non-string dtype"));
    if (sh == entry.end() || !sh->is_array()) return fail(Error("missing shape array"));
    if (off == entry.end() || !off->is_array() || off->size() != 2)
      return fail(Error("data_offsets is not a [begin, end] pair"));
    auto dtype = dtype_from_safetensors(dt->get<std::string>());
    if (!dtype.ok()) return fail(std::move(dtype).error());
    if (sh->size() > 8) return fail(Error("{} dimensions", sh->size()));
    std::vector<std::int64_t> shape;
    for (const auto& d : *sh) {
      auto v = as_u64(d, "a shape dimension");
      if (!v.ok()) return fail(std::move(v).error());
      if (*v > (std::uint64_t{1} << 48)) return fail(Error("dimension {} is absurd", *v));
      shape.push_back(static_cast<std::int64_t>(*v));
    }
    auto begin = as_u64((*off)[0], "data_offsets[0]");
    auto end = as_u64((*off)[1], "data_offsets[1]");
    if (!begin.ok()) return fail(std::move(begin).error());
    if (!end.ok()) return fail(std::move(end).error());
    if (*end < *begin) return fail(Error("data_offsets [{}, {}) run backwards", *begin, *end));
    // A zero-sized dimension is legal in safetensors; such a tensor holds no bytes.
    bool empty = false;
    for (auto d : shape) empty |= d == 0;
    std::uint64_t expected = 0;
    if (!empty) {
      auto size = tensor_bytes(*dtype, shape);
      if (!size.ok()) return fail(std::move(size).error());
      expected = *size;
    }
    if (*end - *begin != expected)
      return fail(Error("data_offsets [{}, {}) hold {} bytes, the shape needs {}", *begin, *end,
                        *end - *begin, expected));
    auto slice = checked_slice(data, *begin, expected, 1);
    if (!slice.ok()) return fail(std::move(slice).error().context("file truncated?"));
    out.tensors.push_back(TensorRecord{name, *dtype, std::move(shape), *slice, 0});
  }
  return out;
}

namespace {

Result<void> add_file(SafetensorsSet& set, const std::filesystem::path& path,
                      const std::set<std::string>* expected) {
  WHALE_TRY(MappedFile file, MappedFile::open(path));
  auto contents = parse_safetensors(file.bytes());
  if (!contents.ok()) return std::move(contents).error().context("{}", path.string());
  const auto index = static_cast<std::uint32_t>(set.files.size());
  std::set<std::string> present;
  for (auto& rec : contents->tensors) {
    rec.file_index = index;
    present.insert(rec.name);
    auto added = set.tensors.add(std::move(rec));
    if (!added.ok()) return std::move(added).error().context("{}", path.string());
  }
  if (expected != nullptr)
    for (const auto& name : *expected)
      if (present.count(name) == 0)
        return Error("{}: tensor '{}' is listed in the index but not in this shard",
                     path.string(), name);
  set.files.push_back(std::move(file));
  return {};
}

}  // namespace

Result<SafetensorsSet> open_safetensors(const std::filesystem::path& path) {
  std::filesystem::path index_path;
  std::filesystem::path single;
  if (std::filesystem::is_directory(path)) {
    if (std::filesystem::exists(path / "model.safetensors.index.json"))
      index_path = path / "model.safetensors.index.json";
    else if (std::filesystem::exists(path / "model.safetensors"))
      single = path / "model.safetensors";
    else
      return Error("{} holds neither model.safetensors nor model.safetensors.index.json",
                   path.string());
  } else if (path.extension() == ".json") {
    index_path = path;
  } else {
    single = path;
  }

  SafetensorsSet set;
  if (!single.empty()) {
    WHALE_TRY_VOID(add_file(set, single, nullptr));
    return set;
  }
  WHALE_TRY(std::string text, read_text_file(index_path));
  json index = json::parse(text, nullptr, false);
  if (index.is_discarded() || !index.is_object())
    return Error("{}: not a valid JSON object", index_path.string());
  const auto map = index.find("weight_map");
  if (map == index.end() || !map->is_object())
    return Error("{}: missing \"weight_map\" object", index_path.string());
  std::map<std::string, std::set<std::string>> by_file;  // sorted: shards open in name order
  for (const auto& [name, file] : map->items()) {
    if (!file.is_string())
      return Error("{}: weight_map entry '{}' is not a file name", index_path.string(), name);
    const std::string f = file.get<std::string>();
    if (f.find('/') != std::string::npos || f.find("..") != std::string::npos)
      return Error("{}: shard name '{}' leaves the folder", index_path.string(), f);
    by_file[f].insert(name);
  }
  const auto dir = index_path.parent_path();
  for (const auto& [file, names] : by_file) {
    if (!std::filesystem::exists(dir / file))
      return Error("{}: shard {} is missing (it holds {} tensors, e.g. '{}')",
                   index_path.string(), (dir / file).string(), names.size(), *names.begin());
    WHALE_TRY_VOID(add_file(set, dir / file, &names));
  }
  return set;
}

}  // namespace whale
