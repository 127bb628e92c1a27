#!/usr/bin/python3
"""Turns ctnn_bench's JSON (--benchmark_out) and pytorch_peer.py's JSON into
docs/benchmarks.md (a table of medians with ratios ctnn/peer) and a PNG bar chart.

  /usr/bin/python3 benchmarks/report.py --ctnn ctnn.json --torch torch.json \
      --md docs/benchmarks.md --png docs/benchmarks.png
"""
import argparse
import json
import platform
import re
import subprocess
import sys


def medians(path):
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name", "median") != "median":
            continue
        name = b.get("run_name", b["name"].removesuffix("_median")).removesuffix("/real_time").removesuffix("/manual_time")
        name = re.sub(r"/iterations:\d+", "", name)
        parts = name.split("/")
        if parts[0] == "W8" and len(parts) == 4:  # W8/<kind>/<impl>/<batch> → W8/<kind>_b<batch>/<impl>
            name = f"W8/{parts[1]}_b{parts[3]}/{parts[2]}"
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        out[name] = dict(b, ns=b["real_time"] * scale)
    return data.get("context", {}), out


def fmt_time(ns):
    if ns >= 1e9:
        return f"{ns / 1e9:.3f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def by_workload(bench):
    """{workload: {implementation: result}} from {"workload/implementation": result}, probes left out."""
    workloads = {}
    for name in bench:
        if name.startswith("peak/"):
            continue
        w, impl = name.rsplit("/", 1)
        workloads.setdefault(w, {})[impl] = bench[name]
    return workloads


