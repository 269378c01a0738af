// iq_codebooks.h — the lattice codebooks of the IQ2_XXS and IQ1_S / IQ1_M formats.
//
// A block of these types stores, for each group of 8 weights, the index of one codebook entry:
// 8 small integers. The codebooks are part of the file format (a file means nothing without
// them) and cannot be derived from a rule: they were chosen by ggml's authors as the lattice
// points most used by real weights. Both are subsets of the 3^8 points whose 8 coordinates each
// take one of 3 levels, listed in ascending order of the point's base-3 code
// (coordinate j is digit j, least significant first):
//   IQ2_XXS: 256 points, levels {8, 25, 43} (magnitudes; signs are stored apart)
//   IQ1_S / IQ1_M: 2048 points, levels {-1, 0, 1}
// iq_codebooks.cpp stores each as a membership bitmap over the 6561 codes and expands it at
// compile time. Data only (no inline code), so ISA-specific translation units may include it.
#pragma once

#include <array>
#include <cstdint>

namespace whale {

inline constexpr int kLatticeCodes = 6561;  // 3^8

// Entry k as 8 bytes, coordinate j in byte j (little-endian u64): the form the kernels load.
extern const std::array<std::uint64_t, 256> kIq2xxsGrid;   // bytes 8, 25, 43
extern const std::array<std::uint64_t, 2048> kIq1sGrid;    // bytes of int8 -1, 0, 1

}  // namespace whale
