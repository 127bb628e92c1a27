#!/usr/bin/env bash
# W13: time to accuracy on the emulated network. The Fashion-MNIST MLP, then the CNN, on 4
# ranks of scripts/netcluster.sh (profile 1g-200us: 1 Gbit/s, 200 us) train until their
# test accuracy reaches 0.88: the exact all-reduce against top-k, PowerSGD, local SGD and
# (the MLP) the parameter server with staleness 4, each with Adam at a constant learning
# rate. Prints one table per network, a row per method (bytes a rank sends per step,
# epochs, training seconds, speed-up over exact).
#   bash benchmarks/w13.sh            # after the build (BUILD=build by default)
# TARGET, EPOCHS (the most to try), PROFILE and MODELS ("mlp cnn") override the defaults. Where the kernel has no
# netem the links are shaped in rate only, and the table says so. Exit 77 where the machine
# cannot run the emulated cluster at all.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
target=${TARGET:-0.88} epochs=${EPOCHS:-20} profile=${PROFILE:-1g-200us}
for exe in "$build/examples/mpi_data_parallel" "$build/examples/mpi_parameter_server"; do
  [ -x "$exe" ] || { echo "w13: $exe is missing: build the examples first (bash scripts/test.sh)" >&2; exit 2; }
done
cluster=(scripts/netcluster.sh -n 4 -p "$profile" -t 1800)
note="$profile"
set +e
scripts/netcluster.sh -n 1 -p "$profile" -- true 2>/dev/null
rc=$?
if [ $rc -eq 77 ]; then
  scripts/netcluster.sh -n 1 -p "$profile" --rate-only -- true 2>/dev/null || { echo "w13: no emulated cluster on this machine" >&2; exit 77; }
  cluster+=(--rate-only)
  note="$profile, rate only (this kernel has no netem: no added delay)"
fi
set -e
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(--epochs "$epochs" --target-accuracy "$target" --schedule constant)
run() {  # name, then the program and its options
  local name=$1
  shift
  "${cluster[@]}" -- "$@" "${common[@]}" >"$work/$name.txt" 2>&1 || true
}
seconds() { grep -Eo 'time_to_accuracy target=[0-9.]+ epochs=[0-9]+ training_seconds=[0-9.]+' "$work/$1.txt" | grep -Eo '[0-9.]+$' || true; }
epochs_of() { grep -Eo 'time_to_accuracy target=[0-9.]+ epochs=[0-9]+' "$work/$1.txt" | grep -Eo '[0-9]+$' || true; }
bytes() { grep -Eo 'bytes sent per rank and step: [0-9]+' "$work/$1.txt" | grep -Eo '[0-9]+$' || echo "-"; }

for model in ${MODELS:-mlp cnn}; do
  methods=(exact topk powersgd1 powersgd2 powersgd4 local)
  for m in "${methods[@]}"; do
    c=$m
    [ "$m" = exact ] && c=none
    run "$model-$m" "$build/examples/mpi_data_parallel" --model "$model" --compression "$c"
  done
  if [ "$model" = mlp ]; then
    methods+=(ssp4)
    run mlp-ssp4 "$build/examples/mpi_parameter_server" --staleness 4
  fi
  base=$(seconds "$model-exact")
  echo "W13: Fashion-MNIST $model to test accuracy $target on 4 ranks, $note"
  printf "%-26s %14s %7s %12s %9s\n" method bytes/step epochs seconds speed-up
  best=0 best_name=""
  for m in "${methods[@]}"; do
    s=$(seconds "$model-$m") e=$(epochs_of "$model-$m") b=$(bytes "$model-$m") label=$m
    if [ "$m" = ssp4 ]; then label="ssp4 (1 server, 3 workers)" b=$((235146 * 8)); fi  # a push and a pull
    if [ -z "$s" ]; then
      printf "%-26s %14s %7s %12s %9s\n" "$label" "$b" "-" "not reached" "-"
      continue
    fi
    up=$(awk -v a="${base:-0}" -v b="$s" 'BEGIN { if (a > 0) printf "%.2fx", a / b; else print "-" }')
    printf "%-26s %14s %7s %12.1f %9s\n" "$label" "$b" "$e" "$s" "$up"
    if [ "$m" != exact ] && [ -n "$base" ]; then
      better=$(awk -v a="$base" -v b="$s" -v c="$best" 'BEGIN { print (a / b > c) ? a / b : 0 }')
      if [ "$better" != 0 ]; then best=$better best_name=$label; fi
    fi
  done
  [ -n "$best_name" ] && awk -v b="$best" -v n="$best_name" 'BEGIN { printf "best: %s, %.2fx the exact all-reduce (target 2x)\n", n, b }'
  echo
done
