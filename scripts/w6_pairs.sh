#!/usr/bin/env bash
# W6 as a user would time it: the Fashion-MNIST MLP example's own epoch_seconds with
# --threads 2 against the same run on one thread (ctnn::Trainer), the two alternating so
# that each pair sees the same state of a shared machine; prints every pair's ratio and
# their median (the first pair is a warm-up and is dropped). Where ctnn_bench is built
# (build/benchmarks, by scripts/test.sh or scripts/benchmarks.sh), each pair is followed by
# the Machine/barrier_step probe: how much faster than one core the host let two threads run
# a step of the same shape made of pure arithmetic, just after the pair (near 2 when the
# host is calm; it changes within seconds), with
# its one-thread step on each core (the two vCPUs do not always run at the same speed, and
# the faster one changes; the one-thread epoch runs unpinned, wherever the scheduler puts it), and
# the Machine/core_to_core/latency probe: a cache line's round trip between the two cores,
# which says where the host has put the two vCPUs — near each other (~100 ns) or far apart
# (~450 ns), a placement that changes every few minutes and moves the two-thread epoch by
# ~10% (docs/parallelism.md, "Performance notes"); the summary gives the median in each
# placement beside the whole.
#   bash scripts/w6_pairs.sh [PAIRS (default 8)] [extra example arguments...]
# W6_BASELINE=dp compares against ctnn::DataParallel on one thread (--threads 1
# --data-parallel: the same engine and weights) instead of ctnn::Trainer.
# Needs the example built in build-release (bash scripts/main.sh does it).
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-8}
shift || true
exe=build-release/examples/fashion_mnist_mlp
bench=build/benchmarks/ctnn_bench
if [[ ! -x $exe ]]; then
  echo "error: $exe not found; run bash scripts/main.sh first (it builds the example)" >&2
  exit 1
fi
[[ -x $bench ]] || echo "note: $bench not built: pairs without the host probe" >&2
args=(--optimizer sgd --momentum 0.9 --epochs 3 --schedule constant "$@")
base=()
case ${W6_BASELINE:-trainer} in
  trainer) ;;
  dp) base=(--threads 1 --data-parallel) ;;
  *) echo "error: W6_BASELINE must be trainer or dp, not '${W6_BASELINE}'" >&2; exit 2 ;;
esac
epoch() { "$exe" "${args[@]}" "$@" | sed -n 's/^result .*epoch_seconds=\([0-9.]*\).*/\1/p'; }
probe() {  # prints "<barrier_step speedup> <core round trip in ns> <core 0's one-thread step µs> <core 1's>"
  [[ -x $bench ]] || return 0
  "$bench" --benchmark_filter='^Machine/(barrier_step/|core_to_core/latency)' 2>/dev/null |
    awk '/^Machine\/barrier_step/ { for (i = 1; i <= NF; ++i) {
           if ($i ~ /^speedup=/) { sub(/speedup=/, "", $i); s = $i }
           if ($i ~ /^one_thread_core[01]_us=/) { k = substr($i, 16, 1); sub(/^[^=]*=/, "", $i); one[k] = $i } } }
         /^Machine\/core_to_core\/latency/ { rt = $2 }
         END { if (s != "") printf "%s %s %.0f %.0f\n", s, rt, one[0], one[1] }'
}
rows=()
for ((i = 0; i <= pairs; ++i)); do
  one=$(epoch "${base[@]}")
  two=$(epoch --threads 2)
  if [[ -z $one || -z $two ]]; then
    echo "error: the example printed no result line" >&2
    exit 1
  fi
  r=$(awk -v a="$one" -v b="$two" 'BEGIN { printf "%.3f", a / b }')
  if ((i == 0)); then
    echo "warm-up: 1 thread ${one} s, 2 threads ${two} s (dropped)"
    continue
  fi
  read -r c rt c0 c1 <<<"$(probe)" || true
  echo "pair $i: 1 thread ${one} s, 2 threads ${two} s, ratio ${r}${c:+, host probe $c (one thread: core 0 ${c0} µs, core 1 ${c1} µs), core round trip ${rt} ns}"
  rows+=("$r ${c:-0} ${rt:-0}")
done
printf '%s\n' "${rows[@]}" | awk -v base="${W6_BASELINE:-trainer}" '
  function median(a, n,   i, j, t) {
    for (i = 2; i <= n; ++i) for (j = i; j > 1 && a[j - 1] > a[j]; --j) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { r[NR] = $1; c[NR] = $2; lo = NR == 1 || $1 < lo ? $1 : lo; hi = NR == 1 || $1 > hi ? $1 : hi
    if ($3 > 0 && $3 < 250) near[++nn] = $1; else if ($3 >= 250) far[++nf] = $1 }
  END {
    printf "W6 epoch, 2 threads vs 1 (" base "): median %.3f (min %.3f, max %.3f) over %d pairs\n", median(r, NR), lo, hi, NR
    if (c[1] > 0) printf "host probe (pure-arithmetic step, 2 threads vs the faster core) after each pair: median %.3f\n", median(c, NR)
    if (nn + nf > 0) printf "by the cores'"'"' round trip after the pair: below 250 ns (near) median %s over %d pairs; 250 ns or more (far) median %s over %d pairs\n", nn ? sprintf("%.3f", median(near, nn)) : "-", nn, nf ? sprintf("%.3f", median(far, nf)) : "-", nf
  }'
