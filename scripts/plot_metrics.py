#!/usr/bin/env python3
"""Plots the per-epoch metrics the examples write with --metrics FILE.csv: loss, and train
and test accuracy, against the epoch, as a PNG (Debian's python3-matplotlib).

    build/examples/fashion_mnist_mlp --metrics run.csv
    python3 scripts/plot_metrics.py run.csv run.png [--title TEXT]
"""
import argparse
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", help="metrics file (epoch,loss,train_accuracy,test_accuracy,seconds,samples_per_second)")
    ap.add_argument("png", help="image to write")
    ap.add_argument("--title", default="", help="title above the plots")
    args = ap.parse_args()
    with open(args.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    need = {"epoch", "loss", "train_accuracy", "test_accuracy"}
    if not rows or not need <= set(rows[0]):
        sys.exit(f"plot_metrics: '{args.csv}' has no rows with columns {sorted(need)}")
    epoch = [int(r["epoch"]) for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(epoch, [float(r["loss"]) for r in rows], marker="o")
    a.set_xlabel("epoch")
    a.set_ylabel("training loss")
    a.grid(alpha=0.3)
    b.plot(epoch, [float(r["train_accuracy"]) for r in rows], marker="o", label="train")
    b.plot(epoch, [float(r["test_accuracy"]) for r in rows], marker="s", label="test")
    b.set_xlabel("epoch")
    b.set_ylabel("accuracy")
    b.legend()
    b.grid(alpha=0.3)
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout()
    fig.savefig(args.png, dpi=100)
    print(f"wrote {args.png} ({len(rows)} epochs)")


if __name__ == "__main__":
    main()
