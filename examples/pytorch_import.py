"""The PyTorch half of examples/pytorch_import.cpp: trains the Fashion-MNIST MLP
(784-256-128-10, ReLU) in PyTorch for one epoch, reports its test accuracy, and exports it
with python/ctnn_torch.py for ctnn to load.

    .venv/bin/python examples/pytorch_import.py --out fmnist_torch.safetensors
    build/examples/pytorch_import --weights fmnist_torch.safetensors

Inputs are the pixels divided by 255, the same on both sides. The file's metadata carries
the accuracy PyTorch measured, which the C++ half compares with its own.
"""

import argparse
import gzip
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import ctnn_torch  # noqa: E402


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def split(folder, prefix):
    x = read_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz")).reshape(-1, 784)
    y = read_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"))
    return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y.astype(np.int64))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="fmnist_torch.safetensors", help="safetensors file to write")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist", help="folder of the IDX .gz files")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    x_train, y_train = split(args.data, "train")
    x_test, y_test = split(args.data, "t10k")
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(args.epochs):
        order = torch.randperm(len(x_train))
        for s in range(0, len(order), 64):
            idx = order[s:s + 64]
            loss = nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(dim=1) == y_test).float().mean().item()
    ctnn_torch.export(model, args.out, input_shape=(784,),
                      metadata={"pytorch_test_accuracy": f"{accuracy:.6f}", "torch_version": torch.__version__})
    print(f"pytorch test_accuracy={accuracy:.4f} ({args.epochs} epoch, torch {torch.__version__}); wrote {args.out}")
    print(f"ctnn declaration: {ctnn_torch.ctnn_type(model, (784,))}")


if __name__ == "__main__":
    main()
