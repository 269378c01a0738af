// system_memory.h — how much memory this machine can give right now.
#pragma once

#include <cstdint>

namespace whale {

// Bytes of physical memory free now (not counting what the page cache could give back), the
// figure the engine sizes its KV caches and warm-up reads against.
std::uint64_t available_memory_bytes();

}  // namespace whale
