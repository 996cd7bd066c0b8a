"""From raw samples to the numbers the report and the book quote.

Medians, not means (the machine is shared and noisy); ratios between two cases
are taken round by round within one run, then their median is reported.

Roofs.  The roof of a traffic pattern at one size, cache mode and thread
count is the fastest time per element that any kernel moving the pattern's
bytes reached in the run: the best round of the best of the pattern's
bandwidth kernels (kernels.bench.sweep.bandwidth_kernels) and of the pass
kernels that only move data (rmax reads; vscale in place).  Being the best
round of the fastest data mover, it is a bound by construction: a pass's
median cannot beat it unless the traffic model charges the pass for bytes it
does not move.  So an efficiency (roof / median) above 1 is an error in the
model, raised as RoofError, never a result: no tolerance is needed, because
noise only slows medians relative to best rounds.

That last step needs enough rounds where an algorithm runs exactly at its
roof: reloading under the paper's protocol (output cold on every call) hides
its arithmetic behind the output's cache misses entirely, so its time equals
its movement sequence's, and the median of 3 rounds beat the best of 3 rounds
of one sequence (by 1.6 % at n = 3,000 in a CI run).  Hence several sequences
(kernels.bench.sweep.SEQUENCE_SHAPES) and 9 rounds for that protocol.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import registry
from . import traffic
from .sweep import SEQUENCE_PREFIX, api_partner

KEYS = ["mode", "n", "case"]

DATA_MOVING_PASSES = {"rmax": traffic.READ, "rsum": traffic.READ, "vscale": traffic.IN_PLACE}
"""Pass kernels that only move data (the sweep times vscale in place): they
count among their pattern's roof candidates."""


class RoofError(ValueError):
    """An efficiency above 1: the traffic model does not bound what was measured."""


def summarize(samples: pd.DataFrame, machine_report: dict | None = None, check: bool = True) -> pd.DataFrame:
    """One row per (mode, n, case): repetition statistics, throughput, roof and
    efficiency.  Whether plain stores pay a read for ownership comes from the
    machine report's measurement (the paper's model when absent).  With
    `check`, an efficiency above 1 raises RoofError."""
    write_allocate = traffic.write_allocate(machine_report)
    grouped = samples.groupby(KEYS, sort=True)
    stats = grouped["ns_per_call"].agg(
        reps="count",
        min_ns="min",
        median_ns="median",
        q25_ns=lambda s: s.quantile(0.25),
        q75_ns=lambda s: s.quantile(0.75),
    )
    info_columns = [c for c in ("group", "algorithm", "isa", "variant", "family", "kernel", "streaming", "buffers",
                                "protocol", "pattern", "threads") if c in samples.columns]
    info = grouped[info_columns].first()
    out = stats.join(info).reset_index()
    for column in ("pattern", "kernel", "family", "variant", "streaming"):
        if column not in out:
            out[column] = ""
    out["threads"] = pd.to_numeric(out.get("threads", pd.Series(1, index=out.index)), errors="coerce").fillna(1)
    out["threads"] = out["threads"].astype(int)
    out["pattern"] = [_pattern(r) for r in out.itertuples()]
    out["ns_per_element"] = out["median_ns"] / out["n"]
    out["gelem_per_s"] = out["n"] / out["median_ns"]
    out["bytes_per_element"] = [_bytes_per_element(r, write_allocate) for r in out.itertuples()]
    out["gb_per_s"] = out["bytes_per_element"] * out["gelem_per_s"]
    out = add_roofs(out, write_allocate)
    if check:
        check_roofs(out)
    return out


def _streaming_families(value) -> set[str]:
    """The families with streaming stores, from the comma-separated column."""
    return {s for s in str(value).split(",") if s and s != "nan"}


def _pass_traffic(row) -> traffic.PassTraffic | None:
    pattern = traffic.PASS_PATTERN.get(row.family)
    if pattern is None:
        return None
    writes = 0 if pattern == traffic.READ else 1
    return traffic.PassTraffic(row.family, pattern, 1, writes, row.family in _streaming_families(row.streaming))


def _pattern(row) -> str:
    """The traffic pattern whose roof bounds a pass or bandwidth kernel ('' for others)."""
    if row.group == "bandwidth":
        return row.pattern if isinstance(row.pattern, str) and row.pattern != "nan" else ""
    if row.group == "pass":
        p = _pass_traffic(row)
        return p.roof_pattern if p else DATA_MOVING_PASSES.get(row.family, "")
    return ""


