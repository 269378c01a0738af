// text_file.h — read a whole (small) text file such as config.json.
#pragma once

#include <filesystem>
#include <string>

#include "util/status.h"

namespace whale {
Result<std::string> read_text_file(const std::filesystem::path& path);
Result<void> write_text_file(const std::filesystem::path& path, std::string_view text);
}  // namespace whale
