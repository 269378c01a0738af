// cpu_features.h — run-time CPU feature checks behind the kernel tables.
#pragma once

#include <string_view>

namespace whale {

// AVX2 + FMA + F16C, usable by the OS (x86-64 only; false elsewhere).
bool cpu_has_avx2_fma_f16c();
// AVX512-VNNI with AVX512VL (vpdpbusd / vpdpwssd on 256-bit registers) and AVX512BW (byte
// masks: the Q5 fifth bits; the 512-bit row-pair kernels), usable by the OS.
bool cpu_has_avx512_vnni_vl();
// The AArch64 dot-product extension (sdot / udot, FEAT_DotProd), usable by the OS (Linux:
// HWCAP_ASIMDDP; macOS: hw.optional.arm.FEAT_DotProd). false elsewhere.
bool cpu_has_neon_dotprod();

namespace {  // internal linkage, like every header the ISA translation units include

// The function a table built for the named kernel set: "portable" (always), "avx2" (on a CPU
// with cpu_has_avx2_fma_f16c), "avx512" (with cpu_has_avx512_vnni_vl too: that set's flags
// include AVX2's); nullptr for another name, a CPU without the set, or a build without it
// (pass nullptr for a set the build lacks).
template <class Fn>
Fn kernel_of_set(std::string_view name, Fn portable, Fn avx2, Fn avx512) {
  if (name == "portable") return portable;
  if (name == "avx2") return cpu_has_avx2_fma_f16c() ? avx2 : nullptr;
  if (name == "avx512") return cpu_has_avx2_fma_f16c() && cpu_has_avx512_vnni_vl() ? avx512 : nullptr;
  return nullptr;
}

}  // namespace

}  // namespace whale
