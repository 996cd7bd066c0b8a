"""Accuracy contracts: the relative error a softmax result promises.

A contract is a relative tolerance `rtol`. Against the exact (float64)
softmax y*, every output y_i >= FLOOR keeps

    two-pass:                 |y_i - y*_i| <= rtol * y*_i
    three-pass and online:    |y_i - y*_i| <= (rtol + |x_i - max| 2^-24) * y*_i

The second term is x_i - max rounded to float32, which those algorithms do
whatever their exponential (two-pass never forms x - max). The library's
default contract is rtol = 1e-6 (``DEFAULT_RTOL``); looser ones trade
accuracy for speed through cheaper exponentials (``kernels.registry.EXPS``
states which contract each keeps). Outputs below FLOOR may be flushed to 0
and are only held to staying below 2 * FLOOR.
"""

from __future__ import annotations

import numpy as np

DEFAULT_RTOL = 1e-6
CONTRACTS = (1e-6, 1e-5, 1e-4, 1e-3)
"""The contracts the library names, tightest (the default) first."""
FLOOR = 1e-30
SUBTRACTION_ROUNDING = 2.0**-24  # |x - max| times this: x - max rounded to float32


def check_rtol(rtol) -> float:
    """rtol if it names one of CONTRACTS; ValueError naming them otherwise."""
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float, np.floating)) or float(rtol) not in CONTRACTS:
        allowed = ", ".join(f"{c:g}" for c in CONTRACTS)
        raise ValueError(f"unknown accuracy contract rtol={rtol!r}; choose one of {allowed} (default {DEFAULT_RTOL:g})")
    return float(rtol)


def spread_term(x) -> np.ndarray:
    """|x_i - max| 2^-24 per element of x (max over the last axis; 0 where the
    spread is not finite): the rounding of x - max to float32."""
    x = np.asarray(x, np.float64)
    xmax = np.max(x, axis=-1, keepdims=True, initial=-np.inf)
    with np.errstate(invalid="ignore"):
        spread = np.abs(x - xmax)
    return np.where(np.isfinite(spread), spread, 0.0) * SUBTRACTION_ROUNDING


def rounds_x_minus_max(algorithm: str) -> bool:
    return algorithm != "two-pass"


def bound(algorithm: str, x, rtol: float = DEFAULT_RTOL) -> np.ndarray:
    """The relative error each output of softmax(x) may have under a contract."""
    return rtol + (spread_term(x) if rounds_x_minus_max(algorithm) else np.zeros(np.shape(x)))


def reference(x) -> np.ndarray:
    """The softmax of finite rows in float64 (over the last axis)."""
    x64 = np.asarray(x, np.float64)
    e = np.exp(x64 - np.max(x64, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


class Reference:
    """The float64 softmax of finite rows x, prepared to measure many results
    against it: the inverse of each output >= FLOOR (0 elsewhere) and the
    spread terms."""

    def __init__(self, x):
        ref = reference(x)
        keep = ref >= FLOOR
        self.ref = ref
        self.inverse = np.where(keep, 1.0 / np.where(keep, ref, 1.0), 0.0)
        self.spread = np.where(keep, spread_term(x), 0.0)
        self._buffer = np.empty_like(ref)

    def errors(self, y, algorithm: str) -> tuple[float, float]:
        """(max relative error, excess) of a result y of softmax(x): the excess
        is the smallest rtol whose contract y keeps, the largest relative error
        less each output's spread term (for the algorithms that have one)."""
        rel = np.subtract(y, self.ref, out=self._buffer)
        np.abs(rel, out=rel)
        np.multiply(rel, self.inverse, out=rel)
        worst = float(np.max(rel, initial=0.0))
        if not rounds_x_minus_max(algorithm):
            return worst, worst
        np.subtract(rel, self.spread, out=rel)
        return worst, float(np.max(rel, initial=0.0))


def excess(y, x, algorithm: str) -> float:
    """The smallest rtol whose contract the result y of softmax(x) keeps."""
    return Reference(x).errors(y, algorithm)[1]


def tightest(measured_excess: float) -> float | None:
    """The tightest named contract a measured excess keeps (None: none)."""
    return next((rtol for rtol in CONTRACTS if measured_excess <= rtol), None)
