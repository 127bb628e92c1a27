"""PyTorch-initialised sequence models run by ctnn: GRU, LSTM, a causal Conv1d +
LayerNorm + GRU stack, and residual blocks around them, their weights exported with ctnn_torch and loaded by ctnn::io.

Run by CTest (interop.sequences) as: python test_torch_sequences.py TOOL WORKDIR, where TOOL
is tests/interop/sequence_tool. Each recurrent model streams 10,000 samples one step at a
time through ctnn::Stream and must match PyTorch's output over the same 10,000-step sequence
within 1e-5. Prints one line per check and "sequences ok" at the end; a failed check exits 1.
"""

import os
import sys

import torch
from torch import nn
from safetensors.torch import load_file, save_file

import ctnn_torch
from interop_checks import check, finish, run_tool

TOOL, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
TOL = 1e-5


def tool(*args):
    return run_tool(TOOL, *args)


def ctnn_run(cmd, name, weights, x):
    xs, ys = os.path.join(WORK, f"{name}_x.safetensors"), os.path.join(WORK, f"{name}_y.safetensors")
    save_file({"x": x.contiguous()}, xs)
    tool(cmd, name, weights, xs, ys)
    return load_file(ys)["y"]


torch.manual_seed(0)
MODELS = {
    "gru": (nn.Sequential(ctnn_torch.GRU(1, 16), nn.Linear(16, 1)), (64, 1)),
    "lstm": (nn.Sequential(ctnn_torch.LSTM(1, 12), nn.Linear(12, 1)), (64, 1)),
    "tcn": (nn.Sequential(ctnn_torch.CausalConv1d(2, 6, 3, dilation=2), nn.Tanh(), nn.LayerNorm(6),
                          ctnn_torch.GRU(6, 5, last=True), nn.Linear(5, 3)), (32, 2)),
    "res": (nn.Sequential(nn.Linear(2, 6), ctnn_torch.Residual(nn.LayerNorm(6), ctnn_torch.GRU(6, 6)),
                          ctnn_torch.Residual(ctnn_torch.CausalConv1d(6, 6, 3, dilation=2), nn.Tanh()),
                          nn.Linear(6, 1)), (32, 2)),
}

for name, (model, shape) in MODELS.items():
    model.eval()
    with torch.no_grad():
        for p in model.parameters():  # LayerNorm starts at 1 and 0: move it off them
            if p.dim() == 1 and name in ("tcn", "res"):
                p.add_(0.1 * torch.randn_like(p))
    check(tool("name", name) == ctnn_torch.ctnn_type(model, shape), f"{name}: ctnn_type spells ctnn's declaration")
    weights = os.path.join(WORK, f"{name}.safetensors")
    ctnn_torch.export(model, weights, shape)

    # Whole sequences of the training length, as Net::forward runs them.
    x = torch.randn(5, *shape)
    with torch.no_grad():
        ref = model(x)
    got = ctnn_run("forward", name, weights, x)
    err = (got - ref.reshape(5, -1)).abs().max().item()
    check(err <= TOL, f"{name}: 5 sequences of {shape[0]} steps, max |ctnn - torch| = {err:.2e}")

    if name == "tcn":  # the last-step model streams too: step t gives the forward of steps 0..t
        steps = 200
        x = torch.randn(steps, shape[1])
        with torch.no_grad():
            ref = torch.stack([model(x[: t + 1].unsqueeze(0))[0] for t in range(steps)])
    elif name == "res":
        steps = 2000
        x = torch.randn(steps, shape[1])
        with torch.no_grad():
            ref = model(x.unsqueeze(0))[0]
    else:
        steps = 10_000  # far past the training length: the stream keeps its state
        t = torch.arange(steps, dtype=torch.float32)
        x = (0.8 * torch.sin(2 * torch.pi * 110 * t / 48000) + 0.2 * torch.randn(steps)).unsqueeze(1)
        with torch.no_grad():
            ref = model(x.unsqueeze(0))[0]
    got = ctnn_run("stream", name, weights, x)
    err = (got - ref).abs().max().item()
    check(err <= TOL, f"{name}: {steps} streamed steps, max |ctnn - torch| = {err:.2e}")

finish("sequences ok")
