// test_files.h — scratch folders, file I/O and running the whale CLI from tests.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace whale::test {

// A fresh, empty folder under $WHALE_TEST_TMP (or the system temp dir) named after the
// running test, so parallel test binaries never share files.
std::filesystem::path scratch_dir();

void write_bytes(const std::filesystem::path& path, const std::vector<std::byte>& bytes);
void write_text(const std::filesystem::path& path, std::string_view text);
std::vector<std::byte> read_bytes(const std::filesystem::path& path);

template <typename T>
std::vector<std::byte> as_bytes(const std::vector<T>& v) {
  const auto* p = reinterpret_cast<const std::byte*>(v.data());
  return {p, p + v.size() * sizeof(T)};
}

struct CommandResult {
  int exit_code = -1;  // the process's exit status; 128+N when killed by signal N
  std::string out;     // stdout
  std::string err;     // stderr
};
// Runs `$WHALE_BIN args...` (each argument single-quoted) and captures both streams.
CommandResult run_whale(const std::vector<std::string>& args);
// Path of the whale binary, or empty when WHALE_BIN is unset.
std::string whale_bin();

}  // namespace whale::test
