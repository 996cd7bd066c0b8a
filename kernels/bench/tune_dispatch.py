"""The second half of `python -m kernels.bench tune`: the thread policy and
the decision map that ``algorithm="auto"`` follows (stored by
`kernels.tuning.save_dispatch`, read by `kernels.tuning.choose_algorithm`).

Per runnable ISA:
  1. thread thresholds: on all threads (no minimum) against one, for spread
     rows (rows of SPREAD_ROW_LENGTH, growing in number) and for one row split
     across the threads (growing in length), the algorithm "auto" runs there
     without stored data; a threshold is the smallest measured work from
     which the threads win by the tuner's rule (`evidence.Evidence.convincing`)
     at that size and at every larger one.  They become the ThreadPolicy:
     min_elements_per_thread = spread threshold / threads and min_split_chunk =
     split threshold / threads (a size where the threads never won puts the
     threshold past the largest measured size; a loss below a size that won
     is measured again, and the second measurement counts).  Calls run back to back, so
     OpenMP's workers are awake: what a call pays after the process idled is
     `threads_probe coldstart`'s to show;
  2. the decision map, with that policy: per layout (rows: along the last
     axis, (rows, n); columns: along a non-last axis, (n, columns)) and
     thread count (1 and all), on the grid points up to MAX_ELEMENTS, every
     algorithm interleaved with an A/A copy of the default, timed in C.  A
     point stores the fastest algorithm (median of the rounds) and its margin
     (median per-round time of the runner-up / the winner's).  When the rule
     cannot tell the winner from the runner-up (a tie) the point keeps the
     documented default (`kernels.tuning.default_algorithm`), unless the
     default itself is convincingly slower than the winner.  Points where all
     threads would run on one (the policy) are not measured on "all": calls
     there look up the 1-thread grid.
  3. the decision map of log_softmax's "auto", the same way: its log twins
     of the algorithms (registry.LOG_SOFTMAX_ALGORITHMS; the two three-pass
     ones coincide), the same grids, its own default
     (`kernels.tuning.default_log_softmax_algorithm`).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import api, registry, tuning
from .threads_probe import NO_MINIMUM, c_timed, data, interleaved_rounds
from .evidence import AA_SUFFIX, Evidence

LAYOUTS = ("rows", "columns")
OPERATIONS = tuple(tuning.DECISION_KEYS)


@dataclass(frozen=True)
class Settings:
    """What one tuning run measures."""

    n: dict[str, list[int]]  # per layout, the row lengths of the grid
    rows: dict[str, list[int]]  # per layout, the row (column) counts of the grid
    max_elements: int  # grid points hold at most this many elements
    threshold_sizes: list[int]  # the work (elements) of the thread threshold measurements
    rounds: int
    batch_seconds: float


FULL = Settings(
    n={"rows": [128, 1024, 8192, 1 << 15, 1 << 17, 1 << 19, 1 << 22], "columns": [128, 1024, 8192, 1 << 16]},
    rows={"rows": [1, 16, 256, 4096], "columns": [16, 256, 4096]},
    # Batches up to 2^25 elements: where the batch streams from memory while
    # each row stays in L2 (the reported last-level cache of a VM can be the
    # whole host's, so no cache size decides this; the measurement does).
    max_elements=1 << 25,
    threshold_sizes=[1 << k for k in range(12, 21)],
    rounds=11,
    batch_seconds=0.005,
)
QUICK = Settings(
    n={"rows": [128, 8192], "columns": [128, 1024]},
    rows={"rows": [1, 64], "columns": [16]},
    max_elements=1 << 16,
    threshold_sizes=[1 << 12, 1 << 15],
    rounds=5,
    batch_seconds=0.001,
)
SPREAD_ROW_LENGTH = 1024
"""Rows of the spread-rows threshold: short enough to come in numbers."""


def shape_of(layout: str, n: int, rows: int) -> tuple[tuple[int, int], int]:
    """The array and axis of a grid point: (rows, n) along -1 or (n, columns) along 0."""
    return ((rows, n), -1) if layout == "rows" else ((n, rows), 0)


def point_plan(algorithm: str, isa: str, n: int, threads: int, policy: tuning.ThreadPolicy) -> api.Plan:
    """The plan "auto" would run: this machine's tuned variants for n, the policy given."""
    return api.Plan(algorithm, isa, tuning.variants_for(algorithm, isa, n), threads=threads, policy=policy)


def timed_case(plan: api.Plan, layout: str, x: np.ndarray, y: np.ndarray, operation: str = "softmax"):
    log = operation == "log_softmax"
    if layout == "rows":
        return c_timed(plan, x.shape[0], x, y, log_softmax=log)
    return c_timed(plan, 1, x, y, inner=x.shape[1], log_softmax=log)


