# Flags for ctnn's own tests, examples and benchmarks (never imposed on consumers).
set(CTNN_ARCH_FLAGS "-march=native" CACHE STRING "Target architecture flags for ctnn's own binaries")
set(CTNN_COMPILE_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion)
# GCC 12 warns inside its own AVX-512 intrinsic headers (the self-initialised
# "undefined" registers of _mm512_undefined_ps, GCC PR 105593, fixed in GCC 13) once
# they are inlined into xsimd's math functions.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND CTNN_COMPILE_WARNINGS -Wno-uninitialized -Wno-maybe-uninitialized)
endif()

separate_arguments(_ctnn_arch_flags UNIX_COMMAND "${CTNN_ARCH_FLAGS}")

function(ctnn_set_flags target)
  target_compile_options(${target} PRIVATE ${CTNN_COMPILE_WARNINGS} ${_ctnn_arch_flags})
endfunction()
