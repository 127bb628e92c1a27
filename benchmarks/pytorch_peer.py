#!/usr/bin/python3
"""PyTorch peer for ctnn_bench: the same workloads on 1 thread, plus a full
Fashion-MNIST epoch. Writes Google-Benchmark-shaped JSON so report.py can pair the
figures with ctnn's.

Run with Debian's interpreter (python3-torch):  /usr/bin/python3 benchmarks/pytorch_peer.py --out torch.json
"""
import argparse
import gzip
import json
import os
import statistics
import struct
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(1)


def mlp(sizes, act):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(act())
    return nn.Sequential(*layers)


def median_ns(fn, min_seconds=0.5, repetitions=5):
    """Median over repetitions of the mean time per call, each repetition running >= min_seconds / repetitions."""
    fn()  # warm-up
    per = []
    for _ in range(repetitions):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= min_seconds / repetitions:
                break
        per.append(dt / n * 1e9)
    return statistics.median(per)


def lenet():
    """W9: the ctnn CNN example's network (NCHW here; ctnn stores channels-last)."""
    return nn.Sequential(nn.Conv2d(1, 16, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(800, 128), nn.ReLU(), nn.Linear(128, 10))


def forward_bench(model, batch, inputs):
    x = torch.rand(batch, *inputs) if isinstance(inputs, tuple) else torch.rand(batch, inputs)

    def run():
        with torch.inference_mode():
            model(x)

    return run


def int8(model):
    """PyTorch's dynamic quantization of the Linear layers (int8 weights, inputs quantized per call)."""
    return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)


def train_bench(model, batch, inputs, outputs, loss):
    x = torch.rand(batch, *inputs) if isinstance(inputs, tuple) else torch.rand(batch, inputs)
    if loss == "ce":
        t = torch.randint(0, outputs, (batch,))
        crit = nn.CrossEntropyLoss()
    else:
        t = torch.rand(batch, outputs)
        crit = nn.MSELoss()
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)

    def run():
        opt.zero_grad(set_to_none=True)
        crit(model(x), t).backward()
        opt.step()

    return run


class _SeqModel(nn.Module):
    """W11/W12's model: a batch-first GRU or LSTM of H units on one feature, a Linear(1) per step."""

    def __init__(self, cell, hidden):
        super().__init__()
        self.rnn = cell(1, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x, state=None):
        y, state = self.rnn(x, state)
        return self.out(y), state


def stream_bench(cell, hidden):
    """W11: one sample per call with the state carried, as an audio callback would."""
    model = _SeqModel(cell, hidden)
    x = torch.rand(1, 1, 1)
    state = [None]

    def run():
        with torch.inference_mode():
            _, state[0] = model(x, state[0])

    return run


