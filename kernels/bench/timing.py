"""Interleaved timing: every case measured in the same rounds, so machine noise
hits all of them alike, and ratios taken round by round.

A *case* is one thing to time (an algorithm with chosen kernels, one pass
kernel, a bandwidth kernel, kernels.softmax or a peer library called from
Python). Each round runs every case once, in a fresh random order, as a batch
of calls long enough for the clock (batches are timed in C for kernels).

No work can be skipped unnoticed: before every timed call the first and last
elements of its output are overwritten with a sentinel (NaN), and after it
they are added to the batch's *edge sum*; the edge sum, the sum of the scalar
results and the output of the batch's last call are then checked against an
untimed reference (`Case.check`). A call that does nothing leaves the
sentinel, however correct the stale contents of a buffer shared with the case
timed before it.

Cache modes: "warm" reuses one input and one output buffer (both stay cached
when they fit); "cold" rotates through copies whose total exceeds twice the
last-level cache, so neither input nor output is cached when a call starts;
"paper" is the protocol of the paper's benchmark (XNNPACK's
bench/f32-softargmax.cc): one input, read once per cache line before every
call and untimed (so an input that fits is cached), and the output rotated over
1 + ceil(LLC bytes / output bytes) buffers (cold on every call).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

MODES = ("warm", "cold", "paper")


class BenchmarkError(RuntimeError):
    """A benchmark produced an output that fails its check."""


@dataclass
class Batch:
    """What one timed batch of calls produced."""

    ns: int  # total time of the calls
    calls: int
    value_sum: float  # sum of the calls' scalar results (reductions; 0 otherwise)
    edge_sum: float  # sum over the calls of output[0] + output[-1], read just after each call
    output: np.ndarray | None  # what the last call wrote or returned (None: no output)
    input: np.ndarray  # the last call's input


@dataclass
class Case:
    """One thing to time.

    run(n, xs, ys, calls, first) -> Batch runs `calls` calls, call i on
    xs[(first+i) % len(xs)] and ys[(first+i) % len(ys)].
    check(batch) raises BenchmarkError if the batch's results are wrong.
    """

    label: str
    group: str  # "algorithm", "pass", "bandwidth", "api" or "peer"
    run: Callable[..., Batch]
    check: Callable[[Batch], None] | None = None
    in_place: bool = False  # operates on the output buffers only
    meta: dict = field(default_factory=dict)
    outputs: list[np.ndarray] | None = None  # its own output buffers instead of the shared ones

    def arrays(self, buffers: Buffers) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The input and output buffers this case runs on."""
        ys = self.outputs if self.outputs is not None else buffers.ys
        return (ys, ys) if self.in_place else (buffers.xs, ys)

    def timed(self, buffers: Buffers, calls: int, first: int) -> Batch:
        """Runs one batch and checks it; a failed check names the case."""
        xs, ys = self.arrays(buffers)
        batch = self.run(buffers.n, xs, ys, calls, first, touch=buffers.touch)
        if self.check is not None:
            try:
                self.check(batch)
            except BenchmarkError as error:
                raise BenchmarkError(f"{self.label}: {error}") from None
        return batch


