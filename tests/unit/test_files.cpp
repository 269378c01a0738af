// test_files.cpp — scratch folders, file I/O and CLI runs for tests.
#include "unit/test_files.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace whale::test {

namespace {
// $WHALE_TEST_TMP/<suite>.<test>, not created.
std::filesystem::path test_path() {
  const char* env = std::getenv("WHALE_TEST_TMP");
#ifdef WHALE_TEST_TMP_DIR
  if (env == nullptr) env = WHALE_TEST_TMP_DIR;  // set per build by whale_test()
#endif
  std::filesystem::path root = env != nullptr ? std::filesystem::path(env)
                                              : std::filesystem::temp_directory_path() / "whale-test";
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info != nullptr
                         ? std::string(info->test_suite_name()) + "." + info->name()
                         : std::string("no-test");
  for (char& c : name)
    if (c == '/') c = '_';
  return root / name;
}
}  // namespace

std::filesystem::path scratch_dir() {
  const std::filesystem::path dir = test_path();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void write_bytes(const std::filesystem::path& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) ADD_FAILURE() << "cannot write " << path;
}

void write_text(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) ADD_FAILURE() << "cannot write " << path;
}

std::vector<std::byte> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string s = ss.str();
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

std::string whale_bin() {
  const char* env = std::getenv("WHALE_BIN");
  return env != nullptr ? env : "";
}

namespace {
// Single-quoted for sh. Built with push_back: GCC 12 at -O3 misreports "literal" + string
// concatenation as an overlapping memcpy (-Wrestrict), which -Werror turns into a failure.
std::string quote(const std::string& s) {
  std::string out(1, '\'');
  for (char c : s) {
    if (c == '\'') {
      for (char e : {'\'', '\\', '\'', '\''}) out.push_back(e);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}
std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

CommandResult run_whale(const std::vector<std::string>& args) {
  CommandResult r;
  const std::filesystem::path dir = test_path().string() + ".cmd";
  std::filesystem::create_directories(dir);
  std::string cmd = quote(whale_bin());
  for (const auto& a : args) {
    cmd.push_back(' ');
    cmd += quote(a);
  }
  cmd += fmt::format(" >{} 2>{}", quote((dir / "out").string()), quote((dir / "err").string()));
  const int status = std::system(cmd.c_str());
  if (status != -1 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  else if (status != -1 && WIFSIGNALED(status)) r.exit_code = 128 + WTERMSIG(status);
  r.out = slurp(dir / "out");
  r.err = slurp(dir / "err");
  return r;
}

}  // namespace whale::test
