// gguf.cpp — GGUF parser. Layout from the GGUF specification: header (magic, version,
// tensor_count, kv_count), key/values, tensor infos (name, n_dims, dims innermost first, type,
// offset), padding to general.alignment, then the data section.
#include "format/gguf.h"

#include <fmt/format.h>

#include <cstdio>

#include "format/byte_reader.h"

namespace whale {
namespace {

constexpr std::uint64_t kMaxTensors = 1u << 20;
constexpr std::uint64_t kMaxKeyValues = 1u << 20;
constexpr std::uint64_t kMaxKeyBytes = 1u << 16;
constexpr std::uint32_t kMaxDims = 4;   // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 4;
// Array items in all metadata together. Each item costs ~40 bytes in memory however small it
// is in the file, so without a budget a hostile file could make a 1-byte-per-item array cost
// 40x its size; real files hold well under a million (tokens, merges, scores).
constexpr std::uint64_t kMaxMetadataItems = std::uint64_t{1} << 24;

Result<std::string> read_string(ByteReader& in) {
  WHALE_TRY(const std::uint64_t len, in.read<std::uint64_t>());
  WHALE_TRY(auto bytes, in.read_bytes(len));
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// The smallest number of bytes one element of `t` takes, used to reject array counts that
// could not fit in the rest of the file before allocating anything.
std::uint64_t min_elem_bytes(MetaType t) {
  switch (t) {
    case MetaType::kU8: case MetaType::kI8: case MetaType::kBool: return 1;
    case MetaType::kU16: case MetaType::kI16: return 2;
    case MetaType::kU32: case MetaType::kI32: case MetaType::kF32: return 4;
    case MetaType::kString: return 8;               // the length prefix
    case MetaType::kArray: return 12;               // elem type + count
    case MetaType::kU64: case MetaType::kI64: case MetaType::kF64: return 8;
  }
  return 1;
}

// `items_left` is the remaining array-item budget, shared by every value of the file.
Result<MetaValue> read_value(ByteReader& in, MetaType type, int depth, std::uint64_t& items_left);

template <typename T>
Result<MetaValue> read_scalar(ByteReader& in) {
  WHALE_TRY(T v, in.read<T>());
  return MetaValue{v};
}

Result<MetaValue> read_value(ByteReader& in, MetaType type, int depth, std::uint64_t& items_left) {
  switch (type) {
    case MetaType::kU8: return read_scalar<std::uint8_t>(in);
    case MetaType::kI8: return read_scalar<std::int8_t>(in);
    case MetaType::kU16: return read_scalar<std::uint16_t>(in);
    case MetaType::kI16: return read_scalar<std::int16_t>(in);
    case MetaType::kU32: return read_scalar<std::uint32_t>(in);
    case MetaType::kI32: return read_scalar<std::int32_t>(in);
    case MetaType::kF32: return read_scalar<float>(in);
    case MetaType::kU64: return read_scalar<std::uint64_t>(in);
    case MetaType::kI64: return read_scalar<std::int64_t>(in);
    case MetaType::kF64: return read_scalar<double>(in);
    case MetaType::kBool: {
      WHALE_TRY(std::uint8_t b, in.read<std::uint8_t>());
      if (b > 1) return Error("bool value {} is neither 0 nor 1", b);
      return MetaValue{b != 0};
    }
    case MetaType::kString: {
      WHALE_TRY(std::string s, read_string(in));
      return MetaValue{std::move(s)};
    }
    case MetaType::kArray: {
      if (depth >= kMaxArrayDepth) return Error("arrays nested deeper than {}", kMaxArrayDepth);
      WHALE_TRY(std::uint32_t elem_code, in.read<std::uint32_t>());
      if (elem_code > static_cast<std::uint32_t>(MetaType::kF64))
        return Error("unknown array element type {}", elem_code);
      const auto elem = static_cast<MetaType>(elem_code);
      WHALE_TRY(std::uint64_t count, in.read<std::uint64_t>());
      if (count > in.remaining() / min_elem_bytes(elem))
        return Error("array of {} {} elements cannot fit in the {} bytes left", count,
                     meta_type_name(elem), in.remaining());
      if (count > items_left)
        return Error("arrays hold more than {} items in total", kMaxMetadataItems);
      items_left -= count;
      MetaArray arr{elem, {}};
      arr.items.reserve(count);
      for (std::uint64_t i = 0; i < count; ++i) {
        auto item = read_value(in, elem, depth + 1, items_left);
        if (!item.ok()) return std::move(item).error().context("array element {}", i);
        arr.items.push_back(std::move(item).value());
      }
      return MetaValue{std::move(arr)};
    }
  }
  return Error("unknown value type {}", static_cast<std::uint32_t>(type));
}

}  // namespace

Result<GgufContents> parse_gguf(std::span<const std::byte> bytes) {
  ByteReader in(bytes);
  GgufContents out;
  WHALE_TRY(const std::uint32_t magic, in.read<std::uint32_t>());
  if (magic != kGgufMagic) return Error("not a GGUF file (magic 0x{:08x})", magic);
  WHALE_TRY(out.version, in.read<std::uint32_t>());
  if (out.version != 2 && out.version != 3)
    return Error("unsupported GGUF version {} (whale reads versions 2 and 3)", out.version);
  WHALE_TRY(const std::uint64_t n_tensors, in.read<std::uint64_t>());
  WHALE_TRY(const std::uint64_t n_kv, in.read<std::uint64_t>());
  if (n_tensors > kMaxTensors)
    return Error("tensor count {} exceeds the limit {}", n_tensors, kMaxTensors);
  if (n_kv > kMaxKeyValues)
    return Error("metadata count {} exceeds the limit {}", n_kv, kMaxKeyValues);

  std::uint64_t items_left = kMaxMetadataItems;
  for (std::uint64_t i = 0; i < n_kv; ++i) {
    const std::uint64_t at = in.offset();
    auto key = read_string(in);
    if (!key.ok()) return std::move(key).error().context("metadata entry {} key", i);
    if (key->empty() || key->size() > kMaxKeyBytes)
      return Error("metadata entry {} has a key of {} bytes", i, key->size());
    if (!is_valid_utf8(*key)) return Error("metadata entry {} key is not valid UTF-8", i);
    auto type = in.read<std::uint32_t>();
    if (!type.ok()) return std::move(type).error().context("metadata key '{}'", *key);
    if (*type > static_cast<std::uint32_t>(MetaType::kF64))
      return Error("metadata key '{}' has unknown value type {}", *key, *type);
    auto value = read_value(in, static_cast<MetaType>(*type), 0, items_left);
    if (!value.ok())
      return std::move(value).error().context("metadata key '{}' (at offset {})", *key, at);
    WHALE_TRY_VOID(out.metadata.add(std::move(key).value(), std::move(value).value()));
  }

  if (const MetaValue* a = out.metadata.find("general.alignment")) {
    auto align = a->as_int();
    if (!align.ok()) return std::move(align).error().context("general.alignment");
    if (*align <= 0 || (*align & (*align - 1)) != 0 || *align > (1 << 24))
      return Error("general.alignment {} is not a power of two", *align);
    out.alignment = static_cast<std::uint64_t>(*align);
  }

  struct Info {
    std::string name;
    DType dtype;
    std::vector<std::int64_t> shape;
    std::uint64_t offset;
    std::uint64_t size;
  };
  // The smallest tensor info (1-byte name, 1 dimension) is 33 bytes; rejecting counts the rest
  // of the file cannot hold keeps a 24-byte file from reserving ~100 MB of infos.
  constexpr std::uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;
  if (n_tensors > in.remaining() / kMinTensorInfoBytes)
    return Error("tensor count {} cannot fit in the {} bytes left after the metadata", n_tensors,
                 in.remaining());
  std::vector<Info> infos;
  infos.reserve(n_tensors);
  for (std::uint64_t i = 0; i < n_tensors; ++i) {
    auto name = read_string(in);
    if (!name.ok()) return std::move(name).error().context("tensor info {}", i);
    if (name->empty() || name->size() > kMaxKeyBytes || !is_valid_utf8(*name))
      return Error("tensor info {} has an invalid name", i);
    auto fail = [&](Error e) { return std::move(e).context("tensor '{}'", *name); };
    auto n_dims = in.read<std::uint32_t>();
    if (!n_dims.ok()) return fail(std::move(n_dims).error());
    if (*n_dims == 0 || *n_dims > kMaxDims)
      return fail(Error("{} dimensions (GGUF allows 1 to {})", *n_dims, kMaxDims));
    std::vector<std::int64_t> shape(*n_dims);
    for (std::uint32_t d = 0; d < *n_dims; ++d) {
      auto dim = in.read<std::uint64_t>();
      if (!dim.ok()) return fail(std::move(dim).error());
      if (*dim == 0 || *dim > (std::uint64_t{1} << 48))
        return fail(Error("dimension {} has size {}", d, *dim));
      shape[*n_dims - 1 - d] = static_cast<std::int64_t>(*dim);  // file: innermost first
    }
    auto type = in.read<std::uint32_t>();
    if (!type.ok()) return fail(std::move(type).error());
    const DTypeTraits* traits = find_dtype_traits(*type);
    if (traits == nullptr || *type >= 100)
      return fail(Error("unknown ggml type {}", *type));
    auto offset = in.read<std::uint64_t>();
    if (!offset.ok()) return fail(std::move(offset).error());
    if (*offset % out.alignment != 0)
      return fail(Error("data offset {} is not a multiple of the alignment {}", *offset,
                        out.alignment));
    auto size = tensor_bytes(traits->dtype, shape);
    if (!size.ok()) return fail(std::move(size).error());
    infos.push_back({std::move(name).value(), traits->dtype, std::move(shape), *offset, *size});
  }

  const std::uint64_t header_end = in.offset();
  out.data_offset = (header_end + out.alignment - 1) / out.alignment * out.alignment;
  if (out.data_offset > bytes.size() && !infos.empty())
    return Error("the data section would start at {}, past the end of the {} byte file",
                 out.data_offset, bytes.size());

  TensorDirectory names;  // only for the duplicate check
  for (auto& info : infos) {
    std::uint64_t start = 0;
    if (__builtin_add_overflow(out.data_offset, info.offset, &start))
      return Error("tensor '{}' offset overflows", info.name);
    auto slice = checked_slice(bytes, start, info.size, 1);
    if (!slice.ok())
      return std::move(slice).error().context("tensor '{}' ({} bytes at data offset {}): file truncated?",
                                              info.name, info.size, info.offset);
    TensorRecord rec{info.name, info.dtype, info.shape, *slice, 0};
    WHALE_TRY_VOID(names.add(TensorRecord{info.name, info.dtype, {}, {}, 0}));
    out.tensors.push_back(std::move(rec));
  }
  return out;
}

Result<GgufFile> open_gguf(const std::filesystem::path& path) {
  WHALE_TRY(MappedFile file, MappedFile::open(path));
  auto contents = parse_gguf(file.bytes());
  if (!contents.ok()) return std::move(contents).error().context("{}", path.string());
  return GgufFile{std::move(file), std::move(contents).value()};
}

std::vector<std::filesystem::path> gguf_split_paths(const std::filesystem::path& path) {
  // "<prefix>-NNNNN-of-MMMMM.gguf": the suffix is exactly 20 characters.
  const std::string name = path.filename().string();
  constexpr std::size_t kSuffix = 20;  // "-00001-of-00004.gguf"
  if (name.size() <= kSuffix) return {};
  const std::string_view tail = std::string_view(name).substr(name.size() - kSuffix);
  auto digits = [](std::string_view s) {
    for (char ch : s)
      if (ch < '0' || ch > '9') return false;
    return true;
  };
  if (tail[0] != '-' || !digits(tail.substr(1, 5)) || tail.substr(6, 4) != "-of-" ||
      !digits(tail.substr(10, 5)) || tail.substr(15) != ".gguf")
    return {};
  const std::string prefix = name.substr(0, name.size() - kSuffix);
  const int count = std::stoi(std::string(tail.substr(10, 5)));
  std::vector<std::filesystem::path> parts;
  for (int i = 1; i <= count; ++i)
    parts.push_back(path.parent_path() / fmt::format("{}-{:05d}-of-{:05d}.gguf", prefix, i, count));
  return parts;
}

}  // namespace whale