def gains(samples: dict[str, list[float]], slower: str, faster: str) -> np.ndarray:
    """Per-round time(slower) / time(faster)."""
    return np.asarray(samples[slower]) / np.asarray(samples[faster])


def aa_noise(samples: dict[str, list[float]], reference: str) -> float:
    return abs(float(np.median(gains(samples, reference, reference + AA_SUFFIX))) - 1.0)


# ---------------------------------------------------------- thread policy


def wins_from(sizes: list[int], wins: list[bool]) -> int | None:
    """The smallest size from which every measured size won, or None."""
    found = None
    for size, won in zip(reversed(sizes), reversed(wins)):
        if not won:
            break
        found = size
    return found


def threads_win(isa: str, shape: tuple[int, int], mode: str, threads: int,
                settings: Settings) -> tuple[bool, float]:
    """Whether `threads` threads (as `mode`) beat one on an array of that
    shape by the rule; and their median gain."""
    rows, n = shape
    algorithm = tuning.default_algorithm(isa, "rows", n, rows, 1)
    x, y = data(shape), np.empty(shape, np.float32)
    many = point_plan(algorithm, isa, n, threads, NO_MINIMUM)
    assert many.schedule(shape)[1] == mode, (shape, many.schedule(shape))
    one = point_plan(algorithm, isa, n, 1, NO_MINIMUM)
    cases = {"one": timed_case(one, "rows", x, y), "one" + AA_SUFFIX: timed_case(one, "rows", x, y),
             "many": timed_case(many, "rows", x, y)}
    samples = interleaved_rounds(cases, settings.rounds, settings.batch_seconds)
    evidence = Evidence(gains(samples, "one", "many"), aa_noise(samples, "one"))
    return evidence.convincing(), evidence.median


