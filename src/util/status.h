// status.h — Error (message plus context chain) and Result<T>: the error currency across layers.
#pragma once

#include <fmt/format.h>

#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace whale {

// An error from outside the engine (a file, a request, a flag). The innermost message comes
// first; callers add where it happened with context(), and what() prints "outer: inner".
class Error {
 public:
  Error() = default;
  explicit Error(std::string message) : message_(std::move(message)) {}
  template <typename... Args>
  explicit Error(fmt::format_string<Args...> f, Args&&... args)
      : message_(fmt::format(f, std::forward<Args>(args)...)) {}

  template <typename... Args>
  Error& context(fmt::format_string<Args...> f, Args&&... args) & {
    context_.push_back(fmt::format(f, std::forward<Args>(args)...));
    return *this;
  }
  template <typename... Args>
  Error&& context(fmt::format_string<Args...> f, Args&&... args) && {
    context_.push_back(fmt::format(f, std::forward<Args>(args)...));
    return std::move(*this);
  }

  const std::string& message() const { return message_; }
  std::string what() const {
    std::string out;
    for (auto it = context_.rbegin(); it != context_.rend(); ++it) {
      out += *it;
      out += ": ";
    }
    out += message_;
    return out;
  }

 private:
  std::string message_;
  std::vector<std::string> context_;  // innermost first
};

// A value or an Error. Result<void> carries only success or an Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT implicit
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT implicit

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { return std::get<1>(state_); }
  Error&& error() && { return std::get<1>(std::move(state_)); }

  template <typename... Args>
  Result&& context(fmt::format_string<Args...> f, Args&&... args) && {
    if (!ok()) std::get<1>(state_).context(f, std::forward<Args>(args)...);
    return std::move(*this);
  }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT implicit

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return *error_; }
  Error&& error() && { return std::move(*error_); }

  template <typename... Args>
  Result&& context(fmt::format_string<Args...> f, Args&&... args) && {
    if (error_) error_->context(f, std::forward<Args>(args)...);
    return std::move(*this);
  }

 private:
  std::optional<Error> error_;
};

}  // namespace whale

// Evaluates a Result expression; on error returns the error from the enclosing function,
// otherwise assigns the value to `lhs` (which may be a declaration such as `auto x`).
#define WHALE_CONCAT_INNER(a, b) a##b
#define WHALE_CONCAT(a, b) WHALE_CONCAT_INNER(a, b)
#define WHALE_TRY(lhs, expr) WHALE_TRY_IMPL(WHALE_CONCAT(whale_try_, __LINE__), lhs, expr)
#define WHALE_TRY_IMPL(tmp, lhs, expr)     \
  auto tmp = (expr);                       \
  if (!tmp.ok()) return std::move(tmp).error(); \
  lhs = std::move(tmp).value()
// The Result<void> form.
#define WHALE_TRY_VOID(expr)                                       \
  do {                                                             \
    auto whale_try_void_ = (expr);                                 \
    if (!whale_try_void_.ok()) return std::move(whale_try_void_).error(); \
  } while (0)
