# Sanitised and fuzzing builds (scripts/sanitize.sh configures them; the
# normal build sets neither option and is unchanged).
#
#   DENSESSM_SANITIZE=address,undefined   (or thread) instruments everything
#       compiled here. vptr checks are off: they need RTTI, which LLVM-style
#       code does not promise (LLVM may be built with -fno-rtti, and then so
#       is densessm). Every UBSan finding is fatal (-fno-sanitize-recover),
#       as ASan's are.
#   DENSESSM_FUZZERS=ON   adds coverage instrumentation for libFuzzer and the
#       fuzz targets of fuzz/ (needs DENSESSM_SANITIZE=address,undefined).
#
# LLVM/MLIR's shared libraries, OpenBLAS, libomp and the modules that
# densessm-compile writes stay uninstrumented; ASan and UBSan cope with that.

set(DENSESSM_SANITIZE "" CACHE STRING
    "Sanitizers for every target, e.g. address,undefined or thread (empty: none)")
option(DENSESSM_FUZZERS "Build the libFuzzer targets of fuzz/" OFF)

if(DENSESSM_SANITIZE)
  set(densessm_sanitize_flags -fsanitize=${DENSESSM_SANITIZE}
      -fno-omit-frame-pointer -g)
  if(DENSESSM_SANITIZE MATCHES "undefined")
    list(APPEND densessm_sanitize_flags -fno-sanitize=vptr
         -fno-sanitize-recover=all)
  endif()
  add_compile_options(${densessm_sanitize_flags})
  add_link_options(-fsanitize=${DENSESSM_SANITIZE})
  # A sanitised shared library leaves the sanitizer runtime's symbols to the
  # executable that loads it, so LLVM's -z defs cannot hold.
  string(REPLACE "-Wl,-z,defs" "" CMAKE_SHARED_LINKER_FLAGS
         "${CMAKE_SHARED_LINKER_FLAGS}")
  message(STATUS "densessm: sanitizers ${DENSESSM_SANITIZE}")
endif()

if(DENSESSM_FUZZERS)
  if(NOT DENSESSM_SANITIZE MATCHES "address")
    message(FATAL_ERROR "DENSESSM_FUZZERS=ON needs DENSESSM_SANITIZE=address,undefined")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
  message(STATUS "densessm: libFuzzer targets in fuzz/")
endif()
