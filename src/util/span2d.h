// span2d.h — non-owning row-major 2-D views (rows x cols with a row stride) for activations.
#pragma once

#include <cstdint>
#include <span>

#include "util/check.h"

namespace whale {

template <typename T>
class Span2D {
 public:
  Span2D() = default;
  Span2D(T* data, std::int64_t rows, std::int64_t cols, std::int64_t stride)
      : data_(data), rows_(rows), cols_(cols), stride_(stride) {
    WHALE_DCHECK(stride >= cols);
  }
  Span2D(T* data, std::int64_t rows, std::int64_t cols) : Span2D(data, rows, cols, cols) {}
  // A const view of a mutable one.
  template <typename U>
  Span2D(const Span2D<U>& other)  // NOLINT implicit
      : data_(other.data()), rows_(other.rows()), cols_(other.cols()), stride_(other.stride()) {}

  T* data() const { return data_; }
  std::int64_t rows() const { return rows_; }
  std::int64_t cols() const { return cols_; }
  std::int64_t stride() const { return stride_; }
  T* row(std::int64_t r) const {
    WHALE_DCHECK(r >= 0 && r < rows_);
    return data_ + r * stride_;
  }
  std::span<T> row_span(std::int64_t r) const { return {row(r), static_cast<std::size_t>(cols_)}; }
  // Columns [c0, c0 + n) of every row.
  Span2D cols_slice(std::int64_t c0, std::int64_t n) const {
    WHALE_DCHECK(c0 >= 0 && c0 + n <= cols_);
    return Span2D(data_ + c0, rows_, n, stride_);
  }
  Span2D rows_slice(std::int64_t r0, std::int64_t n) const {
    WHALE_DCHECK(r0 >= 0 && r0 + n <= rows_);
    return Span2D(data_ + r0 * stride_, n, cols_, stride_);
  }

 private:
  T* data_ = nullptr;
  std::int64_t rows_ = 0;
  std::int64_t cols_ = 0;
  std::int64_t stride_ = 0;
};

}  // namespace whale
