#!/usr/bin/python3
"""Compile-time benchmark: times compiling the Fashion-MNIST training translation unit
(examples/fashion_mnist_mlp_train.cpp, one Trainer: batch 64, Adam, native SIMD) and
the header set alone, with g++ -O2, several runs; writes Google-Benchmark-shaped JSON
(medians) for report.py.

  /usr/bin/python3 benchmarks/compile_time.py --out compile.json [--runs 5]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))



def time_compile(args, runs):
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(args + ["-o", os.path.join(tmp, "unit.o")], check=True)
            times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cxx", default="g++")
    a = ap.parse_args()
    common = [a.cxx, "-std=c++20", "-O2", "-march=native", "-I" + os.path.join(ROOT, "include"), "-c"]
    cases = {
        "compile/fashion_mnist_train_tu_O2/g++": common + [
            "-DCTNN_EXAMPLE_BATCH=64", "-DCTNN_EXAMPLE_OPTIMIZER=ctnn::optim::Adam",
            "-DCTNN_EXAMPLE_BACKEND=ctnn::backend::native", os.path.join(ROOT, "examples", "fashion_mnist_mlp_train.cpp")],
    }
    with tempfile.NamedTemporaryFile("w", suffix=".cpp", delete=False) as f:
        f.write("#include <ctnn/ctnn.hpp>\n#include <ctnn/io/fashion_mnist.hpp>\nint main() {}\n")
        headers_only = f.name
    cases["compile/headers_only_O2/g++"] = common + [headers_only]
    out = {"context": {"compiler": subprocess.run([a.cxx, "--version"], capture_output=True, text=True).stdout.splitlines()[0]},
           "benchmarks": []}
    try:
        for name, args in cases.items():
            med, all_times = time_compile(args, a.runs)
            out["benchmarks"].append({"name": name + "_median", "run_name": name, "aggregate_name": "median",
                                      "real_time": med * 1e9, "time_unit": "ns", "runs_s": all_times})
            print(f"{name:44s} median {med:.2f} s over {a.runs} runs", file=sys.stderr)
    finally:
        os.unlink(headers_only)
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
