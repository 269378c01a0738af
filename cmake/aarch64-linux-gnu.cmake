# aarch64-linux-gnu.cmake — CMake toolchain for cross-compiling to 64-bit Arm Linux with
# Debian's g++-aarch64-linux-gnu; tests run under qemu-aarch64 (Debian: qemu-user), whose
# default CPU model ("max") has the dot-product extension.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest (and gtest_discover_tests at build time) run the test binaries through qemu, with the
# target's dynamic loader and libraries from the cross toolchain's sysroot.
find_program(WHALE_QEMU_AARCH64 qemu-aarch64 REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${WHALE_QEMU_AARCH64} -L /usr/aarch64-linux-gnu)
