#!/usr/bin/env bash
# Kill-and-resume check for the Fashion-MNIST examples: trains 4 epochs straight (weights
# fingerprint A); trains again with --checkpoint, SIGKILLs the process during epoch 3,
# resumes with --resume, and requires the final fingerprint to equal A bit for bit.
#   examples/kill_and_resume.sh EXE [options for EXE...]
# LAUNCH, if set, runs EXE through a launcher (e.g. LAUNCH="mpirun -np 2"); the kill then
# reaches every process of the run (all ranks), as a crash of the machine would. With
# KILL=one it reaches one rank only (the newest process of the run), as a crash of one node
# would: the launcher must then end the other ranks within 30 s, with an error.
set -euo pipefail
exe=$1
shift
read -r -a launch <<<"${LAUNCH:-}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fingerprint() { grep -Eo 'weights fingerprint [0-9a-f]+' "$1" | awk '{print $3}'; }

"${launch[@]}" "$exe" --epochs 4 "$@" >"$work/straight.txt"
a=$(fingerprint "$work/straight.txt")

"${launch[@]}" "$exe" --epochs 4 "$@" --checkpoint "$work/run.ckpt" >"$work/killed.txt" 2>&1 &
pid=$!
until grep -q 'epoch  2/4' "$work/killed.txt"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "FAIL: the run ended before epoch 2 was done:" && cat "$work/killed.txt" && exit 1
  fi
  sleep 0.01
done
sleep 0.05  # into epoch 3 (its checkpoint is written before its line is printed)
if [ "${KILL:-all}" = one ]; then
  pkill -KILL -n -f -- "$work/run.ckpt" || true  # the newest process of this run: a rank, not the launcher
  start=$(date +%s%N)
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    pkill -KILL -f -- "$work/run.ckpt" || true
    echo "FAIL: the other ranks were still running 30 s after one rank died" && cat "$work/killed.txt" && exit 1
  fi
  echo "one rank killed; the run ended $((($(date +%s%N) - start) / 1000000)) ms later with: $(grep -m1 -Eo 'exited on signal [0-9]+[^.]*' "$work/killed.txt" || echo '(no message)')"
  grep -q 'exited on signal' "$work/killed.txt" || { echo "FAIL: no error names the killed rank"; cat "$work/killed.txt"; exit 1; }
else
  pkill -KILL -f -- "$work/run.ckpt" || true  # every process of this run (the launcher and all ranks)
fi
wait "$pid" && { echo "FAIL: the run was not killed"; exit 1; } || true
if grep -q 'epoch  3/4' "$work/killed.txt"; then
  echo "FAIL: epoch 3 finished before the kill (epochs too short to test a kill inside one)"
  exit 1
fi
echo "killed during epoch 3 (SIGKILL), after: $(grep 'epoch  2/4' "$work/killed.txt")"

"${launch[@]}" "$exe" --epochs 4 "$@" --checkpoint "$work/run.ckpt" --resume >"$work/resumed.txt"
grep 'resumed from' "$work/resumed.txt"
b=$(fingerprint "$work/resumed.txt")
echo "straight: $a"
echo "resumed:  $b"
if [ -z "$a" ] || [ "$a" != "$b" ]; then
  echo "FAIL: the resumed run's weights differ from the straight run's"
  exit 1
fi
echo "kill-and-resume ok: fingerprints equal bit for bit"