def _bytes_per_element(row, write_allocate: bool) -> float:
    """Bytes moved per element under the traffic model."""
    if row.group == "algorithm":
        return traffic.bytes_per_element(row.algorithm, write_allocate, _streaming_families(row.streaming))
    if row.group == "bandwidth":
        if not row.pattern:  # an algorithm's movement sequence
            return traffic.bytes_per_element(row.algorithm, write_allocate, _streaming_families(row.streaming))
        return traffic.pattern_bytes(row.pattern, write_allocate)
    if row.group == "pass":
        p = _pass_traffic(row)
        if p is not None:
            return p.bytes(write_allocate)
        return traffic.pattern_bytes(row.pattern, write_allocate) if row.pattern else np.nan
    return 8.0  # peers: one read of x and one write of y, the useful bytes


def roof_candidates(summary: pd.DataFrame) -> pd.DataFrame:
    """Rows that only move data: the bandwidth kernels and the data-moving passes."""
    moving = summary["group"].eq("bandwidth") | (summary["group"].eq("pass")
                                                 & summary["family"].isin(list(DATA_MOVING_PASSES)))
    out = summary[moving & summary["pattern"].ne("")].copy()
    out["best_ns_per_element"] = out["min_ns"] / out["n"]
    out["roof_kernel"] = np.where(out["group"] == "bandwidth", out["kernel"], out["variant"])
    return out


def roofs(summary: pd.DataFrame, write_allocate: bool = True) -> pd.DataFrame:
    """One row per (mode, n, threads, pattern): the roof (ns per element, the
    best round of the fastest kernel moving the pattern's bytes), its GB/s and
    its winning kernel."""
    candidates = roof_candidates(summary)
    rows = []
    for (mode, n, threads), group in candidates.groupby(["mode", "n", "threads"]):
        for pattern in traffic.ROOF_PATTERNS:
            bounding = group[group["pattern"].isin(traffic.bounding_patterns(pattern, write_allocate))]
            if bounding.empty:
                continue
            best = bounding.loc[bounding["best_ns_per_element"].idxmin()]
            ns = float(best["best_ns_per_element"])
            rows.append({"mode": mode, "n": n, "threads": threads, "pattern": pattern, "roof_ns_per_element": ns,
                         "gb_per_s": traffic.pattern_bytes(pattern, write_allocate) / ns,
                         "kernel": best["roof_kernel"], "candidates": len(bounding)})
    return pd.DataFrame(rows, columns=["mode", "n", "threads", "pattern", "roof_ns_per_element", "gb_per_s",
                                       "kernel", "candidates"])


def _sequences(summary: pd.DataFrame) -> dict[tuple, tuple[float, str]]:
    """(mode, n, algorithm, streaming) -> (best round ns per element, kernels) of
    the fastest of the algorithm's movement sequences (kernels.bench.sweep.sequence_case)."""
    s = summary[summary["group"].eq("bandwidth") & summary["case"].str.startswith(SEQUENCE_PREFIX)]
    fastest = {}
    for r in s.itertuples():
        key = (r.mode, r.n, r.algorithm, ",".join(sorted(_streaming_families(r.streaming))))
        if key not in fastest or r.min_ns / r.n < fastest[key][0]:
            fastest[key] = (r.min_ns / r.n, f"sequence {r.variant}")
    return fastest


def add_roofs(summary: pd.DataFrame, write_allocate: bool = True) -> pd.DataFrame:
    """Roof ns/element, its winning kernel(s) and efficiency (roof / measured)
    for algorithms, passes and the bandwidth kernels themselves (one thread;
    a bandwidth kernel on more threads against the roof of as many).

    An algorithm's roof is the faster of the sum of its passes' roofs and its
    movement sequence (its passes' bandwidth kernels back to back): in an
    algorithm a pass finds in the caches what the previous one left, which no
    pass timed alone does, so the sum alone need not bound it."""
    table = roofs(summary, write_allocate)
    at = {(r.mode, r.n, r.threads, r.pattern): (r.roof_ns_per_element, r.kernel) for r in table.itertuples()}
    sequences = _sequences(summary)
    roof_ns, winners = [], []
    for row in summary.itertuples():
        roof, winner = np.nan, ""
        if row.group == "algorithm":
            streaming = _streaming_families(row.streaming)
            parts = [(p.family, at.get((row.mode, row.n, 1, p.roof_pattern)))
                     for p in traffic.passes(row.algorithm, streaming)]
            if all(found for _, found in parts):
                roof = sum(found[0] for _, found in parts)
                winner = "; ".join(f"{family}: {found[1]}" for family, found in parts)
            sequence = sequences.get((row.mode, row.n, row.algorithm, ",".join(sorted(streaming))))
            if sequence and not sequence[0] >= roof:  # also where the passes have no roof (NaN)
                roof, winner = sequence
        elif row.group in ("pass", "bandwidth") and row.pattern:
            roof, winner = at.get((row.mode, row.n, row.threads, row.pattern), (np.nan, ""))
        roof_ns.append(roof)
        winners.append(winner)
    summary = summary.copy()
    summary["roof_ns_per_element"] = roof_ns
    summary["roof_kernel"] = winners
    summary["efficiency"] = summary["roof_ns_per_element"] / summary["ns_per_element"]
    return summary


