// cpu_features.h — run-time CPU feature checks behind the kernel tables.
#pragma once

namespace whale {

// AVX2 + FMA + F16C, usable by the OS (x86-64 only; false elsewhere).
bool cpu_has_avx2_fma_f16c();

}  // namespace whale
