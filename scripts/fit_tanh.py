#!/usr/bin/python3
"""Fits the rational tanh of the SIMD backends (include/ctnn/backends/simd/activations.hpp).

tanh(x)/x is approximated by P(t)/Q(t), t = x², on x in [0, X] with an iteratively
reweighted least-squares fit of the relative error (P - g·Q)/g, Q(0) = 1, reweighted
towards the points of largest error (Lawson) so that the result approaches minimax.
Prints the maximum relative error in exact arithmetic, and in float32 evaluation over
every float in (1e-6, 12] (FMA emulated in double), then the coefficients as floats.
Needs numpy (Debian python3-numpy).
"""
import sys

import numpy as np

f32 = np.float32


def fit(deg_p, deg_q, X=8.0, n=4000, iters=60):
    x = np.linspace(1e-4, X, n)
    t, g = x * x, np.tanh(x) / x
    w, best = np.ones(n), None
    for _ in range(iters):
        a = np.hstack([np.stack([t**k / g for k in range(deg_p + 1)], 1), -np.stack([t**k for k in range(1, deg_q + 1)], 1)])
        scale, s = np.abs(a).max(0), np.sqrt(w)
        sol = np.linalg.lstsq(a / scale * s[:, None], s, rcond=None)[0] / scale
        p, q = sol[: deg_p + 1], np.concatenate([[1.0], sol[deg_p + 1 :]])
        err = np.abs(np.polyval(p[::-1], t) / np.polyval(q[::-1], t) / g - 1)
        if best is None or err.max() < best[0]:
            best = (err.max(), p, q)
        w = w * (err / err.max() + 1e-3)
        w *= n / w.sum()
    return best


def tanh_f32(x, p, q, X):
    """The kernel's operations in float32 (FMA emulated in double): t = x², t2 = t², the
    numerator x·P as (p1·t + p0)·x + (p4·t2 + p3·t + p2)·t2·x, the denominator likewise,
    one division, and ±1 where |x| > X."""
    fma = lambda a, b, c: (a.astype(np.float64) * b + c).astype(f32)
    c = lambda v: np.full_like(x, f32(v))
    with np.errstate(over="ignore", invalid="ignore"):
        t = x * x
        t2 = t * t
        num = fma(fma(c(p[4]), t2, fma(c(p[3]), t, c(p[2]))), t2 * x, fma(c(p[1]), t, c(p[0])) * x)
        den = fma(fma(c(q[4]), t2, fma(c(q[3]), t, c(q[2]))), t2, fma(c(q[1]), t, c(q[0])))
        y = num / den
    return np.where(np.abs(x) > f32(X), np.copysign(f32(1), x), y)


if __name__ == "__main__":
    X = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
    err, p, q = fit(4, 4, X)
    bits = np.arange(f32(1e-6).view(np.int32), f32(12).view(np.int32), 1, dtype=np.int32)
    x = bits.view(f32)
    y = tanh_f32(x, p, q, X)
    rel = np.abs(y / np.tanh(x.astype(np.float64)) - 1).max()
    big = tanh_f32(np.array([X, np.inf, -np.inf, 1e30], f32), p, q, X)
    print(f"exact max rel {err:.3g}; float32 max rel {rel:.3g} over {len(x)} floats; max |y| {y.max()!r}; "
          f"y(X, inf, -inf, 1e30) = {big.tolist()}; 1 - tanh(X) = {1 - np.tanh(X):.3g}")
    print("p", ", ".join(f"{float(f32(v))!r}f" for v in p))
    print("q", ", ".join(f"{float(f32(v))!r}f" for v in q))
