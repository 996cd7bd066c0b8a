"""Softmax on threads and batches: the measurements of the "Softmax at work"
chapter, and the live panel that repeats them.

Every measurement goes through the book's harness (`kernels.bench.timing`):
cases interleaved in a fresh random order per round, each batch of calls
checked against a float64 softmax of its input.  One long row is timed in C
through the driver (`sweep.algorithm_case`); a batch through
``kernels.softmax(x, out=y, algorithm=..., threads=...)`` from Python, which
is how a user calls it and the only way to time ``algorithm="auto"``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import api, registry
from . import analysis, machine, traffic
from .sweep import KERNEL_RTOL, algorithm_case, bandwidth_cases, bandwidth_kernels, row_input
from .timing import BenchmarkError, Buffers, Case, measure, python_runner

AUTO = api.AUTO
CHOICES = (AUTO,) + registry.ALGORITHMS  # what the batch measurements compare


def thread_counts() -> list[int]:
    """1 and every core this process may use (just [1] on one core)."""
    return sorted({1, api.default_threads()})


def case_label(algorithm: str, threads: int) -> str:
    return f"{algorithm} threads={threads}"


# ------------------------------------------------------------ one long row


def long_row(n: int, algorithms=registry.ALGORITHMS, threads=None, rounds: int = 7, target_ms: float = 50.0,
             isa: str | None = None, seed: int = 0) -> pd.DataFrame:
    """One row of n elements through the driver on 1 and all threads (split
    into one chunk per thread), tuned variants, per-round samples."""
    isa = api.resolve_isa(isa)
    cases = []
    for algorithm in algorithms:
        for count in threads or thread_counts():
            case = algorithm_case(api.tuned_plan(algorithm, isa, n, threads=count), case_label(algorithm, count))
            case.meta["threads"] = count
            cases.append(case)
    buffers = Buffers(row_input(n, seed), "warm", machine.last_level_cache(machine.report()))
    cases += read_roof_cases(buffers.x, isa, max(threads or thread_counts()))
    samples = pd.DataFrame(measure(cases, buffers, rounds, target_ms * 1e6, np.random.default_rng(seed)))
    samples["n"], samples["rows"], samples["mode"] = n, 1, "warm"
    return samples


def read_roof_cases(x: np.ndarray, isa: str, threads: int) -> list[Case]:
    """The read-only bandwidth kernels (the read roof's candidates of
    `kernels.bench.sweep`) on one thread and, when above 1, on `threads`."""
    kernels = [k for k in bandwidth_kernels(isa, threads) if k.pattern == traffic.READ]
    cases = bandwidth_cases(x, isa, threads, kernels)
    for case, k in zip(cases, kernels):
        case.meta["threads"] = k.threads
    return cases


def read_roof(samples: pd.DataFrame, threads: int) -> tuple[float, str]:
    """ns/element of reading the row once on `threads` threads: the best round
    of the fastest read-only kernel (the roof rule of the bandwidth chapter),
    and that kernel's name."""
    reads = samples[(samples["group"] == "bandwidth") & (samples["threads"] == threads)]
    best = reads.groupby("kernel")["ns_per_call"].min()
    return float(best.min() / samples["n"].iloc[0]), str(best.idxmin())


def speedup(samples: pd.DataFrame, algorithm: str, threads: int, base_threads: int = 1) -> float:
    """Median over rounds of time(base_threads) / time(threads), one shape."""
    n = samples["n"].iloc[0]
    return analysis.paired_ratio(samples, "warm", n, case_label(algorithm, base_threads),
                                 case_label(algorithm, threads))


# ----------------------------------------------------------------- batches


