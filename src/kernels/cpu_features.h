// cpu_features.h — run-time CPU feature checks behind the kernel tables.
#pragma once

namespace whale {

// AVX2 + FMA + F16C, usable by the OS (x86-64 only; false elsewhere).
bool cpu_has_avx2_fma_f16c();
// AVX512-VNNI with AVX512VL (vpdpbusd / vpdpwssd on 256-bit registers) and AVX512BW (byte
// masks: the Q5 fifth bits; the 512-bit row-pair kernels), usable by the OS.
bool cpu_has_avx512_vnni_vl();
// The AArch64 dot-product extension (sdot / udot, FEAT_DotProd), usable by the OS (Linux:
// HWCAP_ASIMDDP; macOS: hw.optional.arm.FEAT_DotProd). false elsewhere.
bool cpu_has_neon_dotprod();

}  // namespace whale
