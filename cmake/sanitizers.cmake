# AddressSanitizer + UndefinedBehaviorSanitizer for the whole build when WHALE_SANITIZE is on.
if(WHALE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# libFuzzer builds (clang only): coverage instrumentation plus ASan/UBSan for every target, so
# the parsers the fuzzers call are instrumented; the fuzz targets add -fsanitize=fuzzer.
if(WHALE_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
