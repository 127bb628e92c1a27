"""What the PyTorch interop scripts share: numbered checks that print one line each, and
running the C++ half (a tool given on the command line)."""

import subprocess
import sys

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def run_tool(tool, *args):
    r = subprocess.run([tool, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{tool} {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r.stdout.strip()


def finish(ok_line):
    """Exits 1 after listing the failed checks, else prints ok_line."""
    if failures:
        print(f"FAILED: {len(failures)} check(s)", flush=True)
        sys.exit(1)
    print(ok_line)
