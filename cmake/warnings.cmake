# Warning flags for every whale target; -Werror when WHALE_WERROR is on (CI).
function(whale_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wno-missing-field-initializers)
  if(WHALE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# whale_library(NAME SOURCES... DEPS ...): a layer library with includes rooted at src/.
function(whale_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  whale_warnings(${name})
endfunction()
