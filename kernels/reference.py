"""The four softmax algorithms in numpy, one short function each, written to
be read: each keeps the passes of its C kernels and what each pass carries
from one to the next, computed in float64.

They are the book's first look at the algorithms and the test suite's oracle
for the C kernels (tests/test_reference.py).  They take finite rows only: the
library's rule for NaN and infinities lives in kernels.api and is tested there.

Float64 is enough for every finite float32 row, up to +-3.4e38: x - max is
exact to 2^-53 relative, and `extexp`'s m = 2^(x log2(e) - n) is off by about
|x| 2^-53 relative, which matters only where neighbouring float32 values are
so far apart (|x| beyond 2^30 or so) that every output but the ties at the
maximum is 0, and ties get equal pairs.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["three_pass_recompute", "three_pass_reload", "two_pass", "online",
           "extexp", "add_pairs", "two_pass_steps", "ALGORITHMS"]


def _row(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"the reference takes one non-empty row, not shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("the reference takes finite rows only (the library's rule for NaN and inf is in kernels.api)")
    return x


def three_pass_recompute(x) -> np.ndarray:
    x = _row(x)
    max_ = x.max()                     # pass 1: the maximum
    total = np.exp(x - max_).sum()     # pass 2: the sum of exponentials, not stored
    return np.exp(x - max_) / total    # pass 3: each exponential again, scaled


def three_pass_reload(x) -> np.ndarray:
    x = _row(x)
    max_ = x.max()                     # pass 1: the maximum
    y = np.exp(x - max_)               # pass 2: the exponentials, stored and summed
    return y * (1.0 / y.sum())         # pass 3: reload them and scale


def extexp(x) -> tuple[np.ndarray, np.ndarray]:
    """e^x as a pair (m, n), e^x = m * 2^n with m in [2^-1/2, 2^1/2] and n an
    integer (held in a float, so it never overflows)."""
    z = np.asarray(x, dtype=np.float64) * (1 / math.log(2))
    n = np.rint(z)
    return np.exp2(z - n), n  # z - n is exact and within +-1/2, whatever |x|


def add_pairs(m: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """The sum of the pairs (m_i, n_i) as one pair (M, N): every term brought
    to the largest exponent N, which scales it by a power of two <= 1."""
    big_n = n.max()
    return float(np.sum(m * np.exp2(n - big_n))), float(big_n)


def two_pass(x) -> np.ndarray:
    x = _row(x)
    total_m, total_n = add_pairs(*extexp(x))   # pass 1: the sum as a pair, no maximum of x
    m, n = extexp(x)                           # pass 2: each pair again, divided by the sum's
    return m / total_m * np.exp2(n - total_n)


def online(x, block: int = 16) -> np.ndarray:
    """Milakov & Gimelshein's online normaliser: pass 1 keeps a running
    maximum and a sum of e^(x - running maximum), rescaling the sum whenever
    a block raises the maximum; `block` plays the part of the kernels' tile."""
    x = _row(x)
    max_, total = -math.inf, 0.0
    for start in range(0, x.size, block):    # pass 1
        chunk = x[start:start + block]
        new_max = max(max_, chunk.max())
        total = total * math.exp(max_ - new_max) + np.exp(chunk - new_max).sum()
        max_ = new_max
    return np.exp(x - max_) / total           # pass 2


ALGORITHMS = {
    "three-pass-recompute": three_pass_recompute,
    "three-pass-reload": three_pass_reload,
    "two-pass": two_pass,
    "online": online,
}


def two_pass_steps(x) -> list[dict]:
    """Pass 1 of the two-pass algorithm one element at a time (one lane, as
    the scalar kernel runs it): each element's pair, the running pair (M, N)
    after adding it, and whether adding it rescaled M (its n exceeded N)."""
    x = _row(x)
    steps, total_m, total_n = [], 0.0, -math.inf
    for value in x:
        m, n = (float(v) for v in extexp(value))
        rescaled = n > total_n and total_m > 0.0
        if n > total_n:
            total_m, total_n = total_m * 2.0 ** (total_n - n), n
        total_m += m * 2.0 ** (n - total_n)
        steps.append({"x": float(value), "m": m, "n": n, "rescaled": rescaled, "M": total_m, "N": total_n})
    return steps
