// cpu_features.cpp — CPU feature detection. F16C is read from CPUID directly because clang 14's
// __builtin_cpu_supports does not know the "f16c" name. AArch64 features come from the OS
// (the feature registers are not readable from user space everywhere).
#include "kernels/cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#elif defined(__aarch64__) && defined(__APPLE__)
#include <sys/sysctl.h>

#include <cstddef>
#endif

namespace whale {

bool cpu_has_avx2_fma_f16c() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return false;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (ecx & (1u << 29)) != 0;  // CPUID.1:ECX.F16C[bit 29]
#else
  return false;
#endif
}

bool cpu_has_avx512_vnni_vl() {
#if defined(__x86_64__) || defined(__i386__)
  // libgcc's / compiler-rt's checks include the OS saving the AVX-512 state (XCR0).
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512bw");
#else
  return false;
#endif
}

bool cpu_has_neon_dotprod() {
#if defined(__aarch64__) && defined(__linux__)
  return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;  // <sys/auxv.h> includes the HWCAP bits
#elif defined(__aarch64__) && defined(__APPLE__)
  int value = 0;
  std::size_t size = sizeof(value);
  return sysctlbyname("hw.optional.arm.FEAT_DotProd", &value, &size, nullptr, 0) == 0 && value != 0;
#else
  return false;
#endif
}

}  // namespace whale