def threshold_shape(mode: str, size: int) -> tuple[int, int]:
    return (size // SPREAD_ROW_LENGTH, SPREAD_ROW_LENGTH) if mode == "spread rows" else (1, size)


def measure_policy(isa: str, threads: int, settings: Settings, log) -> tuple[tuning.ThreadPolicy, list[dict]]:
    """The thread policy from the measured thresholds, and the measurements.
    A loss below a larger size that won is measured once more, in fresh
    rounds, and the second measurement counts: one noisy point would
    otherwise move the threshold past every size below it."""
    sizes = [s for s in settings.threshold_sizes if s >= 2 * SPREAD_ROW_LENGTH]
    table, found = [], {}
    for mode in ("spread rows", "split rows"):
        log(f"  {isa}: {threads} threads against 1, {mode}, {sizes[0]:,} ... {sizes[-1]:,} elements")
        rows = []
        for size in sizes:
            shape = threshold_shape(mode, size)
            won, gain = threads_win(isa, shape, mode, threads, settings)
            rows.append({"isa": isa, "mode": mode, "shape": f"{shape[0]} x {shape[1]}", "elements": size,
                         "gain": gain, "wins": won, "first gain": None})
        for i, row in enumerate(rows):
            if not row["wins"] and any(later["wins"] for later in rows[i + 1:]):
                won, gain = threads_win(isa, threshold_shape(mode, row["elements"]), mode, threads, settings)
                row.update({"first gain": row["gain"], "gain": gain, "wins": won})
        table += rows
        found[mode] = wins_from(sizes, [row["wins"] for row in rows])
    spread = found["spread rows"] or 2 * sizes[-1]  # never won: past the measured range
    split = found["split rows"] or 2 * sizes[-1]
    return tuning.ThreadPolicy(spread // threads, split // threads), table


# ----------------------------------------------------------- decision map


@dataclass
class Decision:
    algorithm: str  # stored
    winner: str
    runner_up: str
    margin: float  # median per-round time(runner-up) / time(winner)
    tie: bool


def decide(samples: dict[str, list[float]], default: str, candidates=registry.ALGORITHMS) -> Decision:
    """The rule of this module's docstring, on one point's rounds."""
    medians = {a: statistics.median(samples[a]) for a in candidates}
    winner, runner_up = sorted(candidates, key=medians.get)[:2]
    noise = aa_noise(samples, default)
    ahead = Evidence(gains(samples, runner_up, winner), noise)
    if ahead.convincing():
        return Decision(winner, winner, runner_up, ahead.median, False)
    default_slower = winner != default and Evidence(gains(samples, default, winner), noise).convincing()
    return Decision(winner if default_slower else default, winner, runner_up, ahead.median, True)


def measure_point(isa: str, layout: str, n: int, rows: int, threads: int, policy: tuning.ThreadPolicy,
                  settings: Settings, operation: str = "softmax") -> Decision:
    shape, _ = shape_of(layout, n, rows)
    x, y = data(shape), np.empty(shape, np.float32)
    default = tuning.DEFAULT_RULES[operation](isa, layout, n, rows, threads)
    candidates = tuning.candidates(operation)

    def case(algorithm: str):
        return timed_case(point_plan(algorithm, isa, n, threads, policy), layout, x, y, operation)

    cases = {a: case(a) for a in candidates}
    cases[default + AA_SUFFIX] = case(default)
    return decide(interleaved_rounds(cases, settings.rounds, settings.batch_seconds), default, candidates)


def measure_grid(isa: str, layout: str, threads: int, policy: tuning.ThreadPolicy, settings: Settings,
                 table: list[dict], operation: str = "softmax") -> dict:
    """One grid of the stored format (null where not measured)."""
    ns, counts = settings.n[layout], settings.rows[layout]
    grid = {"n": ns, "rows": counts, "algorithm": [], "margin": [], "tie": []}
    for n in ns:
        cells = {"algorithm": [], "margin": [], "tie": []}
        for rows in counts:
            shape, axis = shape_of(layout, n, rows)
            probe = point_plan(registry.ALGORITHMS[0], isa, n, threads, policy)
            if n * rows > settings.max_elements or (threads > 1 and probe.schedule(shape, axis)[0] == 1):
                decision = None
            else:
                decision = measure_point(isa, layout, n, rows, threads, policy, settings, operation)
                table.append({"operation": operation, "isa": isa, "layout": layout, "threads": threads,
                              "n": n, "rows": rows,
                              "stored": decision.algorithm, "winner": decision.winner,
                              "runner-up": decision.runner_up, "margin": decision.margin,
                              "tie": decision.tie})
            cells["algorithm"].append(decision and decision.algorithm)
            cells["margin"].append(decision and round(decision.margin, 4))
            cells["tie"].append(decision and decision.tie)
        for key, row in cells.items():
            grid[key].append(row)
    return grid


def tune_dispatch(isas, settings: Settings, log=print) -> tuple[dict, dict, pd.DataFrame, pd.DataFrame]:
    """Measures (without storing) the thread policy and decision maps of each
    ISA: (decisions, threads, decision table, threshold table); decisions
    holds each operation's map, decisions["softmax"] and threads in
    `kernels.tuning`'s format."""
    all_threads = min(api.default_threads(), api.max_threads())
    decisions, policies, table, thresholds = {}, {}, [], []
    for isa in isas:
        api.check_isa(isa)
        policy = tuning.DEFAULT_THREAD_POLICY
        if all_threads > 1:
            policy, measured = measure_policy(isa, all_threads, settings, log)
            thresholds += measured
        policies[isa] = policy.as_dict()
        for operation in OPERATIONS:
            for layout in LAYOUTS:
                for threads in sorted({1, all_threads}):
                    log(f"  {isa}: {operation} decision map, {layout}, {threads} thread{'s' * (threads > 1)}")
                    grid = measure_grid(isa, layout, threads, policy, settings, table, operation)
                    by_layout = decisions.setdefault(operation, {}).setdefault(isa, {}).setdefault(layout, {})
                    by_layout[str(threads)] = grid
    return decisions, policies, pd.DataFrame(table), pd.DataFrame(thresholds)


SHORT = {"three-pass-recompute": "recompute", "three-pass-reload": "reload", "two-pass": "two-pass",
         "online": "online"}


def _cell(point) -> str:
    """"winner margin", "~" added for a tie; "=default (tie)" where the default was kept."""
    if point["tie"] and point["stored"] != point["winner"]:
        return f"={SHORT[point['stored']]} (tie)"
    return f"{SHORT[point['stored']]} {point['margin']:.2f}{'~' if point['tie'] else ''}"


def describe(table: pd.DataFrame) -> str:
    """The decision map as one small grid per ISA, layout and thread count."""
    if table.empty:
        return "(no decision measured)"
    parts = []
    for (operation, isa, layout, threads), group in table.groupby(["operation", "isa", "layout", "threads"],
                                                                  sort=False):
        grid = group.assign(cell=group.apply(_cell, axis=1)).pivot(index="n", columns="rows", values="cell")
        across = "rows (along the last axis)" if layout == "rows" else "columns (axis 0 of (n, columns))"
        parts.append(f"{operation}, {isa}, threads = {threads}: n down, {across} across\n"
                     + grid.fillna("").to_string())
    legend = ("cells: the algorithm stored and its margin (runner-up time / fastest time); '~': the "
              "runner-up within noise (the fastest is the default, or the default is clearly slower); "
              "'=X (tie)': no clear winner, the default X kept")
    return "\n\n".join(parts + [legend])
