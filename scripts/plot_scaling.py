#!/usr/bin/env python3
"""Plots the data-parallel scaling the α-β-γ model predicts (build/benchmarks/scaling_model
--csv FILE): efficiency and step time against the rank count, per network and link.

    build/benchmarks/scaling_model --csv scaling.csv
    python3 scripts/plot_scaling.py scaling.csv docs/scaling_model.png
"""
import argparse
import csv
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("png")
    a = ap.parse_args()
    series = defaultdict(list)
    with open(a.csv, newline="") as f:
        for row in csv.DictReader(f):
            series[(row["model"], row["link"])].append(
                (int(row["ranks"]), float(row["efficiency"]), float(row["step_s"]) * 1e3))
    fig, (eff, step) = plt.subplots(1, 2, figsize=(11, 4.2))
    for (model, link), pts in sorted(series.items()):
        pts.sort()
        style = "-" if link.startswith("10g") else "--"
        label = f"{model}, {link}"
        eff.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", ms=3, label=label)
        step.plot([p[0] for p in pts], [p[2] for p in pts], style, marker="o", ms=3, label=label)
    for ax, title, ylabel in ((eff, "scaling efficiency (weak, batch 64 a rank)", "efficiency"),
                              (step, "step time", "ms")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("ranks")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    step.set_yscale("log")
    eff.set_ylim(0, 1.05)
    eff.legend(fontsize=8)
    fig.suptitle("ctnn data parallelism predicted by the α-β-γ model (one all-reduce a step, no overlap)", fontsize=10)
    fig.tight_layout()
    fig.savefig(a.png, dpi=110)


if __name__ == "__main__":
    main()
