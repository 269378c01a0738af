// npy.cpp — .npy writer: magic "\x93NUMPY", version 1.0, a little-endian u16 header length,
// a Python dict literal header padded with spaces to a 64-byte boundary, then raw data.
#include "format/npy.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace whale {

Result<void> write_npy_f32(const std::filesystem::path& path, std::span<const float> data,
                           const std::vector<std::int64_t>& shape) {
  std::string dims;
  for (std::size_t i = 0; i < shape.size(); ++i) dims += fmt::format("{}{}", i ? ", " : "", shape[i]);
  if (shape.size() == 1) dims += ",";
  std::string header = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims);
  const std::size_t prefix = 10;  // magic (6) + version (2) + header length (2)
  const std::size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header.push_back('\n');
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) return Error("cannot create {}: {}", path.string(), std::strerror(errno));
  const char magic[8] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
  const auto len = static_cast<std::uint16_t>(header.size());
  bool ok = std::fwrite(magic, 1, 8, f.get()) == 8 && std::fwrite(&len, 2, 1, f.get()) == 1 &&
            std::fwrite(header.data(), 1, header.size(), f.get()) == header.size() &&
            std::fwrite(data.data(), sizeof(float), data.size(), f.get()) == data.size();
  if (!ok || std::fflush(f.get()) != 0) return Error("cannot write {}: {}", path.string(), std::strerror(errno));
  return {};
}

}  // namespace whale
