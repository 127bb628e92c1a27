#!/usr/bin/env bash
# Fuzzes ctnn's loaders (safetensors weight files, IDX data sets) with libFuzzer under
# AddressSanitizer and UndefinedBehaviorSanitizer: RUNS inputs each (default 1,000,000),
# the two harnesses side by side. Needs clang-15 and libfuzzer-15-dev (scripts/deps.sh).
# Prints one "fuzz_<harness>: Done N runs in S second(s)" line each; exits non-zero on any
# crash, leak or sanitizer report (the reproducer is left in build-fuzz/).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-1000000}"
cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-15 -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz
pids=()
for h in safetensors idx; do
  mkdir -p "build-fuzz/corpus_$h"
  ( cd build-fuzz && "./fuzz_$h" "corpus_$h" "../fuzz/corpus/$h" -runs="$RUNS" -rss_limit_mb=2048 \
      -print_final_stats=1 >"fuzz_$h.log" 2>&1 ) &
  pids+=($!)
done
status=0
for i in 0 1; do
  h=$([ "$i" = 0 ] && echo safetensors || echo idx)
  if wait "${pids[$i]}"; then
    echo "fuzz_$h: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second\(s\)' "build-fuzz/fuzz_$h.log"), no crash, leak or sanitizer report"
  else
    echo "fuzz_$h: FAILED, see build-fuzz/fuzz_$h.log" >&2
    tail -30 "build-fuzz/fuzz_$h.log" >&2
    status=1
  fi
done
exit $status
