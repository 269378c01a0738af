// fuzz_gguf.cpp — libFuzzer target: parse_gguf on arbitrary bytes, then config_from_gguf and
// the info summary on whatever parses, and a writer round trip of what was read.
#include <cstddef>
#include <cstdint>
#include <span>

#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "format/model_files.h"
#include "model/config.h"
#include "model/model_info.h"

namespace {

// A broken property is a bug: stop with a crash the fuzzer records.
void require(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  auto parsed = whale::parse_gguf(bytes);
  if (!parsed.ok()) {
    require(!parsed.error().what().empty());
    return 0;
  }
  const whale::GgufContents& g = *parsed;
  for (const auto& t : g.tensors) {
    require(t.bytes.data() >= bytes.data());
    require(t.bytes.data() + t.bytes.size() <= bytes.data() + bytes.size());
    require(t.numel() > 0);
  }
  for (const auto& [key, value] : g.metadata.entries()) (void)value.to_display();

  auto config = whale::config_from_gguf(g.metadata);
  if (config.ok()) {
    whale::ModelFiles files;
    for (const auto& t : g.tensors) (void)files.tensors.add(t);
    auto summary = whale::summarize_model(files, *config);
    if (summary.ok()) (void)summary->kv_cache_bytes(4096, 2);
  }

  // What was read must write back and read again to the same metadata and tensor bytes.
  // Skipped for huge alignments, where re-laying out overlapping tensors could need gigabytes.
  if (g.alignment > 1024 || g.tensors.size() > 256) return 0;
  whale::GgufWriter writer(g.metadata);
  for (const auto& t : g.tensors) require(writer.add_tensor(t.name, t.dtype, t.shape, t.bytes).ok());
  auto rewritten = writer.to_bytes();
  require(rewritten.ok());
  auto again = whale::parse_gguf(*rewritten);
  require(again.ok());
  require(again->metadata == g.metadata);
  require(again->tensors.size() == g.tensors.size());
  for (std::size_t i = 0; i < g.tensors.size(); ++i) {
    require(again->tensors[i].name == g.tensors[i].name);
    require(again->tensors[i].shape == g.tensors[i].shape);
    require(std::equal(again->tensors[i].bytes.begin(), again->tensors[i].bytes.end(),
                       g.tensors[i].bytes.begin(), g.tensors[i].bytes.end()));
  }
  return 0;
}
