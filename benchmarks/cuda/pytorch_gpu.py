#!/usr/bin/env python3
"""W8 on the GPU in PyTorch eager: training step (forward, MSE, backward, SGD) and inference
of a 64-wide MLP with 4 hidden ReLU layers at batch 2^14 ... 2^20, timed with CUDA events
(median of repeated runs), in FP32 (`pytorch`) and under BF16 autocast (`pytorch_bf16`).
Writes Google-Benchmark-style JSON for benchmarks/report.py.

    python3 benchmarks/cuda/pytorch_gpu.py --out build/bench/torch_gpu.json
"""
import argparse
import json
import statistics
import sys

import torch
from torch import nn


def mlp():
    layers = []
    for i in range(5):
        layers.append(nn.Linear(64, 64))
        if i < 4:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers).cuda()


def median_ms(fn, reps):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=50)
    a = ap.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to time", file=sys.stderr)
        return 1
    torch.manual_seed(0)
    out = {"context": {"library": "pytorch " + torch.__version__, "device": torch.cuda.get_device_name(0)},
           "benchmarks": []}
    for n in (1 << 14, 1 << 16, 1 << 18, 1 << 20):
        model = mlp()
        opt = torch.optim.SGD(model.parameters(), lr=1e-3)
        x = torch.rand(n, 64, device="cuda") * 2 - 1
        t = torch.sin(torch.arange(n * 64, device="cuda", dtype=torch.float32) % 97).reshape(n, 64)
        crit = nn.MSELoss()

        def step():
            opt.zero_grad(set_to_none=True)
            loss = crit(model(x), t)
            loss.backward()
            opt.step()
            return loss.item()  # the fused step returns its loss to the host too

        def infer():
            with torch.inference_mode():
                model(x)

        def step_bf16():
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = crit(model(x).float(), t)
            loss.backward()
            opt.step()
            return loss.item()

        def infer_bf16():
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
                model(x)

        for name, fn in ((f"W8/train_step/pytorch/{n}", step), (f"W8/inference/pytorch/{n}", infer),
                         (f"W8/train_step/pytorch_bf16/{n}", step_bf16),
                         (f"W8/inference/pytorch_bf16/{n}", infer_bf16)):
            ms = median_ms(fn, a.reps)
            out["benchmarks"].append({"name": name + "_median", "run_name": name, "aggregate_name": "median",
                                      "real_time": ms * 1e3, "time_unit": "us"})
            print(f"{name:36s} {ms * 1e3:10.1f} us", file=sys.stderr)
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
