// mapped_file.h — RAII read-only memory mapping of a whole file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>

#include "util/status.h"

namespace whale {

// How much of a mapping is in memory, and how much of that the kernel maps with 2 MiB
// page-table entries (one TLB entry each) rather than 4 KiB ones.
struct MappedResidency {
  std::uint64_t resident_bytes = 0;
  std::uint64_t huge_page_bytes = 0;
};

// Owns one read-only, private mapping. Move-only; the bytes stay valid while it lives.
class MappedFile {
 public:
  static Result<MappedFile> open(const std::filesystem::path& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  std::size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

  // Asks the kernel to read the range ahead (MADV_WILLNEED); a hint, never an error.
  void prefetch(std::size_t offset, std::size_t length) const;

  // This mapping's residency now, from /proc/self/smaps (Rss and FilePmdMapped); nullopt where
  // that cannot be read (not Linux, no procfs).
  std::optional<MappedResidency> residency() const;

 private:
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::filesystem::path path_;
};

}  // namespace whale
