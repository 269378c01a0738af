// fuzz_hf_config.cpp — libFuzzer target: config.json and generation_config.json readers on
// arbitrary text; whatever they accept must pass validation.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = whale::config_from_hf_json(text);
  if (config.ok()) {
    if (!whale::validate(*config).ok()) __builtin_trap();
    (void)config->attention_scale();
    for (std::int64_t l = 0; l < config->num_hidden_layers && l < 1024; ++l)
      (void)config->is_moe_layer(l);
  }
  (void)whale::generation_defaults_from_hf_json(text);
  return 0;
}
