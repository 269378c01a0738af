// aligned_buffer.h — an owning, 64-byte-aligned, move-only array for kernels and scratch.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

namespace whale {

inline constexpr std::size_t kCacheLineBytes = 64;
// x86-64's and AArch64's (4 KiB granule) transparent huge page size.
inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

// Asks AlignedBuffer for storage its caller writes first (see its constructor).
struct LeftUninitialized {};
inline constexpr LeftUninitialized kLeftUninitialized{};

// Zero-initialised (unless asked otherwise) storage for trivially copyable T, aligned to a
// cache line so SIMD loads never split lines and threads writing neighbouring buffers never
// share one. Buffers of 2 MiB or more (KV cache blocks, repacked weights, the roofline's read
// buffer) are aligned to and backed by transparent huge pages where the kernel allows: a stream
// over 4 KiB pages misses the TLB every page, which cost ~25 % of decode speed here
// (docs/kernels.md, "Huge pages").
template <typename T>
class AlignedBuffer {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t count) : AlignedBuffer(count, kLeftUninitialized) {
    if (data_ != nullptr) std::memset(static_cast<void*>(data_), 0, allocated_bytes(count));
  }
  // Storage whose first write is the caller's: where several threads each write their share
  // (the roofline's read buffer), each faults in its own pages instead of this thread zeroing
  // them all first.
  AlignedBuffer(std::size_t count, LeftUninitialized) : size_(count) {
    if (count == 0) return;
    const std::size_t bytes = allocated_bytes(count);
    const std::size_t align = alignment(count);
    data_ = static_cast<T*>(std::aligned_alloc(align, bytes));
    if (data_ == nullptr) throw std::bad_alloc();
    // Before the first touch, so that touch already faults in huge pages. A hint: a kernel
    // without THP leaves 4 KiB pages and the buffer works the same.
    if (align == kHugePageBytes) ::madvise(static_cast<void*>(data_), bytes, MADV_HUGEPAGE);
  }
  AlignedBuffer(AlignedBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept {
    if (this != &other) {
      std::free(data_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { std::free(data_); }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  std::span<T> span() { return {data_, size_}; }
  std::span<const T> span() const { return {data_, size_}; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }

 private:
  static std::size_t alignment(std::size_t count) {
    return count * sizeof(T) >= kHugePageBytes ? kHugePageBytes : kCacheLineBytes;
  }
  // The byte count rounded up to a multiple of the alignment, as aligned_alloc wants.
  static std::size_t allocated_bytes(std::size_t count) {
    const std::size_t align = alignment(count);
    return (count * sizeof(T) + align - 1) / align * align;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
};

// Grows `b` to at least `n` elements (discarding its contents); scratch buffers use this so
// steady-state steps, which need no more than earlier ones, never allocate.
template <typename T>
void ensure_size(AlignedBuffer<T>& b, std::size_t n) {
  if (b.size() < n) b = AlignedBuffer<T>(n);
}

}  // namespace whale
