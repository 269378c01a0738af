// check.h — WHALE_CHECK / WHALE_DCHECK: broken internal invariants abort with file, line, message.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace whale::detail {
[[noreturn]] inline void check_failed(const char* file, int line, const char* expr,
                                      const char* message) {
  std::fprintf(stderr, "whale: internal error at %s:%d: check failed: %s%s%s\n", file, line, expr,
               message[0] ? " — " : "", message);
  std::abort();
}
}  // namespace whale::detail

#define WHALE_CHECK(cond, ...)                                                          \
  do {                                                                                  \
    if (!(cond)) ::whale::detail::check_failed(__FILE__, __LINE__, #cond, "" __VA_ARGS__); \
  } while (0)

#ifdef NDEBUG
#define WHALE_DCHECK(cond, ...) \
  do {                          \
  } while (0)
#else
#define WHALE_DCHECK(cond, ...) WHALE_CHECK(cond, __VA_ARGS__)
#endif