def roof_violations(summary: pd.DataFrame) -> pd.DataFrame:
    """Rows whose efficiency exceeds 1."""
    return summary[summary["efficiency"] > 1.0]


def check_roofs(summary: pd.DataFrame) -> None:
    """Raises RoofError when any efficiency exceeds 1 (see the module's docstring)."""
    bad = roof_violations(summary)
    if len(bad):
        table = bad[["mode", "n", "case", "ns_per_element", "roof_ns_per_element", "roof_kernel", "efficiency"]]
        raise RoofError("efficiency above 1: the traffic model does not bound these measurements "
                        "(fix the model or the roof kernels):\n" + table.to_string(index=False))


def paired_ratio(samples: pd.DataFrame, mode: str, n: int, numerator: str, denominator: str) -> float:
    """Median over rounds of time(numerator) / time(denominator), same run and size."""
    return paired_ratio_within(samples[(samples["mode"] == mode) & (samples["n"] == n)], numerator, denominator)


def paired_ratio_within(s: pd.DataFrame, numerator: str, denominator: str) -> float:
    """Median over rounds of time(numerator) / time(denominator), among
    samples of one measurement (one run, size and cache mode)."""
    a = s[s["case"] == numerator].set_index("rep")["ns_per_call"]
    b = s[s["case"] == denominator].set_index("rep")["ns_per_call"]
    both = a.index.intersection(b.index)
    if len(both) == 0:
        return np.nan
    return float(np.median(a[both].to_numpy() / b[both].to_numpy()))


def peer_cases(summary: pd.DataFrame) -> list[str]:
    return sorted(c for c in summary["case"].unique() if c.startswith("peer: "))


def speedup_table(samples: pd.DataFrame, summary: pd.DataFrame, isa: str, base: str = "two-pass") -> pd.DataFrame:
    """Speedup of `base` over every other algorithm and peer, per (mode, n):
    time of the other / time of base, paired by round.  Algorithms are
    compared as timed in C; a peer is compared with kernels.softmax running
    `base` from Python with the peer's output handling (out= or allocating),
    so that both pay the same call overhead and allocation."""
    base_case = f"{base} [{isa}]"
    partners = {f"{a} [{isa}]": base_case for a in registry.ALGORITHMS if a != base}
    partners.update({peer: api_partner(peer, base, isa) for peer in peer_cases(summary)})
    rows = []
    for (mode, n), _ in summary.groupby(["mode", "n"]):
        row = {"mode": mode, "n": n}
        for other, partner in partners.items():
            row[other] = paired_ratio(samples, mode, n, other, partner)
        rows.append(row)
    return pd.DataFrame(rows)


HEADLINE_OTHERS = {"vs recompute": "three-pass-recompute", "vs reload": "three-pass-reload", "vs online": "online"}


def headline_table(samples: pd.DataFrame, summary: pd.DataFrame, in_cache_n: int, out_of_cache_n: int,
                   llc: int | None = None) -> pd.DataFrame:
    """Two-pass speedup over recompute, reload and online, per cache mode (the
    paper's protocol is the mode "paper"), ISA and place: the measured size
    nearest in_cache_n and the one nearest out_of_cache_n (paired medians).
    With the last-level cache's size `llc`, each is chosen among the sizes
    that are in its place (`fits_in_cache`), and a place none is in is left out."""
    rows = []
    for mode, at in summary[summary["group"] == "algorithm"].groupby("mode"):
        sizes = {}
        for where, target in (("in cache", in_cache_n), ("out of cache", out_of_cache_n)):
            there = [n for n in at["n"].unique() if llc is None or fits_in_cache(n, llc) == (where == "in cache")]
            if there:
                sizes[where] = nearest(there, target)
        for isa in sorted(at["isa"].unique()):
            table = speedup_table(samples[samples["mode"] == mode], at[at["isa"] == isa], isa).set_index("n")
            for where, n in sizes.items():
                row = {"protocol": "paper" if mode == "paper" else f"tuned ({mode})", "isa": isa, "where": where, "n": n}
                row.update({label: table.loc[n, f"{a} [{isa}]"] for label, a in HEADLINE_OTHERS.items()})
                rows.append(row)
    return pd.DataFrame(rows)


def fits_in_cache(n: int, llc: int) -> bool:
    """A row of n float32 inputs and outputs fits in half the last-level cache."""
    return 8 * n <= llc // 2


def nearest(sizes, n: int) -> int:
    """The size nearest n, on a log scale."""
    sizes = np.array(sorted(sizes))
    return int(sizes[np.argmin(np.abs(np.log2(sizes) - np.log2(n)))])


def nearest_size(summary: pd.DataFrame, n: int) -> int:
    return nearest(summary["n"].unique(), n)
