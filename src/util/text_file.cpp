// text_file.cpp — whole-file text I/O with errors that name the file.
#include "util/text_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace whale {

Result<std::string> read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error("cannot open {}: {}", path.string(), std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error("cannot read {}", path.string());
  return ss.str();
}

Result<void> write_text_file(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  if (!out) return Error("cannot create {}: {}", path.string(), std::strerror(errno));
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) return Error("cannot write {}", path.string());
  return {};
}

}  // namespace whale
