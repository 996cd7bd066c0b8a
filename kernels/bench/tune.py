"""python -m kernels.bench tune: the best kernel variants for this machine.

For each ISA and size class (a row that fits in L2, and one well beyond the
last-level cache), two interleaved measurements:
  1. every plain-store variant of every pass family, timed alone: the fastest
     shape (unroll, accumulators) of each family;
  2. per algorithm, the plan of those shapes against the same plan with
     streaming stores in its out-of-place write pass, and against the
     registry default: the fastest wins.
The choices are stored per CPU (see kernels.tuning) and used by
kernels.softmax from then on.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from .. import api, registry, tuning
from . import machine
from .sweep import algorithm_case, kernel_case, row_input
from .timing import Buffers, measure

MIN_GAIN = 1.02
"""A candidate must beat the simpler plan before it by this factor (the
machine's run-to-run noise is a few percent): default, then tuned shapes,
then tuned shapes with streaming stores."""


def tuning_sizes(report: dict, quick: bool) -> dict[str, int]:
    """Representative row lengths of each size class on this machine."""
    l2 = machine.cache_size(report, 2) or 512 << 10
    llc = machine.last_level_cache(report) or 32 << 20
    in_cache = 1 << int(np.floor(np.log2(l2 / 2 / 8)))  # input + output in half of L2
    out_of_cache = 1 << int(np.ceil(np.log2(8 * llc / 4)))  # 8x the LLC per array
    out_of_cache = min(max(out_of_cache, 1 << 24), 1 << 26)
    if quick:
        out_of_cache = min(out_of_cache, 1 << 24)
    return {"in-cache": in_cache, "out-of-cache": out_of_cache}


def _medians(samples) -> pd.Series:
    return pd.DataFrame(samples).groupby("case")["ns_per_call"].median()


def best_shapes(isa: str, families: set[str], buffers: Buffers, reps: int, rng) -> dict[str, registry.Variant]:
    cases = []
    for family in sorted(families):
        for v in registry.variants(family, isa):
            if not v.streaming:
                cases.append(kernel_case(v, buffers.x, v.name, "pass", in_place=family == "vscale"))
    medians = _medians(measure(cases, buffers, reps, 2e6, rng))
    best = {}
    for family in families:
        names = [v.name for v in registry.variants(family, isa) if not v.streaming]
        best[family] = registry.lookup(min(names, key=lambda name: medians[name]))
    return best


def _streaming_twin(v: registry.Variant) -> registry.Variant | None:
    twin = registry.Variant(v.family, v.isa, v.unroll, v.accumulators, streaming=True)
    return twin if twin.name in registry.BY_NAME else None


def with_stores(plan: api.Plan, streaming: bool) -> api.Plan:
    """The same plan with plain or streaming stores in its out-of-place write
    passes (the in-place rescale of reloading keeps plain stores)."""
    chosen = {}
    for v in plan.passes:
        plain = registry.Variant(v.family, v.isa, v.unroll, v.accumulators)
        twin = _streaming_twin(plain)
        chosen[v.family] = twin if streaming and twin is not None and v.family != "vscale" else plain
    return api.Plan(plan.algorithm, plan.isa, chosen)


def candidate_plans(algorithm: str, isa: str, shapes: dict) -> dict[str, api.Plan]:
    passes = registry.ALGORITHM_PASSES[algorithm]
    tuned = api.Plan(algorithm, isa, {f: shapes[f] for f in passes})
    plans = {"default": api.Plan(algorithm, isa), "tuned shapes": tuned}
    streamed = with_stores(tuned, streaming=True)
    if streamed.passes != tuned.passes:
        plans["tuned shapes + streaming stores"] = streamed
    return plans


def pick_winner(labels_simplest_first: list[str], ratio) -> str:
    """The simplest candidate that no later one beats by MIN_GAIN.

    ratio(a, b) is time(a) / time(b): a median of per-round ratios when the
    candidates were measured interleaved, so that drifts of the machine
    between rounds cancel."""
    winner = labels_simplest_first[0]
    for label in labels_simplest_first[1:]:
        if ratio(winner, label) >= MIN_GAIN:
            winner = label
    return winner


def paired(samples: list[dict]):
    """ratio(a, b): median over rounds of time(a) / time(b)."""
    table = pd.DataFrame(samples).pivot_table(index="rep", columns="case", values="ns_per_call")
    return lambda a, b: float(np.median(table[a] / table[b]))


def tune(isas, algorithms, reps: int, quick: bool, log=print) -> tuple[dict, pd.DataFrame]:
    report = machine.report()
    sizes = tuning_sizes(report, quick)
    llc = machine.last_level_cache(report)
    rng = np.random.default_rng(0)
    choices, rows = {}, []
    for isa in isas:
        api.check_isa(isa)
        for size_class, n in sizes.items():
            log(f"tuning {isa} at n = {n} ({size_class}) ...")
            buffers = Buffers(row_input(n, 0), "warm" if size_class == "in-cache" else "cold", llc)
            families = {f for a in algorithms for f in registry.ALGORITHM_PASSES[a]}
            shapes = best_shapes(isa, families, buffers, reps, rng)
            for algorithm in algorithms:
                plans = candidate_plans(algorithm, isa, shapes)
                cases = [algorithm_case(p, label) for label, p in plans.items()]
                samples = measure(cases, buffers, reps, 2e6, rng)
                medians = _medians(samples)
                ratio = paired(samples)
                winner = pick_winner(list(plans), ratio)
                choices.setdefault(isa, {}).setdefault(algorithm, {})[size_class] = {
                    v.family: v.name for v in plans[winner].passes
                }
                rows.append({"isa": isa, "size class": size_class, "n": n, "algorithm": algorithm, "choice": winner,
                             "ns/elem": medians[winner] / n, "default ns/elem": medians["default"] / n,
                             "gain": ratio("default", winner),
                             "kernels": " + ".join(v.name for v in plans[winner].passes)})
            del buffers
    return choices, pd.DataFrame(rows)


def main(args) -> int:
    if args.if_missing and tuning.choices_path().exists():
        print(f"tuned choices already stored: {tuning.choices_path()}")
        return 0
    isas = args.isas or [i for i in api.available_isas() if i != "scalar"] or ["scalar"]
    algorithms = args.algorithms or list(registry.ALGORITHMS)
    choices, table = tune(isas, algorithms, args.reps, args.quick, log=lambda m: print(m, file=sys.stderr))
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    if args.dry_run:
        return 0
    merged = dict(tuning._stored().get("choices", {}))
    for isa, per_algorithm in choices.items():
        for algorithm, per_class in per_algorithm.items():
            merged.setdefault(isa, {}).setdefault(algorithm, {}).update(per_class)
    path = tuning.save(merged, {"machine": machine.report()["id"], "quick": args.quick, "reps": args.reps})
    print(f"stored {path}")
    return 0
