"""PyTorch <-> ctnn, both ways, with the reference safetensors package.

Run by CTest (interop.pytorch) as: python test_torch_interop.py TOOL WORKDIR, where TOOL is
tests/interop/interop_tool. Prints one line per check and "interop ok" at the end; any
failed check exits 1.
"""

import os
import sys

import torch
from torch import nn
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import ctnn_torch
from interop_checks import check, failures, run_tool

TOOL, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
TOL = 1e-5


def tool(*args):
    return run_tool(TOOL, *args)


def mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def rgb():
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(64, 5))


def acts():
    return nn.Sequential(nn.Linear(12, 16), nn.SiLU(), nn.Linear(16, 8), nn.GELU(), nn.Linear(8, 6), nn.Sigmoid(),
                         nn.Linear(6, 3))


NETS = {"mlp": (mlp, (784,)), "lenet": (lenet, (1, 28, 28)), "rgb": (rgb, (3, 8, 8)), "acts": (acts, (12,))}


def channels_last(x):
    return x.permute(0, 2, 3, 1).contiguous() if x.dim() == 4 else x


def relative_error(a, b):
    """max over samples of max|a - b| / max|b| (per sample)."""
    scale = b.abs().amax(dim=1).clamp_min(1e-30)
    return ((a - b).abs().amax(dim=1) / scale).max().item()


def ctnn_forward(name, weights, x):
    xs, ys = os.path.join(WORK, name + "_x.safetensors"), os.path.join(WORK, name + "_y.safetensors")
    save_file({"x": channels_last(x)}, xs)
    tool("forward", name, weights, xs, ys)
    return load_file(ys)["y"]


torch.manual_seed(0)
for name, (make, shape) in NETS.items():
    model = make()
    # 1. The declaration ctnn_type prints is the one ctnn spells for the same network.
    check(ctnn_torch.ctnn_type(model, shape) == tool("name", name), f"{name}: ctnn_type = {ctnn_torch.ctnn_type(model, shape)}")

    # 2. Trained a few steps in PyTorch, exported, loaded by ctnn: same outputs on 1,000 inputs.
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(5):
        xb = torch.rand(32, *shape)
        loss = nn.functional.cross_entropy(model(xb), torch.randint(0, model[-1].out_features, (32,)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    path = os.path.join(WORK, name + "_torch.safetensors")
    ctnn_torch.export(model, path, input_shape=shape)
    x = torch.rand(1000, *shape)
    with torch.no_grad():
        want = model(x)
    got = ctnn_forward(name, path, x)
    err = relative_error(got, want)
    check(err <= TOL, f"{name}: PyTorch -> ctnn, 1000 inputs, max relative error {err:.2e} (<= {TOL:g})")

    # 3. The same weights stored by the reference package as BF16 and F16 load in ctnn.
    for dtype, label in ((torch.bfloat16, "BF16"), (torch.float16, "F16")):
        low = {k: v.to(dtype) for k, v in model.state_dict().items()}
        lpath = os.path.join(WORK, f"{name}_{label}.safetensors")
        save_file(low, lpath)
        ref = make()
        ref.load_state_dict({k: v.float() for k, v in low.items()})
        with torch.no_grad():
            want_low = ref(x[:200])
        err = relative_error(ctnn_forward(name, lpath, x[:200]), want_low)
        check(err <= TOL, f"{name}: {label} file from safetensors -> ctnn, max relative error {err:.2e}")

    # 4. Trained in ctnn, saved, loaded with load_state_dict (strict): same outputs.
    cpath = os.path.join(WORK, name + "_ctnn.safetensors")
    xs, ys = os.path.join(WORK, name + "_tx.safetensors"), os.path.join(WORK, name + "_ty.safetensors")
    xt = torch.rand(1000, *shape)
    save_file({"x": channels_last(xt)}, xs)
    tool("train", name, cpath, xs, ys)
    back = make()
    meta = ctnn_torch.load(back, cpath)
    with torch.no_grad():
        want = back(xt)
    err = relative_error(load_file(ys)["y"], want)
    check(err <= TOL, f"{name}: ctnn -> PyTorch load_state_dict, 1000 inputs, max relative error {err:.2e}")
    with safe_open(cpath, framework="pt") as f:
        keys = sorted(f.keys())
    check(keys == sorted(back.state_dict().keys()), f"{name}: ctnn's file holds exactly the state_dict names")
    check(meta.get("ctnn.network") == ctnn_torch.ctnn_type(back, shape) and meta.get("ctnn.format_version") == "1",
          f"{name}: ctnn's metadata names the network and format version")

# 5. Learning-rate schedules: ctnn's against PyTorch's over 100 steps.
ours = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in tool("schedules", "all").splitlines()}
for name, make in (("onecycle", lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=100)),
                   ("step", lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=10, gamma=0.5)),
                   ("cosine", lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=100, eta_min=0.001))):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    sched = make(opt)
    theirs = []
    for _ in range(100):
        theirs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    err = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(ours[name], theirs))
    check(err <= 1e-5, f"lr schedule {name}: ctnn = PyTorch over 100 steps, max relative error {err:.1e}")

# 6. Modules ctnn has no layer for are a clear error naming the module.
for model, shape, expect in (
        (nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)), (4,), "module 1 (BatchNorm1d"),
        (nn.Sequential(nn.Linear(4, 3, bias=False)), (4,), "always has a bias"),
        (nn.Sequential(nn.Conv2d(1, 2, 3, stride=2)), (1, 8, 8), "divisible by the stride"),
        (nn.Sequential(nn.Linear(5, 3)), (4,), "in_features 5 but the input has 4")):
    try:
        ctnn_torch.ctnn_type(model, shape)
        check(False, f"unsupported {expect!r} raised nothing")
    except ValueError as e:
        check(expect in str(e), f"unsupported: {e}")
try:
    ctnn_torch.export(nn.Sequential(nn.Linear(2, 2), nn.LSTM(2, 2)), os.path.join(WORK, "bad.safetensors"))
    check(False, "export of an LSTM raised nothing")
except ValueError as e:
    check("module 1 (LSTM" in str(e) and not os.path.exists(os.path.join(WORK, "bad.safetensors")),
          f"export refuses: {e}")

if failures:
    print(f"interop FAILED: {len(failures)} checks", flush=True)
    sys.exit(1)
print("interop ok", flush=True)
