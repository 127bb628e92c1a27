#!/usr/bin/env python3
"""ONNX Runtime peer for ctnn_bench: W1 and W2 at batch 1 on one thread, in float and after ONNX
Runtime's dynamic int8 quantization (`quantize_dynamic`, int8 weights, inputs quantized per call),
with the Fashion-MNIST test accuracy of the MLP trained as pytorch_peer.py trains it, in both forms.
Writes Google-Benchmark-shaped JSON for report.py (--extra).

  .venv-bench/bin/python benchmarks/onnxruntime_peer.py --out ort.json
"""
import argparse
import json
import logging
import os
import sys
import tempfile

import numpy as np
import onnxruntime as ort
import torch
import torch.nn as nn
from onnxruntime.quantization import QuantType, quantize_dynamic

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_peer as peer  # noqa: E402  (the same models, timing and training)


def session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def export(model, inputs, folder, name):
    """The model as ONNX (float) and dynamically quantized to int8; returns both sessions."""
    fp32, int8 = os.path.join(folder, name + ".onnx"), os.path.join(folder, name + "_int8.onnx")
    model.eval()
    torch.onnx.export(model, torch.rand(1, inputs), fp32, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=13)
    quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8)
    return session(fp32), session(int8)


def latency(sess, inputs):
    x = np.random.rand(1, inputs).astype(np.float32)
    return peer.median_ns(lambda: sess.run(None, {"x": x}))


def accuracy(sess, x, y):
    out = sess.run(None, {"x": x.numpy().astype(np.float32)})[0]
    return float((out.argmax(1) == y.numpy()).mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=3, help="epochs of the MLP whose accuracy is reported (0: skip)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    logging.getLogger().setLevel(logging.ERROR)  # quantize_dynamic's advice on pre-processing
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for w, sizes, act in (("W1", [16, 64, 64, 16], nn.Tanh), ("W2", [784, 256, 128, 10], nn.ReLU)):
            fp32, int8 = export(peer.mlp(sizes, act), sizes[0], folder, w)
            rows.append((f"{w}/forward_b1/onnxruntime", latency(fp32, sizes[0]), {}))
            rows.append((f"{w}/forward_b1/onnxruntime_int8", latency(int8, sizes[0]), {}))
        if a.epochs > 0:
            trained = {}
            peer.fashion_epoch(a.data, a.epochs, "sgd", trained=trained)
            fp32, int8 = export(trained["model"], 784, folder, "mlp_trained")
            acc = {"onnxruntime": accuracy(fp32, trained["x_test"], trained["y_test"]),
                   "onnxruntime_int8": accuracy(int8, trained["x_test"], trained["y_test"])}
            rows = [(n, ns, {"test_accuracy": acc[n.rsplit("/", 1)[1]]} if n.startswith("W2/") else extra)
                    for n, ns, extra in rows]
    out = {"context": {"library": "onnxruntime " + ort.__version__, "threads": 1}, "benchmarks": []}
    for name, ns, extra in rows:
        out["benchmarks"].append(dict({"name": name + "_median", "run_name": name, "aggregate_name": "median",
                                       "real_time": ns, "time_unit": "ns"}, **extra))
        print(f"{name:36s} {ns:12.0f} ns {extra}", file=sys.stderr)
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
