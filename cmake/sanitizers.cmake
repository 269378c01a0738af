# AddressSanitizer + UndefinedBehaviorSanitizer for the whole build when WHALE_SANITIZE is on.
if(WHALE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
