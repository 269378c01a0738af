// npy.h — writes NumPy .npy (format version 1.0) float32 arrays, the exchange format of
// `whale logits`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "util/status.h"

namespace whale {

Result<void> write_npy_f32(const std::filesystem::path& path, std::span<const float> data,
                           const std::vector<std::int64_t>& shape);

}  // namespace whale
