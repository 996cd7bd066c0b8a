"""python -m kernels.bench log-softmax: kernels.log_softmax against float64,
torch, ONNX Runtime and scipy, for accuracy and speed.

Accuracy: the largest error against a float64 log-softmax of the same float32
row, absolute and in units of 2^-24 (|x - max| + log sum e^(x - max) + 1):
a float32 rounding of each term the result is made of (the subtraction's
operands, and the sum, whose relative error is an absolute one on its log),
on the rows where log-probabilities are hard: tiny outputs
(-100 and below) next to a sizeable sum, wide spreads, near ties around a
large value, and plain N(0, 10) rows.  log(softmax(x)) is measured beside
them: it underflows to -inf where softmax does.

Speed: every implementation writes into a preallocated output (out=, or an
ONNX Runtime I/O binding; scipy has none and allocates), is called from
Python on one thread, and is checked on the calls that were timed; the
cases of one size are interleaved round by round, and the speedups are
medians of per-round ratios.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from .. import api, contracts, logsoftmax, registry
from . import analysis, machine
from . import peers as peer_module
from .arguments import add_row_arguments, row_settings
from .sweep import PEER_RTOL, _edges_close, row_input, softmax_reference
from .timing import BenchmarkError, Buffers, Case, measure, python_runner

ROWS = {
    # half N(0, 1), half 100 ... 200 below: log-probabilities <= -100 next to a sizeable log sum
    "tiny (<= -100)": lambda rng, n: np.where(rng.random(n) < 0.5, rng.normal(0, 1, n), rng.uniform(-200, -100, n)),
    "U(-1000, 1000)": lambda rng, n: rng.uniform(-1000, 1000, n),
    # near ties around a large value: x - log sum must stay exact
    "10^4 + noise": lambda rng, n: 1e4 + rng.uniform(0, 0.1, n),
    "N(0, 10)": lambda rng, n: rng.normal(0, 10, n),
}
"""Row kinds, rng and length -> float64 values (rounded to float32 by the caller)."""

# log_softmax's two three-pass algorithms coincide (reloading e^(x - max) is
# of no use to a pass that needs x): one of them stands for both.
LOG_ALGORITHMS = {"three-pass" if a.startswith("three-pass") else a: a for a in registry.LOG_SOFTMAX_ALGORITHMS}
AUTO = "auto"  # the label of algorithm="auto", timed beside the algorithms
LOG_OF_SOFTMAX = "log(kernels.softmax)"


def log_softmax64(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float64 log-softmax of a float32 row and each output's scale
    |x - max| + log sum e^(x - max)."""
    x = np.asarray(x, np.float64)
    z = x - x.max()
    log_sum = np.log(np.sum(np.exp(z)))
    return z - log_sum, np.abs(z) + log_sum


def kernel_label(name: str, isa: str, rtol: float = contracts.DEFAULT_RTOL) -> str:
    contract = f", rtol={rtol:g}" if rtol != contracts.DEFAULT_RTOL else ""
    return f"{name} [{isa}{contract}]"


def implementations(isa: str, peers: bool = True) -> dict[str, callable]:
    """label -> f(float32 row) -> float64 log-softmax, one thread each."""
    out = {kernel_label(name, isa): (lambda x, a=algorithm: api_log_softmax(x, a, isa))
           for name, algorithm in LOG_ALGORITHMS.items()}
    out[kernel_label(LOG_OF_SOFTMAX, isa)] = lambda x: np.log(api.softmax(x, isa=isa, threads=1).astype(np.float64))
    if peers:
        out.update({peer.name: peer.softmax for peer in peer_module.peers(1, peer_module.LOG_SOFTMAX).values()})
    return out


def api_log_softmax(x, algorithm: str, isa: str, out=None, rtol: float = contracts.DEFAULT_RTOL):
    return logsoftmax.log_softmax(x, algorithm=algorithm, isa=isa, threads=1, out=out, rtol=rtol)


