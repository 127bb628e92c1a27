"""PyTorch <-> ctnn weight files.

ctnn reads and writes safetensors files with the names, shapes and layouts of an
``nn.Sequential``'s ``state_dict()`` (one module per ctnn layer tag, so ``"{i}.weight"`` and
``"{i}.bias"`` with i the module index, activations counted). This module:

* ``export(model, path, input_shape=None)`` writes such a file from an ``nn.Sequential``
  (with the reference ``safetensors`` package; atomically);
* ``load(model, path)`` loads a file ctnn wrote into an ``nn.Sequential`` (strict);
* ``ctnn_type(model, input_shape)`` returns the matching ``ctnn::Net<...>`` declaration.

Supported modules: Linear, Conv2d, MaxPool2d, AvgPool2d, Flatten, ReLU, LeakyReLU, Tanh,
Sigmoid, SiLU, GELU (exact), Softmax (last), Identity, Dropout, LayerNorm, and for sequences the
batch-first modules defined here: ``GRU``, ``LSTM`` (``nn.GRU`` / ``nn.LSTM`` that return
their output sequence, or its last step, so they fit an ``nn.Sequential``) and
``CausalConv1d``; and ``Residual`` (``x + f(x)``, an ``nn.Sequential`` inside).
Anything else is a ``ValueError`` naming the module. Images: ctnn stores
them channels-last; feed a ctnn network ``x.permute(0, 2, 3, 1)`` of what the PyTorch model
takes (nothing to do for one channel). Sequences are ``[batch, steps, features]`` in both.
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


class _Recurrent:
    """Shared by GRU and LSTM: batch-first, one layer, the output sequence or its last step."""

    def _setup(self, last):
        self.last = last

    def forward(self, x):
        out = super().forward(x)[0]
        return out[:, -1] if self.last else out

    def extra_repr(self):
        return super().extra_repr() + (", last=True" if self.last else "")


class GRU(_Recurrent, nn.GRU):
    """``nn.GRU(input_size, hidden_size, batch_first=True)`` returning its output sequence
    ``[B, T, H]``, or ``[B, H]`` with ``last=True``: ``ctnn::GRU<H>`` / ``GRU<H, Returns::last>``."""

    def __init__(self, input_size, hidden_size, last=False):
        nn.GRU.__init__(self, input_size, hidden_size, batch_first=True)
        self._setup(last)


class LSTM(_Recurrent, nn.LSTM):
    """``nn.LSTM(input_size, hidden_size, batch_first=True)`` returning its output sequence, or
    its last step with ``last=True``: ``ctnn::LSTM<H>`` / ``LSTM<H, Returns::last>``."""

    def __init__(self, input_size, hidden_size, last=False):
        nn.LSTM.__init__(self, input_size, hidden_size, batch_first=True)
        self._setup(last)


class CausalConv1d(nn.Conv1d):
    """A causal ``nn.Conv1d`` on ``[B, T, C]`` giving ``[B, T, out_channels]``: the input is
    padded with (kernel_size - 1) * dilation zeros in front. ``ctnn::Conv1D<Out, K, D>``."""

    def __init__(self, in_channels, out_channels, kernel_size, dilation=1):
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation)

    def forward(self, x):
        pad = (self.kernel_size[0] - 1) * self.dilation[0]
        y = super().forward(nn.functional.pad(x.transpose(1, 2), (pad, 0)))
        return y.transpose(1, 2)


class Residual(nn.Sequential):
    """``x + f(x)`` with f the modules given, in order: ``ctnn::Residual<...>``. Its parameters
    are named ``"{i}.{j}.weight"``, j the index inside."""

    def forward(self, x):
        return x + super().forward(x)


def _sequence_module(i, m, shape):
    """The ctnn tag and output shape of a sequence module, or None for any other module."""
    if isinstance(m, (GRU, LSTM)):
        if len(shape) != 2 or shape[1] != m.input_size:
            _fail(i, m, f"expects a sequence (T, {m.input_size}), found shape {shape}")
        if m.num_layers != 1 or m.bidirectional or not m.bias or getattr(m, "proj_size", 0):
            _fail(i, m, "ctnn's recurrent layers are one-layer, one-directional, with biases")
        name = "GRU" if isinstance(m, GRU) else "LSTM"
        ret = ", ctnn::Returns::last" if m.last else ""
        return f"ctnn::{name}<{m.hidden_size}{ret}>", ((m.hidden_size,) if m.last else (shape[0], m.hidden_size))
    if isinstance(m, Residual):
        tags, out = [], shape
        for tag, out in _layers(m, shape):
            tags.append(tag)
        if tuple(out) != tuple(shape):
            _fail(i, m, f"the residual branch must return the shape it takes: {shape} in, {out} out")
        return "ctnn::Residual<" + ", ".join(tags) + ">", shape
    if isinstance(m, CausalConv1d):
        if len(shape) != 2 or shape[1] != m.in_channels:
            _fail(i, m, f"expects a sequence (T, {m.in_channels}), found shape {shape}")
        if m.groups != 1 or m.stride[0] != 1 or m.bias is None:
            _fail(i, m, "ctnn's Conv1D has stride 1, one group and a bias")
        return (f"ctnn::Conv1D<{m.out_channels}, {m.kernel_size[0]}, {m.dilation[0]}>",
                (shape[0], m.out_channels))
    if isinstance(m, nn.LayerNorm):
        if tuple(m.normalized_shape) != (shape[-1],) or not m.elementwise_affine or m.eps != 1e-5:
            _fail(i, m, f"ctnn's LayerNorm normalises the last dimension ({shape[-1]}) with a scale and "
                        "shift and eps 1e-5")
        return "ctnn::LayerNorm", shape
    return None


def _layers(model: nn.Module, input_shape):
    """Yields (ctnn tag, output shape) per module, checking each against ctnn's layers."""
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"ctnn_torch: expected an nn.Sequential, found {type(model).__name__}")
    shape = tuple(int(d) for d in input_shape)
    modules = list(model)
    for i, m in enumerate(modules):
        last = i + 1 == len(modules)
        seq = _sequence_module(i, m, shape)
        if seq is not None:
            tag, shape = seq
            yield tag, shape
        elif isinstance(m, nn.Linear):
            if len(shape) not in (1, 2):
                _fail(i, m, f"Linear needs a flat input or a sequence, found shape {shape}; add nn.Flatten() first")
            if m.in_features != shape[-1]:
                _fail(i, m, f"in_features {m.in_features} but the input has {shape[-1]} features")
            if m.bias is None:
                _fail(i, m, "ctnn's Dense always has a bias; use bias=True")
            shape = shape[:-1] + (m.out_features,)
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
                        "AvgPool2d, Flatten, ReLU, LeakyReLU, Tanh, Sigmoid, SiLU, GELU, Softmax, "
                        "Identity, Dropout, LayerNorm, and ctnn_torch.GRU, LSTM, CausalConv1d, Residual)")


_PLAIN = {nn.ReLU: "ctnn::ReLU", nn.Tanh: "ctnn::Tanh", nn.Sigmoid: "ctnn::Sigmoid", nn.SiLU: "ctnn::SiLU",
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
              nn.Softmax, nn.Dropout, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.SiLU, nn.Identity, nn.LayerNorm, GRU, LSTM,
              CausalConv1d, Residual)


def load(model: nn.Module, path: str) -> dict:
    """Loads a file ``ctnn::io::save`` wrote into ``model`` (strict: every name and shape
    must match); returns the file's metadata."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    model.load_state_dict(load_file(path), strict=True)
    with safe_open(path, framework="pt") as f:
        return dict(f.metadata() or {})
