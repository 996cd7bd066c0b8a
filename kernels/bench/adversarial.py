"""python -m kernels.bench adversarial: each algorithm on the rows that stress it.

The two-pass and online pass-1 kernels branch on the data: a lane whose
exponent (two-pass) or maximum (online) grows rescales its running sum.  On
random rows that soon stops happening; on a rising row it happens on every
tile.  This times every algorithm on random, rising, falling, constant and
U(-1000, 1000) rows, interleaved in the same rounds, and reports each
algorithm's worst row and its cost over the sweep's random input (the median
of per-round ratios).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from .. import api, registry, tuning
from . import machine
from .arguments import add_row_arguments, row_settings
from .sweep import MODE_WORDS, algorithm_case, row_input
from .timing import Buffers, measure

# The steepest rising row the two-pass fast path takes: beyond |x| = 2^15 a
# row is shifted by its maximum first (the guarded path, kernels/csrc/driver.c).
FAST_PATH_LIMIT = 2.0**15 * 0.99

ROWS = {
    "random (the sweep's)": lambda n: row_input(n, 0),
    "U(-1000, 1000)": lambda n: np.random.default_rng(1).uniform(-1000, 1000, n).astype(np.float32),
    "rising": lambda n: np.linspace(-FAST_PATH_LIMIT, FAST_PATH_LIMIT, n, dtype=np.float32),
    "falling": lambda n: np.linspace(FAST_PATH_LIMIT, -FAST_PATH_LIMIT, n, dtype=np.float32),
    "constant": lambda n: np.full(n, 3.0, np.float32),
}
BASELINE = "random (the sweep's)"


def measure_rows(sizes, isas, algorithms, reps: int = 9, target_ms: float = 20.0, seed: int = 0, log=print):
    """Samples of every (algorithm, ISA) on every row kind, per size; the kinds
    of one size are timed in the same interleaved rounds."""
    report = machine.report()
    llc = machine.last_level_cache(report)
    rng = np.random.default_rng(seed)
    samples = []
    for n in sizes:
        mode = "warm" if n <= tuning.in_cache_row_limit() else "cold"
        for kind, make in ROWS.items():
            buffers = Buffers(make(n), mode, llc)
            cases = [algorithm_case(api.tuned_plan(a, isa, n), f"{a} [{isa}]") for isa in isas for a in algorithms]
            log(f"timing {len(cases)} plans at n = {n:,} on {kind} rows ({mode}) ...")
            for row in measure(cases, buffers, reps, target_ms * 1e6, rng):
                samples.append({**row, "n": n, "row": kind, "mode": mode})
            del buffers
    return pd.DataFrame(samples)


def describe_protocol(sizes) -> str:
    """What measure_rows ran at `sizes`, in words (for captions: kernels.notebook.measured_on)."""
    limit = tuning.in_cache_row_limit()
    buffers = []
    if min(sizes) <= limit:
        buffers.append(f"n \u2264 {limit:,}: {MODE_WORDS['warm']}")
    if max(sizes) > limit:
        buffers.append(f"n > {limit:,}: {MODE_WORDS['cold']}")
    return (f"this machine's tuned kernels on each kind of row ({', '.join(ROWS)}), each kind timed in its own "
            f"interleaved rounds; " + "; ".join(buffers))


def cost_table(samples: pd.DataFrame) -> pd.DataFrame:
    """Per size and case: ns/element on each row kind, the worst kind and its
    cost over the baseline (median over rounds of the ratio, same round index)."""
    rows = []
    for (n, case), g in samples.groupby(["n", "case"]):
        per_kind = g.groupby("row")["ns_per_call"].median() / n
        base = g[g["row"] == BASELINE].set_index("rep")["ns_per_call"]
        ratios = {}
        for kind, k in g.groupby("row"):
            times = k.set_index("rep")["ns_per_call"]
            both = times.index.intersection(base.index)
            ratios[kind] = float(np.median(times[both] / base[both]))
        worst = max(ratios, key=ratios.get)
        rows.append({"n": n, "case": case, **{f"{k} ns/elem": v for k, v in per_kind.items()},
                     "worst row": worst, "worst / random": ratios[worst]})
    return pd.DataFrame(rows).set_index(["n", "case"])


def speedup_table(samples: pd.DataFrame, algorithm: str, isa: str) -> pd.DataFrame:
    """Per size and row kind: how many times as fast `algorithm` is as each
    other algorithm (median over rounds of the per-round ratio: the kinds of
    one row are timed in the same rounds), and the worst row for each."""
    rows = []
    for (n, kind), g in samples.groupby(["n", "row"], sort=False):
        times = g.pivot_table(index="rep", columns="case", values="ns_per_call")
        base = times[f"{algorithm} [{isa}]"]
        ratios = {other: float(np.median(times[f"{other} [{isa}]"] / base))
                  for other in registry.ALGORITHMS if other != algorithm and f"{other} [{isa}]" in times}
        rows.append({"n": n, "row": kind, **{f"vs {other}": r for other, r in ratios.items()}})
    return pd.DataFrame(rows).set_index(["n", "row"])


def build_parser(sub) -> None:
    p = sub.add_parser("adversarial", help="every algorithm on random, rising, falling, constant and wide rows")
    add_row_arguments(p, "32768,16777216", "comma list of row lengths (default 2^15, 2^24)")
    p.add_argument("--isas", default=None, help="comma list (default: the best runnable ISA)")


def main(args: argparse.Namespace) -> int:
    sizes, reps, target_ms = row_settings(args)
    isas = args.isas.split(",") if args.isas else [api.available_isas()[-1]]
    samples = measure_rows(sizes, isas, registry.ALGORITHMS, reps, target_ms)
    table = cost_table(samples)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(3).to_string())
    print(f"\nmedians of {reps} interleaved rounds; worst / random is the median per-round ratio")
    return 0