def batch_check(rows: int, n: int, x: np.ndarray):
    """A check for batches of rows x n: every call's first and last output
    (the harness sets them to NaN before each call), then the last call's rows
    against a float64 softmax of the input."""
    x64 = x.reshape(rows, n).astype(np.float64)
    reference = np.exp(x64 - x64.max(axis=1, keepdims=True))
    reference /= reference.sum(axis=1, keepdims=True)
    reference = reference.reshape(-1)
    edges = float(reference[0] + reference[-1])

    def check(batch):
        per_call = batch.edge_sum / batch.calls
        if not abs(per_call - edges) <= KERNEL_RTOL * edges:
            raise BenchmarkError(f"output edges average {per_call!r}, expected {edges!r}: a call skipped its work")
        got = np.asarray(batch.output, np.float64)
        if not np.all(np.abs(got - reference) <= KERNEL_RTOL * reference + 1e-30):
            raise BenchmarkError("an output differs from the float64 softmax")

    return check


def batch_case(algorithm: str, rows: int, n: int, threads: int, x: np.ndarray, isa: str | None = None) -> Case:
    """kernels.softmax on rows x n (the buffers are flat), with out=."""
    shape = (rows, n)

    def call(x, y):
        return api.softmax(x.reshape(shape), out=y.reshape(shape), algorithm=algorithm, isa=isa, threads=threads)

    runs = algorithm if algorithm != AUTO else api.choose_algorithm(shape, isa=isa, threads=threads)
    meta = {"algorithm": algorithm, "runs": runs, "threads": threads, "rows": rows,
            "schedule": api.Plan(runs, isa, threads=threads).schedule(shape)[1]}
    return Case(case_label(algorithm, threads), "api", python_runner(call), batch_check(rows, n, x), meta=meta)


def batches(shapes, algorithms=CHOICES, threads=None, rounds: int = 7, target_ms: float = 20.0,
            isa: str | None = None, seed: int = 0, progress=None) -> pd.DataFrame:
    """Per-round samples of every (algorithm, threads) on each rows x n shape."""
    frames = []
    rng = np.random.default_rng(seed)
    llc = machine.last_level_cache(machine.report())
    for rows, n in shapes:
        buffers = Buffers(row_input(rows * n, seed), "warm", llc)
        cases = [batch_case(a, rows, n, t, buffers.x, isa) for a in algorithms for t in (threads or thread_counts())]
        samples = pd.DataFrame(measure(cases, buffers, rounds, target_ms * 1e6, rng, progress))
        samples["n"], samples["elements"], samples["mode"] = n, rows * n, "warm"
        frames.append(samples)
        del buffers
    return pd.concat(frames, ignore_index=True)


def medians(samples: pd.DataFrame) -> pd.DataFrame:
    """One row per shape, algorithm and thread count: the median time per call
    and per element, and what auto ran."""
    keys = ["rows", "n", "algorithm", "threads"]
    table = samples.groupby(keys, sort=False).agg(ns_per_call=("ns_per_call", "median"), runs=("runs", "first"),
                                                   schedule=("schedule", "first"), rounds=("rep", "count"))
    table = table.reset_index()
    table["ns_per_element"] = table["ns_per_call"] / (table["rows"] * table["n"])
    table["gb_per_s"] = 8.0 / table["ns_per_element"]  # read x and write y once: 8 bytes per element
    return table


def fastest(table: pd.DataFrame) -> pd.DataFrame:
    """Per shape and thread count: the fastest explicit algorithm, the one auto
    ran, and auto's time over the fastest (1: auto picked the fastest)."""
    rows = []
    for (r, n, t), d in table.groupby(["rows", "n", "threads"], sort=False):
        explicit = d[d["algorithm"] != AUTO].set_index("algorithm")["ns_per_call"]
        auto = d[d["algorithm"] == AUTO]
        best = explicit.idxmin()
        row = {"rows": r, "n": n, "threads": t, "fastest": best,
               "margin": explicit.drop(best).min() / explicit[best] if len(explicit) > 1 else np.nan}
        if len(auto):
            row.update(auto_runs=auto["runs"].iloc[0],
                       auto_over_fastest=auto["ns_per_call"].iloc[0] / explicit[best])
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- explorer

AUTO_COLOR = "#000000"


