"""python -m kernels.bench.threads_probe: the measurements behind the thread,
axis and "auto" defaults (README, "Threads, axes and auto").

Standalone on purpose (the sweep harness is the place for the book's
figures): each experiment times its cases interleaved, a fresh random order
per round, each case a batch of calls long enough for the clock, and prints
the median time per call over the rounds with N and the round count.

    python -m kernels.bench.threads_probe overhead    # per-call cost of small calls
    python -m kernels.bench.threads_probe forkjoin    # what a second thread costs
    python -m kernels.bench.threads_probe coldstart   # ... after the process idled
    python -m kernels.bench.threads_probe scaling     # one 2^26 row, 1 -> 2 threads
    python -m kernels.bench.threads_probe shapes      # batches against torch.softmax
    python -m kernels.bench.threads_probe axis        # a non-last axis
    python -m kernels.bench.threads_probe crossover   # which algorithm wins where
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time

import numpy as np

from .. import api, build, logsoftmax, registry, tuning
from .timing import BenchmarkError

NO_MINIMUM = tuning.ThreadPolicy(0, 0)


def interleaved_rounds(cases: dict, rounds: int, batch_seconds: float = 0.02) -> dict[str, list[float]]:
    """Nanoseconds per call of each case in each round: a case is a function
    run(calls) that makes `calls` calls and returns the nanoseconds they
    took; every round runs each case once, as a batch of about batch_seconds,
    in a fresh random order."""
    calls = {}
    for label, run in cases.items():
        run(1)  # warm up, and fault in pages
        per_call = max(run(3) / 3, 1.0)
        calls[label] = max(1, int(batch_seconds * 1e9 / per_call))
    samples = {label: [] for label in cases}
    order = list(cases)
    for _ in range(rounds):
        random.shuffle(order)
        for label in order:
            samples[label].append(cases[label](calls[label]) / calls[label])
    return samples


def interleaved(cases: dict, rounds: int, batch_seconds: float = 0.02) -> dict[str, float]:
    """Median nanoseconds per call of each case over interleaved rounds."""
    samples = interleaved_rounds(cases, rounds, batch_seconds)
    return {label: statistics.median(values) for label, values in samples.items()}


def python_timed(fn):
    """A case that calls fn() from Python."""

    def run(calls: int) -> int:
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        return time.perf_counter_ns() - start

    return run


def c_timed(plan: api.Plan, rows: int, x: np.ndarray, y: np.ndarray, inner: int = 1, log_softmax: bool = False):
    """Calls of the plan's driver (log_softmax: of its log twin) on `rows`
    rows (with inner > 1: along the middle axis of (rows, n, inner)), timed
    in C (core.time_batch): no Python in the measured loop.  A batch whose
    outputs kept time_batch's NaN sentinel (a call that skipped its work)
    raises BenchmarkError."""
    core = build.load()
    compiled = logsoftmax.log_plan(plan) if log_softmax else plan._plan
    task = core.Task(plan.algorithm, plan=compiled, rows=rows, inner=inner)
    xs, ys = [x.reshape(-1)], [y.reshape(-1)]

    def run(calls: int) -> int:
        ns, _, edges = core.time_batch(task, xs, ys, x.size, calls)
        if not math.isfinite(edges):
            raise BenchmarkError(f"{plan!r} on {x.shape}: an output edge kept its sentinel or is not finite")
        return ns

    return run


def data(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 4, shape).astype(np.float32)


def show(title: str, medians: dict[str, float], rounds: int, unit=1.0, suffix="ns/call"):
    print(f"\n{title}  (median of {rounds} interleaved rounds)")
    for label, value in medians.items():
        print(f"  {label:60s} {value / unit:12.3f} {suffix}")


def overhead(rounds: int):
    """Per-call cost of small calls through the public API, defaults."""
    cases = {}
    for n in (16, 128):
        x, y = data((1, n)), np.empty((1, n), np.float32)
        cases[f"kernels.softmax(x, out=y)  1 x {n}"] = python_timed(lambda x=x, y=y: api.softmax(x, out=y))
        cases[f"kernels.softmax(x, out=y, algorithm='two-pass')  1 x {n}"] = python_timed(
            lambda x=x, y=y: api.softmax(x, out=y, algorithm="two-pass"))
        plan = api.Plan("two-pass")
        cases[f"Plan('two-pass')(x, y)  1 x {n}"] = python_timed(lambda x=x, y=y, plan=plan: plan(x, y))
        cases[f"driver alone (timed in C)  1 x {n}"] = c_timed(plan, 1, x, y)
    x, y = data((4, 8, 128)), np.empty((4, 8, 128), np.float32)
    cases["kernels.softmax(x, axis=1, out=y)  4 x 8 x 128"] = python_timed(lambda: api.softmax(x, axis=1, out=y))
    show("per-call overhead", interleaved(cases, rounds), rounds)


def forkjoin(rounds: int):
    """A second thread on tiny work (no minimum per thread): the difference to
    one thread is what starting and joining the team costs."""
    cases = {}
    for algorithm in registry.ALGORITHMS:
        for rows, n in ((1, 2048), (2, 1024), (1, 65536)):
            x, y = data((rows, n)), np.empty((rows, n), np.float32)
            for threads in (1, 2):
                plan = api.Plan(algorithm, threads=threads, policy=NO_MINIMUM)
                mode = plan.schedule((rows, n))[1]
                cases[f"{algorithm} {rows} x {n} threads={threads} ({mode})"] = c_timed(plan, rows, x, y)
    medians = interleaved(cases, rounds)
    show("fork/join: tiny work on 1 and 2 threads (driver only)", medians, rounds)
    print("\n  added by the second thread (2 threads - 1 thread):")
    for label, value in medians.items():
        if "threads=2" in label:
            one = medians[label.replace("threads=2", "threads=1").rsplit(" (", 1)[0] + " (one thread)"]
            print(f"  {label:60s} {value - one:+10.0f} ns")


def coldstart(rounds: int, idle_ms=(0.2, 5.0), samples: int = 200):
    """Single calls after the process idled (OpenMP workers spin a while after
    a region, then sleep): what a call interleaved with other work pays."""
    core = build.load()
    print(f"\nsingle calls after an idle gap, median of {samples} (driver only)")
    for rows, n in ((1, 16384), (2, 16384), (1, 65536), (4, 65536)):
        x, y = data((rows, n)), np.empty((rows, n), np.float32)
        for gap in idle_ms:
            line = []
            for threads in (1, 2):
                plan = api.Plan("two-pass", threads=threads, policy=NO_MINIMUM)
                task = core.Task(plan.algorithm, plan=plan._plan, rows=rows)
                times = []
                for _ in range(samples):
                    time.sleep(gap / 1000)
                    times.append(core.time_batch(task, [x.reshape(-1)], [y.reshape(-1)], x.size, 1)[0])
                line.append(statistics.median(times))
            print(f"  two-pass {rows} x {n}, idle {gap:4.1f} ms: 1 thread {line[0] / 1000:7.1f} us, "
                  f"2 threads {line[1] / 1000:7.1f} us ({line[0] / line[1]:.2f}x)")


def scaling(rounds: int, log2n: int = 26):
    n = 1 << log2n
    x, y = data((1, n)), np.empty((1, n), np.float32)
    cases = {}
    for algorithm in registry.ALGORITHMS:
        for threads in (1, 2):
            plan = api.tuned_plan(algorithm, api.resolve_isa(), n, threads=threads)
            cases[f"{algorithm} threads={threads} ({plan.schedule((1, n))[1]})"] = c_timed(plan, 1, x, y)
    medians = interleaved(cases, rounds, batch_seconds=0.3)
    show(f"one row of 2^{log2n} (driver only, tuned variants)", medians, rounds, unit=n, suffix="ns/element")
    for algorithm in registry.ALGORITHMS:
        one, two = (next(v for k, v in medians.items() if k.startswith(f"{algorithm} threads={t}")) for t in (1, 2))
        print(f"  {algorithm:24s} 1 -> 2 threads: {one / two:.2f}x")


def _torch_case(shape, dim=-1):
    import torch

    xt = torch.from_numpy(data(shape))
    yt = torch.empty_like(xt)
    return python_timed(lambda: torch.softmax(xt, dim, out=yt))


def shapes(rounds: int):
    """Batches like ML runs them, against torch.softmax with its default threads,
    both writing into preallocated outputs."""
    import torch

    print(f"torch {torch.__version__}, torch.get_num_threads() = {torch.get_num_threads()}")
    for shape in ((8, 32000), (64, 32000), (4096, 512), (1024, 2048)):
        x, y = data(shape), np.empty(shape, np.float32)
        cases = {"torch.softmax(xt, -1, out=yt)": _torch_case(shape)}
        for threads in (1, 2):
            for algorithm in ("auto",) + registry.ALGORITHMS:
                label = f"kernels.softmax {algorithm} threads={threads}"
                cases[label] = python_timed(lambda a=algorithm, t=threads: api.softmax(x, out=y, algorithm=a, threads=t))
        medians = interleaved(cases, rounds)
        picked = {t: api.choose_algorithm(shape, threads=t) for t in (1, 2)}
        show(f"{shape[0]} x {shape[1]}  (auto picks {picked[1]} on 1 thread, {picked[2]} on 2)", medians, rounds,
             unit=1000, suffix="us/call")
        torch_time = medians["torch.softmax(xt, -1, out=yt)"]
        for threads in (1, 2):
            auto = medians[f"kernels.softmax auto threads={threads}"]
            print(f"  torch / kernels auto, threads={threads}: {torch_time / auto:.2f}x")


def _through_a_transposed_copy(x, y, dim):
    """What the column kernels avoid: move the axis last, copy, softmax, copy back."""
    np.moveaxis(y, dim, -1)[...] = api.softmax(np.ascontiguousarray(np.moveaxis(x, dim, -1)), threads=2)


def axis(rounds: int):
    """Throughput (GB/s of input read plus output written) along a non-last
    axis against the last axis, and against torch.softmax along the same dim."""
    import torch

    cases = {}
    for shape, dim in (((4096, 4096), 0), ((64, 512, 512), 1), ((512, 64, 512), 1), ((8192, 1024), 0),
                       ((4096, 64, 16), 1), ((2048, 2048, 4), 1)):
        x, y = data(shape), np.empty(shape, np.float32)
        last = tuple(s for i, s in enumerate(shape) if i != dim) + (shape[dim],)
        xl, yl = data(last), np.empty(last, np.float32)
        tag = f"{'x'.join(map(str, shape))} axis={dim}"
        for threads in (1, 2):
            cases[f"{tag} kernels threads={threads}"] = python_timed(lambda x=x, y=y, d=dim, t=threads: api.softmax(
                x, axis=d, out=y, threads=t))
            cases[f"{tag} kernels last axis, same size, threads={threads}"] = python_timed(
                lambda xl=xl, yl=yl, t=threads: api.softmax(xl, out=yl, threads=t))
        cases[f"{tag} torch dim={dim}"] = _torch_case(shape, dim)
        cases[f"{tag} transposed copy + last-axis kernels, threads=2"] = python_timed(
            lambda x=x, y=y, d=dim: _through_a_transposed_copy(x, y, d))
    for shape, dim in (((4096, 4096), 0), ((64, 512, 512), 1)):
        x, y = data(shape), np.empty(shape, np.float32)
        tag = f"{'x'.join(map(str, shape))} axis={dim}"
        for algorithm in registry.ALGORITHMS:
            for threads in (1, 2):
                cases[f"{tag} kernels {algorithm} threads={threads}"] = python_timed(
                    lambda x=x, y=y, d=dim, a=algorithm, t=threads: api.softmax(x, axis=d, out=y, algorithm=a,
                                                                                threads=t))
    medians = interleaved(cases, rounds, batch_seconds=0.05)
    print(f"\nnon-last axis  (median of {rounds} interleaved rounds; GB/s = 8 bytes per element / time)")
    for label, value in medians.items():
        size = int(np.prod([int(s) for s in label.split(" ")[0].split("x")]))
        print(f"  {label:70s} {value / 1000:10.1f} us  {8 * size / value:7.2f} GB/s")


def crossover(rounds: int, total_log2s=(16, 20, 22, 24)):
    """Every algorithm over row lengths at fixed total sizes, 1 and 2 threads:
    where three-pass reloading stops beating two-pass."""
    for total_log2 in total_log2s:
        _crossover_at(rounds, total_log2)


def _crossover_at(rounds: int, total_log2: int):
    total = 1 << total_log2
    isa = api.resolve_isa()
    for threads in (1, 2):
        print(f"\nthreads={threads}, {isa}, rows x n = 2^{total_log2} elements, N(0, 4): ns/element, "
              f"median of {rounds} rounds")
        print(f"  {'n':>8s} " + " ".join(f"{a:>21s}" for a in registry.ALGORITHMS) + "   fastest")
        for log2n in range(7, total_log2 + 1, 2):
            n = 1 << log2n
            rows = total // n
            x, y = data((rows, n)), np.empty((rows, n), np.float32)
            cases = {a: c_timed(api.tuned_plan(a, isa, n, threads=threads), rows, x, y) for a in registry.ALGORITHMS}
            medians = interleaved(cases, rounds, batch_seconds=0.05)
            best = min(medians, key=medians.get)
            cells = " ".join(f"{medians[a] / total:21.3f}" for a in registry.ALGORITHMS)
            print(f"  {n:8d} {cells}   {best} ({medians['two-pass'] / medians['three-pass-reload']:.2f})")


EXPERIMENTS = {f.__name__: f for f in (overhead, forkjoin, coldstart, scaling, shapes, axis, crossover)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", choices=sorted(EXPERIMENTS))
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args(argv)
    print(f"kernels {api.resolve_isa()}, default threads {api.default_threads()}, "
          f"OpenMP {'on' if build.load().openmp() else 'off'}")
    EXPERIMENTS[args.experiment](args.rounds)


if __name__ == "__main__":
    main()
