"""python -m kernels.bench tune-agreement: does the tuner choose the same
kernels when it runs again?

Runs the variant tuner (`kernels.bench.tune.tune`, nothing stored) several
times in a row and reports, for each ISA, size class and algorithm, how many
runs chose the most frequent plan (its kernels) and which others were chosen.
A choice that flips between runs is one the tuner's rule of evidence should
have called a tie: the target is that the runs whose decision recorded no tie
(clear decisions) all chose the same kernels.
"""

from __future__ import annotations

import argparse
from collections import Counter

import pandas as pd

from .. import api, registry

KEY = ["isa", "size class", "algorithm"]


def agreement(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Per (isa, size class, algorithm) of the tuner's tables, one per run:
    the most frequent kernels, in how many runs, the other choices, and in
    how many runs the tuner recorded a tie with its choice."""
    rows = []
    runs = len(tables)
    everything = pd.concat([t.assign(run=i) for i, t in enumerate(tables)], ignore_index=True)
    for key, group in everything.groupby(KEY, sort=False):
        counts = Counter(group["kernels"])
        (top, top_count), *others = counts.most_common()
        # A run whose decision recorded a tie (a candidate the evidence could
        # not tell from its choice) says itself that its choice is a toss-up.
        tied = group["tie"].fillna("") != "" if "tie" in group else pd.Series(False, index=group.index)
        clear = group.loc[~tied, "kernels"]
        rows.append({**dict(zip(KEY, key)), "runs agreeing": f"{top_count}/{runs}", "agree": top_count == runs,
                     "runs recording a tie": f"{int(tied.sum())}/{runs}",
                     "clear runs agree": clear.nunique() <= 1,
                     "choice": Counter(group["choice"]).most_common(1)[0][0], "kernels": top,
                     "others": "; ".join(f"{k} ({c})" for k, c in others)})
    return pd.DataFrame(rows)


def build_parser(sub) -> None:
    p = sub.add_parser("tune-agreement", help="run the variant tuner several times; how often do its choices agree")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--isas", default=None, help="comma list (default: the widest runnable ISA)")
    p.add_argument("--algorithms", default=None, help="comma list (default: all)")
    p.add_argument("--reps", type=int, default=7, help="the tuner's rounds (its default)")
    p.add_argument("--quick", action="store_true", help="the tuner's quick sizes (tests)")
    p.add_argument("--save", default=None, help="a CSV file for every run's table (the decisions and their gains)")


def main(args: argparse.Namespace) -> int:
    from .tune import tune

    isas = args.isas.split(",") if args.isas else [api.available_isas()[-1]]
    algorithms = args.algorithms.split(",") if args.algorithms else list(registry.ALGORITHMS)
    tables = []
    for run in range(args.runs):
        print(f"tuner run {run + 1} of {args.runs} ...", flush=True)
        tables.append(tune(isas, algorithms, args.reps, args.quick, log=lambda message: None)[1])
    if args.save:
        pd.concat([t.assign(run=i + 1) for i, t in enumerate(tables)]).to_csv(args.save, index=False)
    table = agreement(tables)
    with pd.option_context("display.width", 250, "display.max_columns", 12, "display.max_colwidth", 120):
        print(table.to_string(index=False))
    others = table[~table["agree"]]
    print(f"\n{int(table['agree'].sum())} of {len(table)} choices the same in all {args.runs} runs; "
          f"of the others, {int(others['clear runs agree'].sum())} differ only in runs that recorded a tie "
          f"(the target: {int(table['clear runs agree'].sum())} of {len(table)} meet it)")
    return 0