def explorer_data(samples: pd.DataFrame) -> pd.DataFrame:
    """One row per shape, algorithm and thread count, with each round's time
    per element (rounds in the harness's order) so that ratios pair by round."""
    table = medians(samples)
    table["elements"] = table["rows"] * table["n"]
    table["gelem_per_s"] = 1.0 / table["ns_per_element"]
    table["shape"] = [f"{r} x {n}" for r, n in zip(table["rows"], table["n"])]
    per_round = samples.assign(ns=samples["ns_per_call"] / (samples["rows"] * samples["n"]))
    keys = ["rows", "n", "algorithm", "threads"]
    lists = per_round.sort_values("rep").groupby(keys, sort=False)["ns"].apply(lambda s: [float(v) for v in s])
    table["round_ns_per_element"] = [lists[key] for key in zip(*(table[k] for k in keys))]
    return table.sort_values(["threads", "elements", "algorithm"]).reset_index(drop=True)


def explorer(samples: pd.DataFrame, report: dict, name: str, title: str):
    """An explorer over a `batches` measurement: one series per algorithm
    (auto included), the shapes along x by their element count, threads as a
    control."""
    from . import explorer as ex
    from . import plots

    data = explorer_data(samples)
    if data.duplicated(["algorithm", "threads", "elements"]).any():
        raise ValueError("two shapes with the same element count would share a point")
    styles = {a: {"color": plots.COLORS.get(a, AUTO_COLOR), "dash": [6, 4] if a == AUTO else []}
              for a in data["algorithm"].unique()}
    return ex.Explorer(
        name=name, title=title, data=data, x="elements", x_label="elements per call (rows x n)",
        measures=[ex.Measure("ns_per_element", "ns per element"),
                  ex.Measure("gelem_per_s", "throughput (10^9 elements/s)"),
                  ex.Measure("gb_per_s", "GB/s (8 bytes per element)", digits=3)],
        measure="ns_per_element", key=["algorithm"], label="algorithm", facets=["threads"],
        facet_defaults={"threads": int(data["threads"].max())},
        hover=[ex.Hover("shape", "rows x n"), ex.Hover("ns_per_element", "ns/element"),
               ex.Hover("gb_per_s", "GB/s", 3), ex.Hover("runs", "runs"), ex.Hover("schedule", "schedule"),
               ex.Hover("rounds", "rounds")],
        styles=styles, x_log=2, x_log_toggle=True, x_range=True,
        rounds="round_ns_per_element", time="ns_per_element", machine=ex.machine_label(report),
    )


# -------------------------------------------------------------------- panel


def panel(shape=(8, 32000), rounds: int = 5):
    """Jupyter only: pick rows, n, threads and algorithms, press Run, and get
    the same measurement as the chapter's batch table (medians, ns/element)."""
    import ipywidgets as W
    from IPython.display import Markdown, display

    counts = list(range(1, min(api.max_threads(), 2 * api.default_threads()) + 1))
    rows = W.BoundedIntText(value=shape[0], min=1, max=1 << 16, description="rows")
    n = W.BoundedIntText(value=shape[1], min=1, max=1 << 26, description="n")
    threads = W.SelectMultiple(options=counts, value=tuple(thread_counts()), description="threads", rows=4)
    algorithms = W.SelectMultiple(options=list(CHOICES), value=tuple(CHOICES), description="algorithms", rows=5)
    reps = W.IntSlider(value=rounds, min=1, max=25, description="rounds")
    button = W.Button(description="Run", button_style="primary")
    output = W.Output()

    def run(_):
        button.disabled = True
        try:
            samples = batches([(rows.value, n.value)], algorithms.value, list(threads.value), reps.value)
            table = medians(samples)
            with output:
                output.clear_output(wait=True)
                display(table.pivot_table(index="algorithm", columns="threads", values="ns_per_element", sort=False)
                        .style.format("{:.3f}").set_caption(f"ns per element (median of {reps.value} rounds), "
                                                            f"{rows.value} x {n.value}"))
                display(fastest(table))
        finally:
            button.disabled = False

    button.on_click(run)
    with output:
        display(Markdown("*Choose a shape, thread counts and algorithms, then press **Run**.*"))
    return W.VBox([W.HBox([W.VBox([rows, n, reps]), threads, algorithms]), button, output])