def sequence_train_bench(hidden=16, batch=32, steps=96):
    """W12: one Adam step of the va_effect example's GRU-16 + Linear(1) on 32 windows of 96 samples."""
    model = _SeqModel(nn.GRU, hidden)
    x, t = torch.rand(batch, steps, 1), torch.rand(batch, steps, 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    crit = nn.MSELoss()

    def run():
        opt.zero_grad(set_to_none=True)
        crit(model(x)[0], t).backward()
        opt.step()

    return run


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    rank = magic & 0xFF
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return torch.frombuffer(bytearray(data[4 + 4 * rank:]), dtype=torch.uint8).reshape(dims)


def fashion_epoch(data_dir, epochs, optimizer, cnn=False, trained=None):
    """Trains the ctnn example's network (the MLP, or the CNN) the same way (standardised inputs,
    batch 64, shuffled, last partial batch dropped); returns (median epoch seconds, final test accuracy,
    test accuracy after dynamic int8 quantization or None for the CNN). With `trained` (a dict), also
    leaves the model and the standardised test set there."""
    xtr = read_idx(os.path.join(data_dir, "train-images-idx3-ubyte.gz")).reshape(-1, 784).float() / 255
    ytr = read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte.gz")).long()
    xte = read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz")).reshape(-1, 784).float() / 255
    yte = read_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz")).long()
    mean, sd = xtr.mean(), xtr.std()
    xtr, xte = (xtr - mean) / sd, (xte - mean) / sd
    if cnn:
        xtr, xte = xtr.reshape(-1, 1, 28, 28), xte.reshape(-1, 1, 28, 28)
    torch.manual_seed(42)
    model = lenet() if cnn else mlp([784, 256, 128, 10], nn.ReLU)
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    B = 64
    times = []
    for _ in range(epochs):
        perm = torch.randperm(xtr.shape[0])
        t0 = time.perf_counter()
        for s in range(xtr.shape[0] // B):
            idx = perm[s * B:(s + 1) * B]
            opt.zero_grad(set_to_none=True)
            crit(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    with torch.inference_mode():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
        int8_acc = None if cnn else (int8(model)(xte).argmax(1) == yte).float().mean().item()
    if trained is not None:
        trained.update(model=model, x_test=xte, y_test=yte)
    return statistics.median(times), acc, int8_acc


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True, help="JSON output file")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=1, help="Fashion-MNIST epochs to time (0: skip)")
    ap.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"])
    ap.add_argument("--cnn-epochs", type=int, default=1, help="CNN (W9) Fashion-MNIST epochs to time, Adam (0: skip)")
    ap.add_argument("--min-seconds", type=float, default=0.5)
    a = ap.parse_args()

    w1 = mlp([16, 64, 64, 16], nn.Tanh)
    w2 = mlp([784, 256, 128, 10], nn.ReLU)
    w5 = mlp([64, 64, 64, 64, 1], nn.ReLU)
    w9 = lenet()
    cases = [
        ("W1/forward_b1/pytorch", forward_bench(w1, 1, 16)),
        ("W2/forward_b1/pytorch", forward_bench(w2, 1, 784)),
        ("W1/forward_b1/pytorch_int8", forward_bench(int8(w1), 1, 16)),
        ("W2/forward_b1/pytorch_int8", forward_bench(int8(w2), 1, 784)),
        ("W3/forward_b256/pytorch", forward_bench(w2, 256, 784)),
        ("W4/train_step_b64/pytorch", train_bench(w2, 64, 784, 10, "ce")),
        ("W5/train_step_b16/pytorch", train_bench(w5, 16, 64, 1, "mse")),
        ("W5/train_step_b256/pytorch", train_bench(w5, 256, 64, 1, "mse")),
        ("W9/forward_b1/pytorch", forward_bench(w9, 1, (1, 28, 28))),
        ("W9/train_step_b64/pytorch", train_bench(w9, 64, (1, 28, 28), 10, "ce")),
        *[(f"W11/gru{h}/pytorch", stream_bench(nn.GRU, h)) for h in (8, 16, 32, 64)],
        *[(f"W11/lstm{h}/pytorch", stream_bench(nn.LSTM, h)) for h in (16, 32, 40, 64)],
        ("W12/train_step_b32/pytorch", sequence_train_bench()),
    ]
    out = {"context": {"library": "pytorch " + torch.__version__, "threads": torch.get_num_threads(),
                       "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)")},
           "benchmarks": []}
    for name, fn in cases:
        ns = median_ns(fn, a.min_seconds)
        out["benchmarks"].append({"name": name + "_median", "run_name": name, "aggregate_name": "median",
                                  "real_time": ns, "time_unit": "ns"})
        print(f"{name:32s} {ns:12.0f} ns", file=sys.stderr)
    # W6: the same training step as W4 with PyTorch's intra-op pool at 2 threads, then back to 1.
    for threads in (2, 1):
        torch.set_num_threads(threads)
        name = f"W6/train_step_b64/pytorch_{threads}thread"
        ns = median_ns(train_bench(mlp([784, 256, 128, 10], nn.ReLU), 64, 784, 10, "ce"), a.min_seconds)
        out["benchmarks"].append({"name": name + "_median", "run_name": name, "aggregate_name": "median",
                                  "real_time": ns, "time_unit": "ns"})
        print(f"{name:32s} {ns:12.0f} ns", file=sys.stderr)
    torch.set_num_threads(1)
    if a.epochs > 0:
        secs, acc, int8_acc = fashion_epoch(a.data, a.epochs, a.optimizer)
        out["benchmarks"].append({"name": "fashion_mnist/epoch_b64/pytorch_median", "run_name": "fashion_mnist/epoch_b64/pytorch",
                                  "aggregate_name": "median", "real_time": secs * 1e9, "time_unit": "ns",
                                  "test_accuracy": acc, "int8_test_accuracy": int8_acc, "epochs": a.epochs,
                                  "optimizer": a.optimizer})
        print(f"fashion_mnist epoch (batch 64, {a.optimizer}): {secs:.3f} s, test accuracy {acc:.4f} after {a.epochs} "
              f"(dynamically quantized to int8: {int8_acc:.4f})", file=sys.stderr)
        # W6: the same epoch with PyTorch's intra-op pool at 2 threads, beside the 1-thread one.
        torch.set_num_threads(2)
        secs2, acc2, _ = fashion_epoch(a.data, a.epochs, a.optimizer)
        torch.set_num_threads(1)
        for name, t, ac in (("W6/epoch_b64/pytorch_2thread", secs2, acc2), ("W6/epoch_b64/pytorch_1thread", secs, acc)):
            out["benchmarks"].append({"name": name + "_median", "run_name": name, "aggregate_name": "median",
                                      "real_time": t * 1e9, "time_unit": "ns", "test_accuracy": ac})
        print(f"fashion_mnist epoch on 2 threads: {secs2:.3f} s, test accuracy {acc2:.4f}", file=sys.stderr)
    if a.cnn_epochs > 0:
        secs, acc, _ = fashion_epoch(a.data, a.cnn_epochs, "adam", cnn=True)
        out["benchmarks"].append({"name": "fashion_mnist_cnn/epoch_b64/pytorch_median",
                                  "run_name": "fashion_mnist_cnn/epoch_b64/pytorch", "aggregate_name": "median",
                                  "real_time": secs * 1e9, "time_unit": "ns", "test_accuracy": acc,
                                  "epochs": a.cnn_epochs, "optimizer": "adam"})
        print(f"fashion_mnist CNN epoch (batch 64, adam): {secs:.3f} s, test accuracy {acc:.4f} after {a.cnn_epochs}",
              file=sys.stderr)
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
