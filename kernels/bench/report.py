"""The text report of a saved sweep: `python -m kernels.bench report`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import registry
from . import analysis, machine
from .sweep import api_label

IN_CACHE_N = 1 << 15
OUT_OF_CACHE_N = 1 << 26


def _fmt_table(df: pd.DataFrame) -> str:
    return df.to_string(index=False, float_format=lambda v: f"{v:.3g}")


def algorithm_rows(summary: pd.DataFrame, samples: pd.DataFrame, mode: str, n: int) -> pd.DataFrame:
    s = summary[(summary["mode"] == mode) & (summary["n"] == n) & (summary["group"] == "algorithm")]
    rows = []
    for r in s.itertuples():
        rows.append(
            {
                "algorithm": r.algorithm,
                "isa": r.isa,
                "ns/elem": r.ns_per_element,
                "Gelem/s": r.gelem_per_s,
                "GB/s": r.gb_per_s,
                "roof ns/elem": r.roof_ns_per_element,
                "efficiency": r.efficiency,
                "kernels": r.variant,
            }
        )
    return pd.DataFrame(rows)


def ratio_rows(summary: pd.DataFrame, samples: pd.DataFrame, mode: str, n: int) -> pd.DataFrame:
    """For each ISA: speedup of every algorithm over the others (kernels timed in
    C) and over the peers (against kernels.softmax called from Python, like
    the peers): time of the other / time of this one, paired by round."""
    rows = []
    cases = summary[(summary["mode"] == mode) & (summary["n"] == n)]
    peers = sorted(c for c in cases["case"] if c.startswith("peer: "))
    for isa in sorted(cases["isa"].dropna().unique()):
        if not isa:
            continue
        for algorithm in registry.ALGORITHMS:
            case = f"{algorithm} [{isa}]"
            if case not in set(cases["case"]):
                continue
            row = {"algorithm": algorithm, "isa": isa}
            for other in registry.ALGORITHMS:
                if other != algorithm and f"{other} [{isa}]" in set(cases["case"]):
                    row[f"vs {other}"] = analysis.paired_ratio(samples, mode, n, f"{other} [{isa}]", case)
            via_api = api_label(algorithm, isa)
            for peer in peers:
                row[f"vs {peer.removeprefix('peer: ')}"] = analysis.paired_ratio(samples, mode, n, peer, via_api)
            rows.append(row)
    return pd.DataFrame(rows)


def pass_rows(summary: pd.DataFrame, mode: str, n: int) -> pd.DataFrame:
    s = summary[(summary["mode"] == mode) & (summary["n"] == n) & (summary["group"] == "pass")]
    return pd.DataFrame(
        {"kernel": s["variant"], "ns/elem": s["ns_per_element"], "GB/s": s["gb_per_s"],
         "roof ns/elem": s["roof_ns_per_element"], "efficiency": s["efficiency"]}
    )


def render(run) -> str:
    summary = analysis.summarize(run.samples)
    m = run.machine
    out = [f"# Softmax benchmark report ({m['id']}, {m['date']})", ""]
    out += [f"{label}: {value}" for label, value in machine.describe(m)]
    bw = m.get("bandwidth")
    if bw:
        out += ["", f"## Bandwidth, one thread, {bw['size_label']} (GB/s counting write-allocate reads)"]
        table = pd.DataFrame({"kernel": list(bw["gb_per_s"]), "GB/s": list(bw["gb_per_s"].values()),
                              "ns/elem": list(bw["ns_per_element"].values())})
        out.append(_fmt_table(table))
    for mode in sorted(summary["mode"].unique()):
        sizes = sorted({analysis.nearest_size(summary, IN_CACHE_N), analysis.nearest_size(summary, OUT_OF_CACHE_N)})
        for n in sizes:
            where = "in cache" if 8 * n <= (machine.last_level_cache(m) or 1 << 25) // 2 else "out of cache"
            out += ["", f"## N = {n} ({where}, {mode} buffers)", ""]
            out.append(_fmt_table(algorithm_rows(summary, run.samples, mode, n)))
            out += ["", "Speedup of each algorithm (row) over the others (C-timed kernels) and over the peers "
                    "(kernels.softmax called from Python, like them): time of other / time of row:"]
            out.append(_fmt_table(ratio_rows(summary, run.samples, mode, n)))
            passes = pass_rows(summary, mode, n)
            if len(passes):
                out += ["", "Passes alone:"]
                out.append(_fmt_table(passes))
    if run.memory is not None and len(run.memory):
        mem = run.memory.copy()
        n = int(mem["n"].iloc[0])
        out += ["", f"## Peak memory of kernels.softmax at N = {n} (tracemalloc; input and output {4 * n / 2**20:.0f} MiB each)",
                "Extra bytes beyond input and output, allocated at peak during one call:"]
        out.append(_fmt_table(mem[["algorithm", "isa", "extra bytes (out of place)", "extra bytes (in place)"]]))
    out += ["", f"Peers: numpy, scipy{', torch' if 'torch' in run.machine['versions'] and run.machine['versions']['torch'] else ''}"
            f" (torch threads: {run.config.threads})."]
    if run.accuracy is not None and len(run.accuracy):
        out += ["", "## Max relative error vs float64 (outputs >= 1e-30)"]
        acc = run.accuracy.copy()
        acc["implementation"] = acc["implementation"] + np.where(acc["isa"].fillna("") != "", " [" + acc["isa"].fillna("") + "]", "")
        out.append(acc.pivot_table(index="implementation", columns=["distribution", "n"], values="max_rel_error")
                   .to_string(float_format=lambda v: f"{v:.2g}"))
    return "\n".join(out)
