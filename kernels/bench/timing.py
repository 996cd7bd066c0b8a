"""Interleaved timing: every case measured in the same rounds, so machine noise
hits all of them alike, and ratios taken round by round.

A *case* is one thing to time (an algorithm with chosen kernels, one pass
kernel, a bandwidth kernel, or a peer library). Each round runs every case
once, in a fresh random order, as a batch of calls long enough for the clock
(batches are timed in C for kernels). After each batch its output is checked,
so no work can be skipped unnoticed.

Cache modes: "warm" reuses one input and one output buffer (both stay cached
when they fit); "cold" rotates through copies whose total exceeds twice the
last-level cache, so neither input nor output is cached when a call starts.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

MODES = ("warm", "cold")


class BenchmarkError(RuntimeError):
    """A benchmark produced an output that fails its check."""


@dataclass
class Case:
    """One thing to time.

    run(n, xs, ys, calls, first) -> (nanoseconds, scalar checksum) runs `calls`
    calls, call i on xs[(first+i) % len(xs)] and ys[(first+i) % len(ys)].
    check(x, y, checksum, calls) raises BenchmarkError if the output is wrong.
    """

    label: str
    group: str  # "algorithm", "pass", "bandwidth" or "peer"
    run: Callable[..., tuple[int, float]]
    check: Callable[..., None] | None = None
    in_place: bool = False  # operates on the output buffers only
    meta: dict = field(default_factory=dict)
    outputs: list[np.ndarray] | None = None  # its own output buffers instead of the shared ones

    def arrays(self, buffers: Buffers) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The input and output buffers this case runs on."""
        ys = self.outputs if self.outputs is not None else buffers.ys
        return (ys, ys) if self.in_place else (buffers.xs, ys)


class Buffers:
    """Input and output buffers for one size and cache mode."""

    def __init__(self, x: np.ndarray, mode: str, llc_bytes: int | None, max_bytes: int = 6 << 30):
        if mode not in MODES:
            raise ValueError(f"cache mode must be one of {MODES}, not {mode!r}")
        self.n = x.size
        count = 1
        if mode == "cold":
            llc = llc_bytes or 64 << 20  # unknown LLC: assume a large one
            pair_bytes = 2 * 4 * x.size
            count = max(1, min(1 + math.ceil(2 * llc / pair_bytes), max_bytes // pair_bytes))
        self.mode = mode
        self.xs = [aligned_copy(x) for _ in range(count)]
        self.ys = [aligned_empty(x.size) for _ in range(count)]
        for y in self.ys:
            y.fill(0.0)  # touch every page before timing

    @property
    def x(self) -> np.ndarray:
        return self.xs[0]

    def describe(self) -> str:
        if self.mode == "warm":
            return "input and output reused (cached when they fit), page-aligned"
        return f"input and output rotated over {len(self.xs)} page-aligned copies (neither cached)"


def aligned_empty(n: int, alignment: int = 4096) -> np.ndarray:
    """A float32 array whose data starts on a page boundary.

    Inputs and outputs then share their offset within a page, so loads of one
    never falsely alias pending stores to the other (4K aliasing, which slows
    in-cache kernels when the output starts a few cache lines past the input;
    the tuning chapter measures it); `kernels.softmax` places the outputs it
    allocates the same way."""
    raw = np.empty(n + alignment // 4, np.float32)
    offset = (-raw.ctypes.data % alignment) // 4
    return raw[offset : offset + n]


def page_offset_empty(n: int, offset_bytes: int) -> np.ndarray:
    """A float32 array starting `offset_bytes` (a multiple of 4) past a page
    boundary, its pages touched: to measure 4K aliasing."""
    start = offset_bytes // 4
    out = aligned_empty(n + start)[start:]
    out.fill(0.0)
    return out


def aligned_copy(x: np.ndarray) -> np.ndarray:
    out = aligned_empty(x.size)
    out[:] = x
    return out


def calibrate(case: Case, buffers: Buffers, target_ns: float, max_calls: int = 1 << 20) -> int:
    """Warms the case up, then picks the calls per batch that last ~target_ns."""
    xs, ys = case.arrays(buffers)
    case.run(buffers.n, xs, ys, 1, 0)
    ns, _ = case.run(buffers.n, xs, ys, min(3, len(xs)), 0)
    per_call = max(ns / min(3, len(xs)), 1.0)
    return int(max(1, min(max_calls, target_ns // per_call)))


def measure(
    cases: list[Case],
    buffers: Buffers,
    reps: int,
    target_ns: float,
    rng: np.random.Generator,
    progress=None,
) -> list[dict]:
    """Runs every case `reps` times, interleaved; returns one sample per run."""
    calls = {c.label: calibrate(c, buffers, target_ns) for c in cases}
    samples = []
    order = list(cases)
    for rep in range(reps):
        rng.shuffle(order)
        for case in order:
            xs, ys = case.arrays(buffers)
            k = calls[case.label]
            first = rep * k
            ns, checksum = case.run(buffers.n, xs, ys, k, first)
            if case.check is not None:
                last = (first + k - 1) % len(ys)
                case.check(xs[last % len(xs)], ys[last], checksum, k)
            samples.append(
                {"case": case.label, "group": case.group, "rep": rep, "calls": k, "ns_per_call": ns / k, **case.meta}
            )
        if progress is not None:
            progress.update(1)
    return samples


def python_runner(fn: Callable[[np.ndarray, np.ndarray], object]) -> Callable[..., tuple[int, float]]:
    """A Case.run for a Python callable fn(x, y) (peers); timed with perf_counter_ns."""

    def run(n, xs, ys, calls, first):
        nx, ny = len(xs), len(ys)
        start = time.perf_counter_ns()
        for i in range(calls):
            fn(xs[(first + i) % nx], ys[(first + i) % ny])
        return time.perf_counter_ns() - start, 0.0

    return run