def accuracy(sizes, isa: str, seed: int = 0, peers: bool = True) -> pd.DataFrame:
    """One row per (size, row kind, implementation): the largest absolute
    error, the largest error in roundings of the output's scale, and the
    outputs that came out -inf or NaN where float64 has a finite value."""
    rng = np.random.default_rng(seed)
    functions = implementations(isa, peers)
    rows = []
    for n in sizes:
        for kind, make in ROWS.items():
            x = make(rng, n).astype(np.float32)
            exact, scale = log_softmax64(x)
            for label, function in functions.items():
                with np.errstate(divide="ignore"):
                    y = np.asarray(function(x), np.float64)
                lost = ~np.isfinite(y)
                error = np.abs(y - exact)
                kept = error[~lost]
                rows.append({"n": n, "row": kind, "implementation": label,
                             "max |error|": float(kept.max()) if kept.size else np.nan,
                             "roundings": float((kept / (2.0**-24 * (scale[~lost] + 1))).max()) if kept.size else np.nan,
                             "not finite": int(lost.sum())})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ speed


def log_check(tolerance: float):
    """Check of a log_softmax case: every call's edges, then the last call's
    sampled outputs, against float64 within `tolerance` (absolute; relative
    for the edges' sum).  softmax_reference's sum gives log sum e^(x - max)."""

    def check(batch):
        ref = softmax_reference(batch.input)
        index = ref.index
        exact = batch.input[index].astype(np.float64) - ref.max - np.log(ref.total)
        _edges_close(batch, float(exact[0] + exact[-1]), tolerance)
        got = np.asarray(batch.output)[index].astype(np.float64)
        wrong = ~(np.abs(got - exact) <= tolerance)
        if wrong.any():
            i = int(np.argmax(wrong))
            raise BenchmarkError(f"output[{index[i]}] = {got[i]!r}, expected {exact[i]!r}")

    return check


def speed_cases(isa: str, rtols=(contracts.DEFAULT_RTOL,), peers: bool = True) -> list[Case]:
    """kernels.log_softmax (each algorithm, each contract) and the peers,
    each writing into the benchmark's output where it can."""
    cases = []
    for name, algorithm in LOG_ALGORITHMS.items():
        for rtol in rtols:
            run = python_runner(lambda x, y, a=algorithm, r=rtol: api_log_softmax(x, a, isa, out=y, rtol=r))
            cases.append(Case(kernel_label(name, isa, rtol), "api", run, log_check(1e-4 + 2 * rtol),
                              meta={"algorithm": algorithm, "isa": isa, "rtol": rtol}))
    run = python_runner(lambda x, y: api_log_softmax(x, api.AUTO, isa, out=y))
    cases.append(Case(kernel_label(AUTO, isa), "api", run, log_check(1e-4),
                      meta={"algorithm": api.AUTO, "isa": isa, "rtol": contracts.DEFAULT_RTOL}))
    if peers:
        for peer in peer_module.peers(1, peer_module.LOG_SOFTMAX).values():
            form, fn = next(iter(peer.forms().items()))  # out= where the peer has it
            run = python_runner(fn, into=form == peer_module.OUT, prepare=peer.prepare, to_numpy=peer.to_numpy,
                                enter=peer.enter)
            cases.append(Case(peer.name, "peer", run, log_check(PEER_RTOL),
                              meta={"algorithm": peer.name, "isa": "", "output": form}))
    return cases


def measure_speed(sizes, isa: str, reps: int = 9, target_ms: float = 20.0, rtols=(contracts.DEFAULT_RTOL,),
                  peers: bool = True, seed: int = 0, log=print) -> pd.DataFrame:
    """Samples of every case at every size: in cache (warm buffers) where the
    row fits, else cold, as the sweep does."""
    llc = machine.last_level_cache(machine.report())
    rng = np.random.default_rng(seed)
    cases = speed_cases(isa, rtols, peers)
    samples = []
    for n in sizes:
        mode = "warm" if 8 * n <= llc else "cold"
        log(f"timing {len(cases)} log_softmax cases at n = {n:,} ({mode}) ...")
        buffers = Buffers(row_input(n, seed), mode, llc)
        samples += [{**row, "n": n, "mode": mode} for row in measure(cases, buffers, reps, target_ms * 1e6, rng)]
        del buffers
    return pd.DataFrame(samples)


