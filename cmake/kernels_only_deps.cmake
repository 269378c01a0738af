# kernels_only_deps.cmake — the outside libraries of the kernels-only build (WHALE_KERNELS_ONLY,
# used for the aarch64 cross build), taken without installing target-architecture packages:
# fmt header-only from the host's headers (architecture-independent) and GoogleTest compiled
# from the sources Debian's googletest package ships.
find_path(WHALE_HOST_FMT_INCLUDE fmt/format.h PATHS /usr/include /usr/local/include
          NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
if(NOT WHALE_HOST_FMT_INCLUDE)
  message(FATAL_ERROR "fmt headers not found (Debian: libfmt-dev); set WHALE_HOST_FMT_INCLUDE")
endif()
# Only the fmt folder goes on the include path: the host's /usr/include must not shadow the
# target's C library headers.
set(whale_host_headers ${CMAKE_BINARY_DIR}/host-headers)
file(MAKE_DIRECTORY ${whale_host_headers})
file(CREATE_LINK ${WHALE_HOST_FMT_INCLUDE}/fmt ${whale_host_headers}/fmt SYMBOLIC)
add_library(fmt::fmt INTERFACE IMPORTED)
target_include_directories(fmt::fmt INTERFACE ${whale_host_headers})
target_compile_definitions(fmt::fmt INTERFACE FMT_HEADER_ONLY=1)

if(WHALE_BUILD_TESTS)
  set(WHALE_GTEST_SOURCE_DIR /usr/src/googletest CACHE PATH "GoogleTest sources (Debian: googletest)")
  if(NOT EXISTS ${WHALE_GTEST_SOURCE_DIR}/CMakeLists.txt)
    message(FATAL_ERROR "GoogleTest sources not found in ${WHALE_GTEST_SOURCE_DIR} (Debian: googletest)")
  endif()
  set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  add_subdirectory(${WHALE_GTEST_SOURCE_DIR} ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
  # GCC 12 warns (-Wrestrict) inside libstdc++ as GoogleTest uses it: not ours to fix, only noise.
  target_compile_options(gtest PRIVATE -w)
  target_compile_options(gtest_main PRIVATE -w)
endif()
