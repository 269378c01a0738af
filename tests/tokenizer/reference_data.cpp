// reference_data.cpp — generate-once cache of the npm reference outputs.
#include "tokenizer/reference_data.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>

namespace whale::test {
namespace fs = std::filesystem;

namespace {
fs::file_time_type newest_input(const fs::path& root) {
  auto newest = fs::file_time_type::min();  // the clock's epoch is in the future: not {}
  for (const char* f : {"reference.mjs", "package-lock.json", "data/corpus.json",
                        "data/conversations.json"})
    newest = std::max(newest, fs::last_write_time(root / f));
  // The bundled model's vocabulary is one of the references' inputs too.
  const fs::path tiny = root / ".." / ".." / "models" / "whale-r1-tiny" / "hf";
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    newest = std::max(newest, fs::last_write_time(tiny / f));
  for (const auto& e : fs::directory_iterator(root / "data" / "templates"))
    newest = std::max(newest, fs::last_write_time(e.path()));
  return newest;
}
}  // namespace

std::optional<fs::path> reference_dir(std::string* why) {
  const fs::path root = "tests/tokenizer";
  if (!fs::exists(root / "node_modules" / "tokenizers-linux-x64-gnu") ||
      !fs::exists(root / "node_modules" / "@huggingface" / "jinja")) {
    *why = "tests/tokenizer/node_modules is missing: run `npm ci --prefix tests/tokenizer` to "
           "install the Hugging Face reference tokenizers and vocabularies";
    return std::nullopt;
  }
  const char* tmp_env = std::getenv("WHALE_TEST_TMP");
  const fs::path tmp = tmp_env ? tmp_env : "build/test-tmp";
  const fs::path dir = tmp / "tokenizer-reference";
  const fs::path stamp = dir / "complete";
  if (fs::exists(stamp) && fs::last_write_time(stamp) >= newest_input(root)) return dir;

  // Generate into a private folder and rename it into place, so parallel test processes never
  // see a half-written reference.
  fs::create_directories(tmp);
  const fs::path work = tmp / fmt::format("tokenizer-reference.{}", ::getpid());
  fs::remove_all(work);
  const std::string cmd = fmt::format("node {} {} > {} 2>&1", (root / "reference.mjs").string(),
                                      work.string(), (tmp / "tokenizer-reference.log").string());
  if (std::system(cmd.c_str()) != 0) {
    *why = fmt::format("reference generator failed: {} (see {})", cmd,
                       (tmp / "tokenizer-reference.log").string());
    return fs::path();  // empty: the caller fails the test
  }
  { std::FILE* f = std::fopen((work / "complete").c_str(), "w"); if (f) std::fclose(f); }
  std::error_code ec;
  if (fs::exists(stamp) && fs::last_write_time(stamp) >= newest_input(root)) {
    fs::remove_all(work, ec);  // another process finished first; use its copy
    return dir;
  }
  fs::remove_all(dir, ec);
  fs::rename(work, dir, ec);
  if (ec) fs::remove_all(work, ec);
  return dir;
}

}  // namespace whale::test