def times_table(samples: pd.DataFrame) -> pd.DataFrame:
    """ns/element of each case (rows) at each size (columns): medians over rounds."""
    medians = samples.groupby(["case", "n"])["ns_per_call"].median().reset_index()
    medians["ns/elem"] = medians["ns_per_call"] / medians["n"]
    info = samples.drop_duplicates("case").set_index("case")
    rtol = info["rtol"].fillna(0.0) if "rtol" in info else pd.Series(0.0, index=info.index)
    # the kernels' cases first, each algorithm from the default contract to the loosest, then the peers
    order = sorted(info.index, key=lambda c: (info.at[c, "group"] == "peer", str(info.at[c, "algorithm"]), rtol[c]))
    return medians.pivot(index="case", columns="n", values="ns/elem").loc[order]


def peer_speedups(samples: pd.DataFrame, isa: str) -> pd.DataFrame:
    """Per size: the fastest kernels algorithm under the default contract,
    and how many times as fast it is as each peer (time of the peer / its
    time, median of per-round ratios)."""
    rows = []
    for n, g in samples.groupby("n"):
        ours = g[g["case"].isin([kernel_label(name, isa) for name in LOG_ALGORITHMS])]
        best = ours.groupby("case")["ns_per_call"].median().idxmin()
        row = {"n": n, "fastest": best}
        for peer in g.loc[g["group"] == "peer", "case"].unique():
            row[f"vs {peer}"] = analysis.paired_ratio_within(g, peer, best)
        rows.append(row)
    return pd.DataFrame(rows).set_index("n")


def contract_speedups(samples: pd.DataFrame, isa: str) -> pd.DataFrame:
    """Per algorithm and size: how many times as fast each looser contract
    makes it (time under the default / time under rtol, per-round median)."""
    rows = []
    for n, g in samples.groupby("n"):
        for name in LOG_ALGORITHMS:
            row = {"algorithm": name, "n": n}
            for rtol in sorted(set(g["rtol"].dropna()) - {contracts.DEFAULT_RTOL}, reverse=True):
                row[f"rtol={rtol:g}"] = analysis.paired_ratio_within(g, kernel_label(name, isa),
                                                                     kernel_label(name, isa, rtol))
            rows.append(row)
    return pd.DataFrame(rows).set_index(["algorithm", "n"])


# ------------------------------------------------------------------ CLI


def build_parser(sub) -> None:
    p = sub.add_parser("log-softmax", help="kernels.log_softmax against float64, torch, ONNX Runtime and scipy")
    add_row_arguments(p, "32768,67108864", "comma list of row lengths (default 2^15, 2^26)")
    p.add_argument("--isa", default=None, help="default: the best runnable ISA")


def main(args: argparse.Namespace) -> int:
    sizes, reps, target_ms = row_settings(args)
    isa = api.check_isa(args.isa) if args.isa else api.available_isas()[-1]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        table = accuracy(sizes, isa).pivot_table(index=["n", "row"], columns="implementation", values="roundings")
        print("largest error, in units of 2^-24 (|x - max| + log sum + 1):")
        print(table.round(2).to_string())
        samples = measure_speed(sizes, isa, reps, target_ms, rtols=contracts.CONTRACTS)
        print("\nns per element:")
        print(times_table(samples).round(3).to_string())
        print("\nthe fastest against the peers:")
        print(peer_speedups(samples, isa).round(2).to_string())
        print("\neach contract against the default:")
        print(contract_speedups(samples, isa).round(2).to_string())
    print(f"\nmedians of {reps} interleaved rounds on one thread; vs: time of the peer / time of the fastest")
    return 0
