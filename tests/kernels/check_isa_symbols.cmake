# check_isa_symbols.cmake — fails when an object compiled with ISA-specific flags defines a
# weak, vague-linkage or unique symbol: the linker could pick that copy (AVX2 code) for callers
# in baseline translation units, which would crash on CPUs without the ISA (the ODR hazard).
# Usage: cmake -DNM=<nm> -DOBJECTS=<list> -DISA_DIR=x86_avx2 -P check_isa_symbols.cmake
set(checked 0)
foreach(obj ${OBJECTS})
  if(NOT obj MATCHES "/${ISA_DIR}/")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  execute_process(COMMAND ${NM} -C ${obj} OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nm failed on ${obj}")
  endif()
  # DW.ref.__gxx_personality_v0 is a data word holding the address of the C++ exception
  # personality routine, identical in every object that has unwind tables (the sanitizer build
  # keeps them around the kernels' tile lambdas): sharing it cannot run ISA-specific code.
  string(REGEX REPLACE "[^\n]* V DW\\.ref\\.__gxx_personality_v0\n?" "" symbols "${symbols}")
  string(REGEX MATCHALL "[^\n]* [WVu] [^\n]*" shared "${symbols}")
  if(shared)
    string(REPLACE ";" "\n" shared "${shared}")
    message(FATAL_ERROR "${obj} defines symbols the linker may share with other objects:\n${shared}")
  endif()
endforeach()
if(checked EQUAL 0)
  message(FATAL_ERROR "no ${ISA_DIR} objects found")
endif()
message(STATUS "${checked} ${ISA_DIR} objects define only local or strong symbols")
