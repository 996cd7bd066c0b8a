"""From raw samples to the numbers the report and the book quote.

Medians, not means (the machine is shared and noisy); ratios between two cases
are taken round by round within one run, then their median is reported; roofs
come from the bandwidth kernels measured at the same size in the same run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import registry
from . import traffic
from .sweep import BANDWIDTH_KERNELS, api_partner

KEYS = ["mode", "n", "case"]


def summarize(samples: pd.DataFrame) -> pd.DataFrame:
    """One row per (mode, n, case): repetition statistics and throughput."""
    grouped = samples.groupby(KEYS, sort=True)
    stats = grouped["ns_per_call"].agg(
        reps="count",
        min_ns="min",
        median_ns="median",
        q25_ns=lambda s: s.quantile(0.25),
        q75_ns=lambda s: s.quantile(0.75),
    )
    info_columns = [c for c in ("group", "algorithm", "isa", "variant", "family", "kernel", "streaming", "buffers")
                    if c in samples.columns]
    info = grouped[info_columns].first()
    out = stats.join(info).reset_index()
    out["ns_per_element"] = out["median_ns"] / out["n"]
    out["gelem_per_s"] = out["n"] / out["median_ns"]
    out["bytes_per_element"] = [_bytes_per_element(r) for r in out.itertuples()]
    out["gb_per_s"] = out["bytes_per_element"] * out["gelem_per_s"]
    return add_roofs(out)


def _streaming_families(value) -> set[str]:
    """The families with streaming stores, from the comma-separated column."""
    return {s for s in str(value).split(",") if s and s != "nan"}


def _bytes_per_element(row) -> float:
    """Bytes moved per element under the traffic model (with write-allocate)."""
    if row.group == "algorithm":
        return traffic.bytes_per_element(row.algorithm, True, _streaming_families(row.streaming))
    if row.group == "bandwidth":
        return BANDWIDTH_KERNELS[row.kernel][3]
    if row.group == "pass":
        pattern = traffic.PASS_PATTERN.get(row.family)
        if pattern is None:
            return np.nan
        writes = 0 if pattern == traffic.READ else 1
        p = traffic.PassTraffic(row.family, pattern, 1, writes, row.family in _streaming_families(row.streaming))
        return p.bytes(True)
    return 8.0  # peers: one read of x and one write of y, the useful bytes


def bandwidth_at(summary: pd.DataFrame) -> dict[tuple, dict[str, float]]:
    """(mode, n) -> {bandwidth kernel: ns per element}."""
    bw = summary[summary["group"] == "bandwidth"]
    return {key: dict(zip(g["kernel"], g["ns_per_element"])) for key, g in bw.groupby(["mode", "n"])}


def add_roofs(summary: pd.DataFrame) -> pd.DataFrame:
    """Roof ns/element and efficiency (roof / measured) for algorithms and passes."""
    bw = bandwidth_at(summary)
    roofs = []
    for row in summary.itertuples():
        kernels_ns = bw.get((row.mode, row.n))
        roof = np.nan
        if kernels_ns and row.group == "algorithm":
            roof = traffic.roof_ns_per_element(row.algorithm, kernels_ns, _streaming_families(row.streaming))
        elif kernels_ns and row.group == "pass" and row.family in traffic.PASS_PATTERN:
            pattern = traffic.PASS_PATTERN[row.family]
            streaming = row.family in _streaming_families(row.streaming)
            p = traffic.PassTraffic(row.family, pattern, 1, 0 if pattern == traffic.READ else 1, streaming)
            roof = kernels_ns.get(p.bandwidth_kernel, np.nan)
        roofs.append(roof)
    summary = summary.copy()
    summary["roof_ns_per_element"] = roofs
    summary["efficiency"] = summary["roof_ns_per_element"] / summary["ns_per_element"]
    return summary


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


def nearest_size(summary: pd.DataFrame, n: int) -> int:
    sizes = np.array(sorted(summary["n"].unique()))
    return int(sizes[np.argmin(np.abs(np.log2(sizes) - np.log2(n)))])
