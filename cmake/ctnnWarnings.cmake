# Flags for ctnn's own tests, examples and benchmarks (never imposed on consumers).
set(CTNN_ARCH_FLAGS "-march=native" CACHE STRING "Target architecture flags for ctnn's own binaries")
set(CTNN_COMPILE_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion)

function(ctnn_set_flags target)
  target_compile_options(${target} PRIVATE ${CTNN_COMPILE_WARNINGS} ${CTNN_ARCH_FLAGS})
endfunction()
