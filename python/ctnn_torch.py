"""PyTorch <-> ctnn weight files.

ctnn reads and writes safetensors files with the names, shapes and layouts of an
``nn.Sequential``'s ``state_dict()`` (one module per ctnn layer tag, so ``"{i}.weight"`` and
``"{i}.bias"`` with i the module index, activations counted). This module:

* ``export(model, path, input_shape=None)`` writes such a file from an ``nn.Sequential``
  (with the reference ``safetensors`` package; atomically);
* ``load(model, path)`` loads a file ctnn wrote into an ``nn.Sequential`` (strict);
* ``ctnn_type(model, input_shape)`` returns the matching ``ctnn::Net<...>`` declaration.

Supported modules: Linear, Conv2d, MaxPool2d, AvgPool2d, Flatten, ReLU, LeakyReLU, Tanh,
Sigmoid, GELU (exact), Softmax (last), Identity, Dropout. Anything else is a
``ValueError`` naming the module. Images: ctnn stores them channels-last; feed a ctnn network
``x.permute(0, 2, 3, 1)`` of what the PyTorch model takes (nothing to do for one channel).
"""

from __future__ import annotations

import math
import os
import tempfile
from fractions import Fraction

import torch
from torch import nn

FORMAT_VERSION = "1"


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _fail(i, module, why):
    raise ValueError(f"ctnn_torch: module {i} ({module}) is not supported by ctnn: {why}")


def _window(i, m, shape, k, s, p, what):
    if len(shape) != 3:
        _fail(i, m, f"{what} needs an image input (C, H, W), found shape {shape}")
    c, h, w = shape
    out = []
    for size, kk, ss, pp, axis in ((h, k[0], s[0], p[0], "H"), (w, k[1], s[1], p[1], "W")):
        if kk > size + 2 * pp:
            _fail(i, m, f"the kernel ({kk}) is larger than the padded input {axis} ({size + 2 * pp})")
        if (size + 2 * pp - kk) % ss != 0:
            _fail(i, m, f"ctnn needs ({axis} + 2*padding - kernel) divisible by the stride: "
                        f"({size} + 2*{pp} - {kk}) % {ss} != 0")
        out.append((size + 2 * pp - kk) // ss + 1)
    return out


def _layers(model: nn.Module, input_shape):
    """Yields (ctnn tag, output shape) per module, checking each against ctnn's layers."""
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"ctnn_torch: expected an nn.Sequential, found {type(model).__name__}")
    shape = tuple(int(d) for d in input_shape)
    modules = list(model)
    for i, m in enumerate(modules):
        last = i + 1 == len(modules)
        if isinstance(m, nn.Linear):
            if len(shape) != 1:
                _fail(i, m, f"Linear needs a flat input, found shape {shape}; add nn.Flatten() first")
            if m.in_features != shape[0]:
                _fail(i, m, f"in_features {m.in_features} but the input has {shape[0]} features")
            if m.bias is None:
                _fail(i, m, "ctnn's Dense always has a bias; use bias=True")
            shape = (m.out_features,)
            yield f"ctnn::Dense<{m.out_features}>", shape
        elif isinstance(m, nn.Conv2d):
            if len(shape) != 3 or shape[0] != m.in_channels:
                _fail(i, m, f"expects an image with {m.in_channels} channels, found shape {shape}")
            if m.groups != 1 or _pair(m.dilation) != (1, 1):
                _fail(i, m, "groups and dilation must be 1")
            if isinstance(m.padding, str) or m.padding_mode != "zeros":
                _fail(i, m, "give padding as numbers, with padding_mode='zeros'")
            if m.bias is None:
                _fail(i, m, "ctnn's Conv2D always has a bias; use bias=True")
            k, s, p = _pair(m.kernel_size), _pair(m.stride), _pair(m.padding)
            oh, ow = _window(i, m, shape, k, s, p, "Conv2d")
            shape = (m.out_channels, oh, ow)
            if k[0] == k[1] and s[0] == s[1] and p[0] == p[1]:
                yield f"ctnn::Conv2D<{m.out_channels}, {k[0]}, {s[0]}, {p[0]}>", shape
            else:
                yield (f"ctnn::Conv2DRect<{m.out_channels}, {k[0]}, {k[1]}, {s[0]}, {s[1]}, "
                       f"{p[0]}, {p[1]}>"), shape
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            name = "MaxPool2D" if isinstance(m, nn.MaxPool2d) else "AvgPool2D"
            k = _pair(m.kernel_size)
            s = _pair(m.stride if m.stride is not None else m.kernel_size)
            if k[0] != k[1] or s[0] != s[1]:
                _fail(i, m, "ctnn pools with square windows and equal strides")
            if _pair(m.padding) != (0, 0) or m.ceil_mode:
                _fail(i, m, "ctnn pools without padding and with ceil_mode=False")
            if isinstance(m, nn.MaxPool2d) and (_pair(m.dilation) != (1, 1) or m.return_indices):
                _fail(i, m, "dilation must be 1 and return_indices False")
            if isinstance(m, nn.AvgPool2d) and m.divisor_override is not None:
                _fail(i, m, "divisor_override is not supported")
            oh, ow = _window(i, m, shape, k, s, (0, 0), name)
            shape = (shape[0], oh, ow)
            yield f"ctnn::{name}<{k[0]}, {s[0]}>", shape
        elif isinstance(m, nn.Flatten):
            if m.start_dim != 1 or m.end_dim != -1:
                _fail(i, m, "ctnn flattens everything but the batch (start_dim=1, end_dim=-1)")
            shape = (math.prod(shape),)
            yield "ctnn::Flatten", shape
        elif isinstance(m, nn.LeakyReLU):
            slope = Fraction(m.negative_slope).limit_denominator(100000)
            if abs(float(slope) - m.negative_slope) > 1e-12:
                _fail(i, m, f"the slope {m.negative_slope} is not a simple fraction")
            if slope == Fraction(1, 100):
                yield "ctnn::LeakyReLU", shape
            else:
                yield f"ctnn::LeakyReLUSlope<{slope.numerator}, {slope.denominator}>", shape
        elif isinstance(m, nn.GELU):
            if getattr(m, "approximate", "none") != "none":
                _fail(i, m, "ctnn's GELU is the exact (erf) form; use approximate='none'")
            yield "ctnn::GELU", shape
        elif isinstance(m, nn.Softmax):
            if not last or len(shape) != 1 or m.dim not in (1, -1):
                _fail(i, m, "ctnn's Softmax is over the features of a flat output, as the last module")
            yield "ctnn::Softmax", shape
        elif isinstance(m, nn.Dropout):
            permille = m.p * 1000
            if abs(permille - round(permille)) > 1e-9 or not 0 <= round(permille) < 1000:
                _fail(i, m, "ctnn's Dropout rate is a whole number of permille below 1000")
            yield f"ctnn::Dropout<{round(permille)}>", shape
        elif type(m) in _PLAIN:
            yield _PLAIN[type(m)], shape
        else:
            _fail(i, m, "no ctnn layer corresponds (supported: Linear, Conv2d, MaxPool2d, "
                        "AvgPool2d, Flatten, ReLU, LeakyReLU, Tanh, Sigmoid, GELU, Softmax, "
                        "Identity, Dropout)")


