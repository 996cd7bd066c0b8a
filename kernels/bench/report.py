"""The text report of a saved sweep: `python -m kernels.bench report`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import registry
from . import analysis, machine, traffic
from .sweep import api_label, api_partner

IN_CACHE_N = 1 << 15


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
                "roof kernels": r.roof_kernel,
            }
        )
    return pd.DataFrame(rows)


def ratio_rows(summary: pd.DataFrame, samples: pd.DataFrame, mode: str, n: int) -> pd.DataFrame:
    """For each ISA: speedup of every algorithm over the others (kernels timed in
    C) and over the peers (against kernels.softmax called from Python with the
    peer's output handling), time of the other / time of this one, paired by
    round; and what allocating its output costs kernels.softmax."""
    rows = []
    cases = summary[(summary["mode"] == mode) & (summary["n"] == n)]
    present = set(cases["case"])
    peers = analysis.peer_cases(cases)
    for isa in sorted(cases["isa"].dropna().unique()):
        if not isa:
            continue
        for algorithm in registry.ALGORITHMS:
            case = f"{algorithm} [{isa}]"
            if case not in present:
                continue
            row = {"algorithm": algorithm, "isa": isa}
            for other in registry.ALGORITHMS:
                if other != algorithm and f"{other} [{isa}]" in present:
                    row[f"vs {other}"] = analysis.paired_ratio(samples, mode, n, f"{other} [{isa}]", case)
            for peer in peers:
                partner = api_partner(peer, algorithm, isa)
                row[f"vs {peer.removeprefix('peer: ')}"] = analysis.paired_ratio(samples, mode, n, peer, partner)
            if api_label(algorithm, isa, allocating=True) in present:
                row["allocating / out="] = analysis.paired_ratio(
                    samples, mode, n, api_label(algorithm, isa, allocating=True), api_label(algorithm, isa))
            rows.append(row)
    table = pd.DataFrame(rows)
    order = ["algorithm", "isa"] + [f"vs {a}" for a in registry.ALGORITHMS]
    return table[[c for c in order if c in table] + [c for c in table if c not in order]]


RATIO_LEGEND = ("Speedup of each algorithm (row) over the others (C-timed kernels) and over the peers "
                "(kernels.softmax called from Python, like them, with the same output handling: "
                "'vs torch' = both write into a preallocated output with out=, "
                "'vs torch (allocating)' = both allocate their output), time of other / time of row; "
                "'allocating / out=' is what allocating its output costs kernels.softmax:")


def pass_rows(summary: pd.DataFrame, mode: str, n: int) -> pd.DataFrame:
    s = summary[(summary["mode"] == mode) & (summary["n"] == n) & (summary["group"] == "pass")]
    return pd.DataFrame(
        {"kernel": s["variant"], "ns/elem": s["ns_per_element"], "GB/s": s["gb_per_s"],
         "roof ns/elem": s["roof_ns_per_element"], "efficiency": s["efficiency"], "roof kernel": s["roof_kernel"]}
    )


def roof_rows(roofs: pd.DataFrame, mode: str, n: int) -> pd.DataFrame:
    """Each pattern's roof at one size, on one thread and on all threads, with its winning kernel."""
    r = roofs[(roofs["mode"] == mode) & (roofs["n"] == n)].sort_values(["pattern", "threads"])
    return pd.DataFrame({"pattern": r["pattern"], "threads": r["threads"], "roof ns/elem": r["roof_ns_per_element"],
                         "GB/s": r["gb_per_s"], "winning kernel": r["kernel"], "of kernels": r["candidates"]})


def rfo_lines(bw: dict) -> list[str]:
    rfo = bw.get("rfo")
    if not rfo:
        return []
    verdict = "pay" if rfo["plain_stores_rfo"] else "do not pay"
    return [f"Plain stores {verdict} a read for ownership on this CPU: out of cache, plain / streaming fill "
            f"{rfo['fill / fill (streaming)']:.2f}, copy {rfo['copy / copy (streaming)']:.2f} (threshold "
            f"{rfo['threshold']}); the traffic model {'charges' if rfo['plain_stores_rfo'] else 'does not charge'} it."]


def _describe_peer(peer: dict) -> str:
    threads = f", {peer['threads']} thread{'s' if peer['threads'] != 1 else ''}" if peer.get("threads") else ""
    return f"{peer['name']} {peer['version']} ({' and '.join(peer['forms'])}{threads})"


def section_sizes(sizes, llc: int) -> list[int]:
    """The sizes a report details: the one in cache nearest IN_CACHE_N and the
    largest out of cache, where the run measured any."""
    inside = [n for n in sizes if analysis.fits_in_cache(n, llc)]
    outside = [n for n in sizes if not analysis.fits_in_cache(n, llc)]
    return ([analysis.nearest(inside, IN_CACHE_N)] if inside else []) + ([int(max(outside))] if outside else [])


def render(run) -> str:
    summary = analysis.summarize(run.samples, run.machine)  # raises RoofError on an efficiency above 1
    roofs = analysis.roofs(summary, traffic.write_allocate(run.machine))
    m = run.machine
    out = [f"# Softmax benchmark report ({m['id']}, {m['date']})", ""]
    out += [f"{label}: {value}" for label, value in machine.describe(m)]
    bw = m.get("bandwidth")
    if bw and "roofs" in bw:
        out += ["", f"## Roofs far out of cache, {bw['size_label']} (GB/s counting the model's bytes)"]
        out.append(_fmt_table(pd.DataFrame(bw["roofs"])))
        out += rfo_lines(bw)
    efficiency = summary["efficiency"].max()
    out += ["", f"Highest efficiency in this report: {efficiency:.3f} (every roof bounds what it is compared "
            "with; above 1 the report would have failed)."]
    out += ["", "## Two-pass speedup over the others, per protocol (time of the other / time of two-pass, "
            "paired by round; the paper's protocol: plain stores, U(-1000, 1000), input touched untimed before "
            "each call, outputs cold)", ""]
    llc = machine.last_level_cache(m) or 1 << 25
    largest = int(summary["n"].max())  # the farthest out of cache this run went (2^26 by default)
    out.append(_fmt_table(analysis.headline_table(run.samples, summary, IN_CACHE_N, largest, llc)))
    for mode in sorted(summary["mode"].unique()):
        measured = summary[summary["mode"] == mode]  # the paper's protocol has sizes of its own
        for n in section_sizes(measured["n"].unique(), llc):
            where = "in cache" if analysis.fits_in_cache(n, llc) else "out of cache"
            out += ["", f"## N = {n} ({where}, {mode} buffers)", ""]
            roof_table = roof_rows(roofs, mode, n)
            if len(roof_table):
                out += ["Roofs (the best round of the fastest kernel moving each pattern's bytes):"]
                out.append(_fmt_table(roof_table))
                out.append("")
            out.append(_fmt_table(algorithm_rows(summary, run.samples, mode, n)))
            out += ["", RATIO_LEGEND]
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
    if run.machine.get("peers"):
        out += ["", "Peers: " + "; ".join(_describe_peer(p) for p in run.machine["peers"]) + "."]
    if run.accuracy is not None and len(run.accuracy):
        out += ["", "## Max relative error vs float64 (outputs >= 1e-30)"]
        acc = run.accuracy.copy()
        acc["implementation"] = acc["implementation"] + np.where(acc["isa"].fillna("") != "", " [" + acc["isa"].fillna("") + "]", "")
        out.append(acc.pivot_table(index="implementation", columns=["distribution", "n"], values="max_rel_error")
                   .to_string(float_format=lambda v: f"{v:.2g}"))
    return "\n".join(out)