class Buffers:
    """Input and output buffers for one size and cache mode."""

    def __init__(self, x: np.ndarray, mode: str, llc_bytes: int | None, max_bytes: int = 6 << 30):
        if mode not in MODES:
            raise ValueError(f"cache mode must be one of {MODES}, not {mode!r}")
        self.n = x.size
        llc = llc_bytes or 64 << 20  # unknown LLC: assume a large one
        inputs = outputs = 1
        if mode == "cold":
            pair_bytes = 2 * 4 * x.size
            inputs = outputs = max(1, min(1 + math.ceil(2 * llc / pair_bytes), max_bytes // pair_bytes))
        elif mode == "paper":
            outputs = max(1, min(1 + math.ceil(llc / (4 * x.size)), max_bytes // (4 * x.size)))
        self.mode = mode
        self.touch = mode == "paper"  # each call's input read once per cache line first, untimed
        self.xs = [aligned_copy(x) for _ in range(inputs)]
        self.ys = [aligned_empty(x.size) for _ in range(outputs)]
        for y in self.ys:
            y.fill(0.0)  # touch every page before timing

    @property
    def x(self) -> np.ndarray:
        return self.xs[0]

    def describe(self) -> str:
        if self.mode == "warm":
            return "input and output reused (cached when they fit), page-aligned"
        if self.mode == "paper":
            return (f"the paper's protocol: one input, read once per cache line before each call (untimed, "
                    f"cached when it fits); output rotated over {len(self.ys)} page-aligned buffers (cold)")
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
    case.timed(buffers, 1, 0)
    probe = min(3, max(len(buffers.xs), len(buffers.ys)))
    per_call = max(case.timed(buffers, probe, 0).ns / probe, 1.0)
    return int(max(1, min(max_calls, target_ns // per_call)))


def measure(
    cases: list[Case],
    buffers: Buffers,
    reps: int,
    target_ns: float,
    rng: np.random.Generator,
    progress=None,
) -> list[dict]:
    """Runs every case `reps` times, interleaved and checked; returns one sample per run."""
    calls = {c.label: calibrate(c, buffers, target_ns) for c in cases}
    samples = []
    order = list(cases)
    for rep in range(reps):
        rng.shuffle(order)
        for case in order:
            k = calls[case.label]
            batch = case.timed(buffers, k, rep * k)
            samples.append(
                {"case": case.label, "group": case.group, "rep": rep, "calls": k, "ns_per_call": batch.ns / k,
                 **case.meta}
            )
        if progress is not None:
            progress.update(1)
    return samples


def c_runner(task, core) -> Callable[..., Batch]:
    """A Case.run for a kernel Task, timed in C by core.time_batch."""

    def run(n, xs, ys, calls, first, touch=False):
        ns, values, edges = core.time_batch(task, xs, ys, n, calls, first, touch)
        last = first + calls - 1
        output = ys[last % len(ys)] if task.writes else None
        return Batch(ns, calls, values, edges, output, xs[last % len(xs)])

    return run


def touch_lines(x: np.ndarray) -> float:
    """Reads x once per 64-byte cache line (and its last element), as the C
    timer's touch does; returns the sum of what it read."""
    return float(x[::16].sum(dtype=np.float64)) + float(x[-1])


def _poison_edges(result: np.ndarray) -> None:
    if not result.flags.writeable:
        raise BenchmarkError("the result is read-only: no sentinel can mark it as stale")
    result[0] = result[-1] = np.nan


def _same(array):
    return array


def python_runner(
    fn: Callable,
    into: bool = True,
    prepare: Callable = _same,
    to_numpy: Callable = np.asarray,
    enter: Callable | None = None,
) -> Callable[..., Batch]:
    """A Case.run for a Python callable (kernels.softmax, peers), timed call by
    call with perf_counter_ns so that the checks' bookkeeping stays untimed.

    into: fn(x, y) writes into the preallocated y; otherwise fn(x) returns a new
    array. prepare converts a numpy buffer into the callable's array type once
    (torch.from_numpy shares the memory); to_numpy converts its result back;
    enter runs before each batch (e.g. to set a library's thread count).
    touch: each call's input is read once per cache line first, untimed.
    Sentinels: before each call, y's edges (into) and the previous result's
    edges (even from the previous batch) are set to NaN, so an output that
    was not computed by this call, a stale buffer or a cached array alike,
    carries NaN into the edge sum."""
    prepared: dict[int, tuple] = {}

    def native(array):
        held = prepared.get(id(array))
        if held is None or held[0] is not array:
            held = prepared[id(array)] = (array, prepare(array))
        return held[1]

    previous: list[np.ndarray] = []  # the last result, across batches

    def run(n, xs, ys, calls, first, touch=False):
        if enter is not None:
            enter()
        nx, ny = len(xs), len(ys)
        total_ns, edges = 0, 0.0
        for i in range(calls):
            x, y = xs[(first + i) % nx], ys[(first + i) % ny]
            if previous:
                _poison_edges(previous.pop())  # and dropped: an allocating callable may reuse the memory
            args = (native(x), native(y)) if into else (native(x),)
            if into:
                y[0] = y[-1] = np.nan
            if touch:
                touch_lines(x)
            start = time.perf_counter_ns()
            returned = fn(*args)
            total_ns += time.perf_counter_ns() - start
            previous.append(y if into else to_numpy(returned))
            edges += float(previous[0][0]) + float(previous[0][-1])
        return Batch(total_ns, calls, 0.0, edges, previous[0], x)

    return run
