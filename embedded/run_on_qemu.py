#!/usr/bin/env python3
"""Runs a Cortex-M program under qemu-system-arm (MPS2 AN386 board, semihosting) and checks it.

  run_on_qemu.py QEMU ELF --host PROGRAM [--tolerance T]
      runs ELF and PROGRAM (the same source built for the host); both must exit 0 and print
      the same lines: a label, then values as the hex digits of their float bits. Each device
      value must be within T of the host's, relative to max(1, |host|).
  run_on_qemu.py QEMU ELF --expect-failure TEXT
      the program must exit non-zero and print TEXT.
"""
import argparse
import struct
import subprocess
import sys


def run_device(qemu, elf, seconds):
    cmd = [qemu, "-M", "mps2-an386", "-display", "none", "-monitor", "none", "-serial", "none",
           "-chardev", "stdio,id=semihosting", "-semihosting-config", "enable=on,target=native,chardev=semihosting",
           "-kernel", elf]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds)
    except subprocess.TimeoutExpired:
        sys.exit(f"{elf}: no exit after {seconds} s under qemu (a hang or a fault loop)")
    return done.returncode, done.stdout + done.stderr


def parse(text, who):
    rows = []
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        try:
            values = [struct.unpack(">f", bytes.fromhex(h))[0] for h in fields[1:]]
        except ValueError:
            sys.exit(f"{who}: unexpected line {line!r}")
        rows.append((fields[0], values))
    if not rows:
        sys.exit(f"{who}: printed nothing")
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("qemu")
    ap.add_argument("elf")
    ap.add_argument("--host")
    ap.add_argument("--tolerance", type=float, default=1e-5)
    ap.add_argument("--expect-failure")
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()

    rc, out = run_device(args.qemu, args.elf, args.timeout)
    if args.expect_failure is not None:
        if rc == 0 or args.expect_failure not in out:
            sys.exit(f"{args.elf}: expected a failure printing {args.expect_failure!r}; exit {rc}, output:\n{out}")
        print(f"{args.elf}: failed as expected (exit {rc}): {out.strip()}")
        return
    if rc != 0:
        sys.exit(f"{args.elf}: exit {rc} under qemu, output:\n{out}")
    host = subprocess.run([args.host], capture_output=True, text=True, timeout=args.timeout)
    if host.returncode != 0:
        sys.exit(f"{args.host}: exit {host.returncode}, output:\n{host.stdout}{host.stderr}")
    device_rows, host_rows = parse(out, args.elf), parse(host.stdout, args.host)
    if [(label, len(v)) for label, v in device_rows] != [(label, len(v)) for label, v in host_rows]:
        sys.exit(f"the device and the host printed different rows:\n--- device\n{out}--- host\n{host.stdout}")
    worst, where = 0.0, None
    for row, ((label, dv), (_, hv)) in enumerate(zip(device_rows, host_rows)):
        for i, (d, h) in enumerate(zip(dv, hv)):
            err = abs(d - h) / max(1.0, abs(h)) if d == d and h == h else float("inf")
            if err > worst:
                worst, where = err, (row, label, i, d, h)
    values = sum(len(v) for _, v in device_rows)
    print(f"{args.elf}: {values} values in {len(device_rows)} rows, largest difference from the host {worst:.3g}"
          + (f" (row {where[0]} '{where[1]}' value {where[2]}: device {where[3]!r}, host {where[4]!r})" if where else ""))
    if worst > args.tolerance:
        sys.exit(f"above the tolerance {args.tolerance}")


if __name__ == "__main__":
    main()
