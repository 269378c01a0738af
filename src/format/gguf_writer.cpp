// gguf_writer.cpp — GGUF v3 serialisation.
#include "format/gguf_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>

#include "format/gguf.h"
#include "format/tensor_directory.h"
#include "util/progress.h"

namespace whale {
namespace {

class Buffer {
 public:
  template <typename T>
  void put(T v) {
    append(&v, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<std::uint64_t>(s.size());
    append(s.data(), s.size());
  }
  // resize + memcpy rather than vector::insert: GCC 12 misreports the insert as an overflow.
  void append(const void* p, std::size_t n) {
    const std::size_t at = bytes_.size();
    bytes_.resize(at + n);
    if (n != 0) std::memcpy(bytes_.data() + at, p, n);
  }
  void pad_to(std::uint64_t alignment) {
    while (bytes_.size() % alignment != 0) bytes_.push_back(std::byte{0});
  }
  std::vector<std::byte>& bytes() { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

void put_value(Buffer& b, const MetaValue& v) {
  std::visit(
      [&b](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          b.put_string(x);
        } else if constexpr (std::is_same_v<T, MetaArray>) {
          b.put<std::uint32_t>(static_cast<std::uint32_t>(x.elem_type));
          b.put<std::uint64_t>(x.items.size());
          for (const auto& item : x.items) put_value(b, item);
        } else if constexpr (std::is_same_v<T, bool>) {
          b.put<std::uint8_t>(x ? 1 : 0);
        } else {
          b.put<T>(x);
        }
      },
      v.v);
}

}  // namespace

GgufWriter::GgufWriter(Metadata metadata) : metadata_(std::move(metadata)) {
  alignment_ = static_cast<std::uint64_t>(
      metadata_.get_int_or("general.alignment", kGgufDefaultAlignment));
  if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0) alignment_ = kGgufDefaultAlignment;
}

Result<void> GgufWriter::add_tensor(std::string name, DType dtype,
                                    std::vector<std::int64_t> shape, FillFn fill) {
  if (dtype_traits(dtype).dtype >= DType::kF8_E4M3)
    return Error("tensor '{}': {} has no GGUF type code", name, dtype_name(dtype));
  if (shape.empty() || shape.size() > 4)
    return Error("tensor '{}': GGUF tensors have 1 to 4 dimensions, not {}", name, shape.size());
  for (const auto& t : tensors_)
    if (t.name == name) return Error("duplicate tensor name '{}'", name);
  auto size = tensor_bytes(dtype, shape);
  if (!size.ok()) return std::move(size).error().context("tensor '{}'", name);
  data_bytes_ = (data_bytes_ + alignment_ - 1) / alignment_ * alignment_;
  tensors_.push_back({std::move(name), dtype, std::move(shape), *size, data_bytes_, std::move(fill)});
  data_bytes_ += *size;
  return {};
}

Result<void> GgufWriter::add_tensor(std::string name, DType dtype, std::vector<std::int64_t> shape,
                                    std::span<const std::byte> data) {
  auto size = tensor_bytes(dtype, shape);
  if (!size.ok()) return std::move(size).error().context("tensor '{}'", name);
  if (*size != data.size())
    return Error("tensor '{}': {} bytes given, the shape needs {}", name, data.size(), *size);
  std::vector<std::byte> copy(data.begin(), data.end());
  return add_tensor(std::move(name), dtype, std::move(shape),
                    [copy = std::move(copy)](std::span<std::byte> out) -> Result<void> {
                      std::memcpy(out.data(), copy.data(), copy.size());
                      return {};
                    });
}

Result<void> GgufWriter::emit(
    const std::function<Result<void>(std::span<const std::byte>)>& sink,
    const std::function<void(std::uint64_t)>& on_progress) {
  Buffer header;
  header.put<std::uint32_t>(kGgufMagic);
  header.put<std::uint32_t>(3);
  header.put<std::uint64_t>(tensors_.size());
  header.put<std::uint64_t>(metadata_.size());
  for (const auto& [key, value] : metadata_.entries()) {
    header.put_string(key);
    header.put<std::uint32_t>(static_cast<std::uint32_t>(value.type()));
    put_value(header, value);
  }
  for (const auto& t : tensors_) {
    header.put_string(t.name);
    header.put<std::uint32_t>(static_cast<std::uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it)
      header.put<std::uint64_t>(static_cast<std::uint64_t>(*it));
    header.put<std::uint32_t>(static_cast<std::uint32_t>(t.dtype));
    header.put<std::uint64_t>(t.offset);
  }
  header.pad_to(alignment_);
  WHALE_TRY_VOID(sink(header.bytes()));

  std::uint64_t written = 0;
  std::vector<std::byte> scratch;
  for (auto& t : tensors_) {
    if (written < t.offset) {
      std::vector<std::byte> pad(t.offset - written, std::byte{0});
      WHALE_TRY_VOID(sink(pad));
      written = t.offset;
    }
    scratch.assign(t.size, std::byte{0});
    auto filled = t.fill(scratch);
    if (!filled.ok()) return std::move(filled).error().context("tensor '{}'", t.name);
    WHALE_TRY_VOID(sink(scratch));
    written += t.size;
    on_progress(written);
  }
  std::vector<std::byte> tail((alignment_ - written % alignment_) % alignment_, std::byte{0});
  if (!tail.empty()) WHALE_TRY_VOID(sink(tail));
  return {};
}

namespace {

// Model-sized outputs are dropped from the page cache once written. The written pages sit in
// the cache in small folios, which a later mmap can only map 4 KiB at a time; read back from
// disk they come in 2 MiB folios mapped with one TLB entry each, and decode ran ~30 % faster
// (docs/kernels.md, "Huge pages"). The cost is one read from disk on the next load.
constexpr std::uint64_t kDropFromCacheBytes = std::uint64_t{64} << 20;

Result<void> drop_from_page_cache(std::FILE* f, const std::filesystem::path& path) {
  const int fd = ::fileno(f);
  // Dirty pages cannot be dropped: write them back first (also what makes the rename durable).
  if (::fdatasync(fd) != 0) return Error("write to {} failed: {}", path.string(), std::strerror(errno));
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);  // a hint; the file is complete either way
  return {};
}

}  // namespace

Result<void> GgufWriter::write(const std::filesystem::path& path, const std::string& progress_label) {
  const std::filesystem::path tmp = path.string() + ".partial";
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(tmp.c_str(), "wb"), &std::fclose);
  if (!f) return Error("cannot create {}: {}", tmp.string(), std::strerror(errno));
  ProgressBar bar(progress_label.empty() ? "writing" : progress_label, data_bytes_, "B");
  auto sink = [&](std::span<const std::byte> b) -> Result<void> {
    if (!b.empty() && std::fwrite(b.data(), 1, b.size(), f.get()) != b.size())
      return Error("write to {} failed: {}", tmp.string(), std::strerror(errno));
    return {};
  };
  auto r = emit(sink, [&](std::uint64_t done) { bar.update(done); });
  if (r.ok() && std::fflush(f.get()) != 0)
    r = Error("write to {} failed: {}", tmp.string(), std::strerror(errno));
  if (r.ok() && data_bytes_ >= kDropFromCacheBytes) r = drop_from_page_cache(f.get(), tmp);
  std::FILE* raw = f.release();
  if (std::fclose(raw) != 0 && r.ok()) r = Error("closing {} failed", tmp.string());
  if (!r.ok()) {
    std::filesystem::remove(tmp);
    return std::move(r).error().context("writing {}", path.string());
  }
  bar.finish();
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Error("cannot rename {} to {}: {}", tmp.string(), path.string(), ec.message());
  return {};
}

Result<std::vector<std::byte>> GgufWriter::to_bytes() {
  std::vector<std::byte> out;
  auto sink = [&](std::span<const std::byte> b) -> Result<void> {
    out.insert(out.end(), b.begin(), b.end());
    return {};
  };
  WHALE_TRY_VOID(emit(sink, [](std::uint64_t) {}));
  return out;
}

}  // namespace whale