_PLAIN = {nn.ReLU: "ctnn::ReLU", nn.Tanh: "ctnn::Tanh", nn.Sigmoid: "ctnn::Sigmoid",
          nn.Identity: "ctnn::Identity"}


def ctnn_type(model: nn.Module, input_shape) -> str:
    """The ``ctnn::Net<...>`` declaration equivalent to ``model`` for one sample of
    ``input_shape`` (e.g. ``(784,)`` or ``(1, 28, 28)``, without the batch)."""
    dims = ", ".join(str(int(d)) for d in input_shape)
    tags = [tag for tag, _ in _layers(model, input_shape)]
    return f"ctnn::Net<ctnn::Input<{dims}>, " + ", ".join(tags) + ">"


def export(model: nn.Module, path: str, input_shape=None, metadata: dict | None = None) -> None:
    """Writes ``model``'s parameters (float32) to ``path`` for ``ctnn::io::load``.

    With ``input_shape``, the modules are checked against ctnn's layers and the declaration
    is recorded as ``ctnn.network`` in the metadata. The file is written atomically."""
    from safetensors.torch import save_file

    meta = {"ctnn.format_version": FORMAT_VERSION}
    if input_shape is not None:
        meta["ctnn.network"] = ctnn_type(model, input_shape)
    elif not isinstance(model, nn.Sequential):
        raise ValueError(f"ctnn_torch: expected an nn.Sequential, found {type(model).__name__}")
    else:
        for i, m in enumerate(model):  # the modules alone, without shapes
            if not isinstance(m, _SUPPORTED):
                _fail(i, m, "no ctnn layer corresponds")
    meta.update(metadata or {})
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".tmp.")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=meta)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


_SUPPORTED = (nn.Linear, nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.Flatten, nn.LeakyReLU, nn.GELU,
              nn.Softmax, nn.Dropout, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.Identity)


def load(model: nn.Module, path: str) -> dict:
    """Loads a file ``ctnn::io::save`` wrote into ``model`` (strict: every name and shape
    must match); returns the file's metadata."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    model.load_state_dict(load_file(path), strict=True)
    with safe_open(path, framework="pt") as f:
        return dict(f.metadata() or {})
