// mapped_file.cpp — mmap wrapper.
#include "format/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>

#include "util/aligned_buffer.h"

namespace whale {

namespace {

// Maps the whole file at an address that is a multiple of 2 MiB, so file offset and virtual
// address agree modulo the huge page size — the condition for the kernel to map a 2 MiB
// page-cache folio with one page-table entry. Reserves 2 MiB more address space than the file
// needs, places the file in it, and returns the unused ends. MAP_FAILED (errno set) on failure.
void* map_on_huge_page_boundary(int fd, std::size_t size) {
  const std::size_t reserve = size + kHugePageBytes;
  void* r = ::mmap(nullptr, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (r == MAP_FAILED) return MAP_FAILED;
  const auto begin = reinterpret_cast<std::uintptr_t>(r);
  const std::uintptr_t aligned = (begin + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  void* p = ::mmap(reinterpret_cast<void*>(aligned), size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
  if (p == MAP_FAILED) {
    const int err = errno;
    ::munmap(r, reserve);
    errno = err;
    return MAP_FAILED;
  }
  if (aligned > begin) ::munmap(r, aligned - begin);
  const std::uintptr_t end = aligned + size, reserve_end = begin + reserve;
  const std::uintptr_t page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const std::uintptr_t tail = (end + page - 1) / page * page;  // the file's last page, rounded up
  if (reserve_end > tail) ::munmap(reinterpret_cast<void*>(tail), reserve_end - tail);
  return p;
}

}  // namespace

Result<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error("cannot open {}: {}", path.string(), std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Error("cannot stat {}: {}", path.string(), std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error("{} is not a regular file", path.string());
  }
  MappedFile file;
  file.path_ = path;
  file.size_ = static_cast<std::size_t>(st.st_size);
  if (file.size_ > 0) {
    void* p = map_on_huge_page_boundary(fd, file.size_);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      return Error("cannot map {}: {}", path.string(), std::strerror(err));
    }
    // A hint: page-cache reads for this mapping then come in 2 MiB folios, which the kernel
    // maps with one TLB entry each (decode streams the weights; see docs/kernels.md).
    ::madvise(p, file.size_, MADV_HUGEPAGE);
    file.data_ = static_cast<const std::byte*>(p);
  }
  ::close(fd);  // the mapping keeps the file alive
  return file;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      path_(std::move(other.path_)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    path_ = std::move(other.path_);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
}

void MappedFile::prefetch(std::size_t offset, std::size_t length) const {
  if (data_ == nullptr || offset >= size_) return;
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t start = offset / page * page;
  const std::size_t end = std::min(size_, offset + length);
  ::madvise(const_cast<std::byte*>(data_) + start, end - start, MADV_WILLNEED);
}

std::optional<MappedResidency> MappedFile::residency() const {
  if (data_ == nullptr) return MappedResidency{};
  // No system call reports this per mapping; smaps lists each mapping (a line "start-end perms
  // offset dev inode path") followed by "Key: value kB" lines. The kernel may have split ours
  // into several, so every one inside [data_, data_ + size_) counts.
  std::ifstream smaps("/proc/self/smaps");
  if (!smaps) return std::nullopt;
  const auto first = reinterpret_cast<std::uintptr_t>(data_);
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const std::uintptr_t last = (first + size_ + page - 1) / page * page;
  // A number at the start of `text` (after spaces), or nullopt: no exceptions from a line the
  // kernel formats differently.
  const auto number = [](std::string_view text, int base) -> std::optional<std::uint64_t> {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
    if (ec != std::errc() || end == text.data()) return std::nullopt;
    return v;
  };
  MappedResidency r;
  bool ours = false;
  std::string line;
  while (std::getline(smaps, line)) {
    const std::string_view l = line;
    const std::size_t dash = l.find('-');
    const std::size_t space = l.find(' ');
    if (dash != std::string_view::npos && space != std::string_view::npos && dash < space && l.find(':') > space) {
      const auto begin = number(l.substr(0, dash), 16);
      const auto end = number(l.substr(dash + 1, space - dash - 1), 16);
      if (!begin || !end) return std::nullopt;
      ours = *begin >= first && *end <= last;
      continue;
    }
    if (!ours) continue;
    for (const auto& [key, total] : {std::pair<std::string_view, std::uint64_t*>{"Rss:", &r.resident_bytes},
                                     std::pair<std::string_view, std::uint64_t*>{"FilePmdMapped:", &r.huge_page_bytes}})
      if (l.starts_with(key)) {
        const auto kib = number(l.substr(key.size()), 10);
        if (!kib) return std::nullopt;
        *total += *kib * 1024;
      }
  }
  return r;
}

}  // namespace whale