def table(workloads, peak, chart=None):
    """The markdown table of every workload's implementations, ctnn first, with ratios to ctnn."""
    lines = ["", "| workload | implementation | median | GFLOP/s | % of peak | peer / ctnn |", "|---|---|---:|---:|---:|---:|"]
    for w in sorted(workloads):
        impls = workloads[w]
        base = impls.get("ctnn", {}).get("ns")
        for impl in sorted(impls, key=lambda i: (i != "ctnn", i)):
            b = impls[impl]
            fl = b.get("FLOP/s")
            gf = f"{fl / 1e9:.1f}" if fl else ""
            pk = f"{100 * fl / peak:.0f}%" if fl and peak else ""
            ratio = f"{b['ns'] / base:.2f}×" if base and impl != "ctnn" else ""
            extra = f" (test acc {b['test_accuracy']:.4f})" if b.get("test_accuracy") else ""
            if b.get("bf16_test_accuracy"):
                extra += f" (bf16: {b['bf16_test_accuracy']:.4f})"
            if b.get("int8_test_accuracy"):
                extra += f" (int8: {b['int8_test_accuracy']:.4f})"
            if b.get("bytes_per_second"):
                extra += f" ({b['bytes_per_second'] / 1e9:.0f} GB/s)"
            lines.append(f"| {w} | {impl}{extra} | {fmt_time(b['ns'])} | {gf} | {pk} | {ratio} |")
            if chart is not None and base and impl != "ctnn":
                chart.append((f"{w}\nvs {impl}", b["ns"] / base))
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctnn", required=True)
    ap.add_argument("--torch", required=True)
    ap.add_argument("--epoch", help="JSON with ctnn's Fashion-MNIST epoch: {\"seconds\": s, \"accuracy\": a}")
    ap.add_argument("--reduced", help="JSON with the MLP example's bf16 and int8 test accuracies: {\"bf16\": a, \"int8\": b}")
    ap.add_argument("--cnn-epoch", help="the same for the CNN example")
    ap.add_argument("--epoch-threads", help="the MLP epoch again with --threads 2 (W6; --epoch is its one-thread side)")
    ap.add_argument("--extra", nargs="*", default=[], help="more Google-Benchmark-shaped JSON files (compile times)")
    ap.add_argument("--ctnn-second", help="ctnn_bench's JSON from a second build (e.g. -march=x86-64-v3 for AVX2), "
                    "reported in a section of its own with its own peak")
    ap.add_argument("--md", required=True)
    ap.add_argument("--png", required=True)
    ap.add_argument("--command", default="", help="the command that produced the inputs, quoted in the report")
    a = ap.parse_args()

    cctx, ours = medians(a.ctnn)
    tctx, theirs = medians(a.torch)
    allb = {**ours, **theirs}
    for path in a.extra:
        allb.update(medians(path)[1])
    if a.epoch:
        with open(a.epoch) as f:
            e = json.load(f)
        allb["fashion_mnist/epoch_b64/ctnn"] = {"ns": e["seconds"] * 1e9, "test_accuracy": e.get("accuracy")}
        if a.reduced:
            with open(a.reduced) as f:
                text = f.read().strip()
            r = json.loads(text) if text else {}
            allb["fashion_mnist/epoch_b64/ctnn"].update(bf16_test_accuracy=r.get("bf16"), int8_test_accuracy=r.get("int8"))
    if a.cnn_epoch:
        with open(a.cnn_epoch) as f:
            e = json.load(f)
        allb["fashion_mnist_cnn/epoch_b64/ctnn"] = {"ns": e["seconds"] * 1e9, "test_accuracy": e.get("accuracy")}
    if a.epoch_threads and a.epoch:
        with open(a.epoch_threads) as f:
            e = json.load(f)
        allb["W6/epoch_b64/ctnn"] = {"ns": e["seconds"] * 1e9, "test_accuracy": e.get("accuracy")}
        allb["W6/epoch_b64/one_thread"] = dict(allb["fashion_mnist/epoch_b64/ctnn"])
    peak = allb.get("peak/fma_single_core", {}).get("FLOP/s")

    workloads = by_workload(allb)

    lines = [
        "# ctnn benchmarks",
        "",
        "Generated by `benchmarks/report.py` from one run of `ctnn_bench` and `benchmarks/pytorch_peer.py` "
        "on the same machine; every figure is a median. Ratios are peer time / ctnn time (above 1: ctnn is faster).",
        "",
        f"- Machine: {cctx.get('num_cpus', '?')} CPUs at {cctx.get('mhz_per_cpu', '?')} MHz, {platform.machine()}; "
        f"ctnn's kernels ran with the {cctx.get('ctnn_isa', '?')} instruction set.",
        f"- PyTorch: {tctx.get('library', '?')}, {tctx.get('threads', '?')} thread, OPENBLAS_CORETYPE "
        f"{tctx.get('OPENBLAS_CORETYPE', '?')} (the peers run with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`, "
        "so OpenBLAS picks its best kernels; tests and CI never change these variables).",
    ]
    if peak:
        lines.append(f"- Measured single-core FMA peak (`peak/fma_single_core`, {cctx.get('ctnn_isa', '?')} registers): "
                     f"{peak / 1e9:.1f} GFLOP/s.")
    if a.command:
        lines += ["", "Command:", "", "```sh", a.command, "```"]
    chart = []
    lines += table(workloads, peak, chart)
    # W7: the pipeline against one core, and against the schedule's ideal p·(1 − bubble).
    w7 = [("W7/infer_stream_b64x64", 2, 64), ("W7/train_step_m8_b64", 2, 8)]
    notes = []
    for w, p, m in w7:
        impls = workloads.get(w, {})
        if "ctnn" in impls and "one_core" in impls:
            speedup = impls["one_core"]["ns"] / impls["ctnn"]["ns"]
            ideal = p * (1 - (p - 1) / (m + p - 1))
            notes.append(f"- {w}: {p} stages on {p} cores, {m} micro-batches: {speedup:.2f}× one core; the schedule's "
                         f"ideal p·(1 − (p−1)/(m+p−1)) = {ideal:.3f}×, so {100 * speedup / ideal:.0f}% of it.")
    w6 = workloads.get("W6/epoch_b64", {})
    if "ctnn" in w6 and "one_thread" in w6:
        c2 = w6["ctnn"]["ns"]
        notes.append(f"- W6/epoch_b64: ctnn on 2 threads trains the epoch {w6['one_thread']['ns'] / c2:.2f}× faster than "
                     f"on 1 thread (target ≥ 1.8×)" + (f"; PyTorch on 2 threads takes {w6['pytorch_2thread']['ns'] / w6['pytorch_1thread']['ns']:.2f}× "
                     "its 1-thread time" if "pytorch_2thread" in w6 and "pytorch_1thread" in w6 else "") + ".")
    w6s = workloads.get("W6/train_step_b64", {})
    sides = [w6s.get(f"one_thread_core{c}_beside_another", {}).get("ns") for c in (0, 1)]
    if "ctnn" in w6s and "one_thread" in w6s and all(sides):
        floor = max(sides) / 2
        notes.append(f"- W6/train_step_b64: with an identical one-thread step running on the other core, a one-thread step "
                     f"took {fmt_time(sides[0])} on core 0 and {fmt_time(sides[1])} on core 1 (alone: "
                     f"{fmt_time(w6s['one_thread']['ns'])}). A step split evenly over the two cores ends with its slower "
                     f"half: no less than {fmt_time(floor)}, i.e. at most {w6s['one_thread']['ns'] / floor:.2f}× the one-thread "
                     f"step in this run, before any data moves between the cores; the 2-thread step took {fmt_time(w6s['ctnn']['ns'])} "
                     f"({w6s['one_thread']['ns'] / w6s['ctnn']['ns']:.2f}×).")
    step = workloads.get("Machine/barrier_step", {}).get("two_threads", {})
    if "speedup" in step:
        notes.append(f"- Machine/barrier_step: a step shaped like W6's but of pure arithmetic (three phases, a barrier "
                     f"after each, no memory traffic) took {fmt_time(step['ns'])} on two threads against "
                     f"{step['one_thread_core0_us']:.1f} µs (core 0) and {step['one_thread_core1_us']:.1f} µs (core 1) "
                     f"on one, taken in turn: {step['speedup']:.2f}× the faster core. Below 2× is the host's doing "
                     f"(it stops or slows one core now and then while the other waits at a barrier); it changes "
                     f"within seconds, so it describes the state of this run, not a fixed bound on the W6 rows.")
    trip = workloads.get("Machine/core_to_core", {}).get("latency", {})
    if "ns" in trip:
        where = "far apart" if trip["ns"] >= 250 else "near each other"
        notes.append(f"- Machine/core_to_core/latency: a cache line's round trip between the two cores took "
                     f"{fmt_time(trip['ns'])}, so the host had the two vCPUs {where} in this run (~100 ns near, "
                     f"~450 ns far; it moves them within minutes). W6's 2-thread rows depend on it: near, the epoch "
                     f"runs ~10% faster (docs/parallelism.md, \"Performance notes\").")
    adds = workloads.get("Machine/dependent_adds", {})
    if "alone" in adds and "beside_fma_on_other_core" in adds:
        alone, beside = adds["alone"]["ns"], adds["beside_fma_on_other_core"]["ns"]
        notes.append(f"- Machine/dependent_adds: a chain of dependent additions (one per cycle) on core 0 took "
                     f"{fmt_time(alone)} alone and {fmt_time(beside)} while core 1 ran FMAs: core 0 kept "
                     f"{100 * alone / beside:.0f}% of its speed beside a busy core 1 (below 100%: the host shares "
                     f"a physical core or its power budget between them at the time).")
    for kind in ("train_step", "inference"):
        w8 = workloads.get(f"W8/{kind}_b262144", {})
        for ours, label in (("ctnn", "ctnn (FP32)"), ("ctnn_bf16", "ctnn_bf16"), ("ctnn_fp16", "ctnn_fp16")):
            if ours not in w8:
                continue
            c = w8[ours]["ns"]
            parts = [f"{w8[p]['ns'] / c:.2f}× {p}" for p in ("pytorch", "pytorch_bf16", "cublas_unfused") if p in w8]
            notes.append(f"- W8/{kind} at batch 2^18 (GPU): {label} takes {fmt_time(c)}; peer time / ours: " +
                         ", ".join(parts) + (" (targets for the training step: ≥ 5× pytorch, ≥ 2× cublas_unfused; "
                                             "pytorch and cublas_unfused run in FP32, pytorch_bf16 under BF16 autocast)."
                                             if kind == "train_step" else "."))
    if notes:
        lines += ["", "Notes (W7: `one_core` is the same network trained or run on one thread; the ctnn "
                  "rows of W6 and W7 use two cores, so their share of the single-core peak can exceed 100%; W8 runs on "
                  "the GPU named in its JSON):", ""] + notes
    if a.ctnn_second:
        sctx, second = medians(a.ctnn_second)
        speak = second.get("peak/fma_single_core", {}).get("FLOP/s")
        isa = sctx.get("ctnn_isa", "?")
        lines += ["", f"## The same benchmarks built for {isa}", "",
                  f"`ctnn_bench` built again (`CTNN_ARCH_FLAGS={sctx.get('ctnn_arch_flags', '?')}`) and run on the same "
                  f"machine: ctnn's kernels and the peers in this binary (Eigen, OpenBLAS) all use {isa}. Percentages are "
                  f"of the single-core FMA peak measured by this binary with {isa} registers"
                  + (f": {speak / 1e9:.1f} GFLOP/s." if speak else ".")]
        lines += table({w: i for w, i in by_workload(second).items() if not w.startswith("Machine/")}, speak)
    lines += ["", "![ctnn speed-up over each peer](benchmarks.png)", ""]
    with open(a.md, "w") as f:
        f.write("\n".join(lines))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(max(8, 0.7 * len(chart)), 5))
    ax.bar(range(len(chart)), [r for _, r in chart], color=["tab:green" if r >= 1 else "tab:red" for _, r in chart])
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(chart)))
    ax.set_xticklabels([n for n, _ in chart], rotation=60, ha="right", fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("peer time / ctnn time (log)")
    ax.set_title("ctnn speed-up over each peer (median, same machine)")
    fig.tight_layout()
    fig.savefig(a.png, dpi=110)
    print(f"wrote {a.md} and {a.png}", file=sys.stderr)


if __name__ == "__main__":
    main()
