#!/usr/bin/env bash
# A/B timing of two commits on this machine: builds ctnn_bench at BASE and at HEAD (each in
# its own worktree and build folder, cached under build-ab/), then runs ctnn's own rows of
# W1–W7 and W9 from both binaries alternately, ROUNDS times (base, head, base, head, ...), so
# both see the same state of a shared machine. Prints per benchmark the median of each and
# head/base (below 1: head is faster) and whether it is within 3%.
#   bash scripts/ab.sh BASE HEAD [ROUNDS (default 5)]
# BASE and HEAD are any commits (HEAD may be the word HEAD); the working tree is not used.
# AB_FILTER overrides the benchmark filter; AB_FLAGS the -march flags (default: native).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 2 ]]; then
  echo "usage: bash scripts/ab.sh BASE HEAD [ROUNDS]" >&2
  exit 2
fi
rounds=${3:-5}
filter=${AB_FILTER:-'^W(1|2|3|4|5|9)/[a-z_0-9]+/ctnn$|^W6/train_step_b64/(ctnn|trainer)/real_time$|^W7/[a-z_0-9]+/ctnn/real_time$'}
root=$PWD
mkdir -p build-ab
build_at() {  # builds ctnn_bench at commit $1 into build-ab/<sha>; prints the binary's path
  local sha
  sha=$(git rev-parse --verify "$1^{commit}")
  local src=build-ab/src-$sha bin=build-ab/$sha
  if [[ ! -x $bin/benchmarks/ctnn_bench ]]; then
    [[ -d $src ]] || git worktree add --detach "$src" "$sha" >&2
    local launcher=()
    command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    cmake -S "$src" -B "$bin" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCTNN_WITH_CUDA=OFF "${launcher[@]}" \
      ${AB_FLAGS:+-DCTNN_ARCH_FLAGS="$AB_FLAGS"} > "$bin.configure.log" 2>&1 ||
      { echo "error: configuring $1 failed (see $bin.configure.log)" >&2; exit 1; }
    cmake --build "$bin" --target ctnn_bench > "$bin.build.log" 2>&1 ||
      { echo "error: building ctnn_bench at $1 failed (see $bin.build.log)" >&2; exit 1; }
  fi
  echo "$root/$bin/benchmarks/ctnn_bench"
}
base=$(build_at "$1")
head=$(build_at "$2")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq 1 "$rounds"); do
  for side in base head; do
    exe=$base
    [[ $side == head ]] && exe=$head
    "$exe" --benchmark_filter="$filter" --benchmark_format=json --benchmark_min_time=0.2 \
      > "$out/$side-$r.json" 2> /dev/null
  done
  echo "round $r of $rounds done" >&2
done
python3 - "$out" "$rounds" "$1" "$2" <<'PY'
import json, statistics, sys
out, rounds, base_name, head_name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
times = {"base": {}, "head": {}}
isa = {}
for side in times:
    for r in range(1, rounds + 1):
        data = json.load(open(f"{out}/{side}-{r}.json"))
        isa[side] = data.get("context", {}).get("ctnn_isa", "?")
        for b in data["benchmarks"]:
            if b.get("run_type", "iteration") != "iteration":
                continue
            t = b["real_time"] if b["name"].endswith("real_time") else b["cpu_time"]
            times[side].setdefault(b["name"], []).append(t * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]])
names = [n for n in times["head"] if n in times["base"]]
print(f"ab: base {base_name} ({isa.get('base')}), head {head_name} ({isa.get('head')}), {rounds} alternating rounds, medians")
print(f"{'benchmark':58} {'base':>12} {'head':>12} {'head/base':>10}")
worst = 0.0
for n in names:
    b, h = statistics.median(times["base"][n]), statistics.median(times["head"][n])
    ratio = h / b
    worst = max(worst, ratio)
    unit, scale = ("µs", 1e3) if b < 1e6 else ("ms", 1e6)
    flag = "" if ratio <= 1.03 else "  > 3% slower"
    print(f"{n:58} {b / scale:9.2f} {unit} {h / scale:9.2f} {unit} {ratio:10.3f}{flag}")
missing = sorted(set(times["base"]) ^ set(times["head"]))
if missing:
    print("only in one build (not compared): " + ", ".join(missing))
print(f"largest head/base: {worst:.3f} ({'every median within 3%' if worst <= 1.03 else 'some median more than 3% slower'})")
PY
