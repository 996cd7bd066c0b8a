"""Plot helpers in one style: throughput vs N on a log2 axis with the
machine's cache sizes marked, roof lines, speedups and per-pass efficiency."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import registry
from . import analysis

FIGSIZE = (8.5, 4.2)
COLORS = {
    "three-pass-recompute": "#1f77b4",
    "three-pass-reload": "#ff7f0e",
    "two-pass": "#2ca02c",
    "online": "#9467bd",
    "numpy": "#7f7f7f",
    "scipy": "#bcbd22",
    "torch": "#8c564b",
    "onnxruntime": "#e377c2",
}
STYLE = {"lines.linewidth": 2, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
         "axes.spines.right": False, "figure.dpi": 100, "savefig.dpi": 110}


def apply_style() -> None:
    plt.rcParams.update(STYLE)


def new_axes(ax=None):
    if ax is not None:
        return ax.figure, ax
    apply_style()
    return plt.subplots(figsize=FIGSIZE, layout="constrained")


def bytes_label(b: float) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= scale:
            value = b / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{b:.0f} B"


def outside_legend(ax) -> None:
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def mark_caches(ax, report: dict, bytes_per_element: float = 8.0) -> None:
    """Dashed verticals where the working set (input + output, 8 bytes per
    element by default) equals each cache level's size; call after the x
    limits are set (levels outside them are skipped)."""
    lo, hi = ax.get_xlim()
    seen = set()
    for cache in report["caches"]:
        size = cache["size_bytes"]
        n = size / bytes_per_element if size else None
        if n is None or cache["level"] in seen or not lo <= n <= hi:
            continue
        seen.add(cache["level"])
        ax.axvline(n, color="black", ls="--", lw=1, alpha=0.6)
        ax.annotate(f"L{cache['level']} {bytes_label(size)}", (n, 0), xycoords=("data", "axes fraction"),
                    xytext=(3, 4), textcoords="offset points", fontsize=8, alpha=0.8)


def log2_axis(ax, sizes) -> None:
    ax.set_xscale("log", base=2)
    lo, hi = int(np.floor(np.log2(min(sizes)))), int(np.ceil(np.log2(max(sizes))))
    ticks = [2**k for k in range(lo, hi + 1, 2)]
    ax.set_xticks(ticks, [f"$2^{{{k}}}$" for k in range(lo, hi + 1, 2)])
    ax.set_xlim(min(sizes), max(sizes))


def case_color(case: str) -> str | None:
    name = case.removeprefix("peer: ").split(" [")[0]
    return COLORS.get(name)


def case_style(case: str) -> str:
    """Peers dotted, kernels called through Python dash-dotted, kernels solid."""
    if case.startswith("peer: "):
        return ":"
    return "-." if case.endswith("via kernels.softmax") else "-"


def throughput_data(summary: pd.DataFrame, cases: list[str] | None = None,
                    samples: pd.DataFrame | None = None) -> pd.DataFrame:
    """The data of a throughput figure, one row per (mode, n, case): the summary's
    columns, the roofs in every unit the figures use, and (given the samples)
    each round's time per element, so that ratios can be paired round by round
    (as analysis.paired_ratio does).  The static figures and the book's
    explorers (kernels.bench.explorer) both draw from this frame."""
    data = summary if cases is None else summary[summary["case"].isin(cases)]
    data = data.sort_values(analysis.KEYS).reset_index(drop=True)
    data["roof_gelem_per_s"] = 1.0 / data["roof_ns_per_element"]
    data["roof_gb_per_s"] = data["bytes_per_element"] / data["roof_ns_per_element"]
    if samples is not None:
        per_element = samples.assign(ns=samples["ns_per_call"] / samples["n"])
        rounds = per_element.pivot_table(index=analysis.KEYS, columns="rep", values="ns", aggfunc="first")
        rounds = rounds.reindex(columns=range(int(samples["rep"].max()) + 1))
        lists = {key: [None if np.isnan(v) else float(v) for v in row] for key, row in zip(rounds.index, rounds.values)}
        data["round_ns_per_element"] = [lists.get(key) for key in zip(*(data[k] for k in analysis.KEYS))]
    return data


def throughput(summary: pd.DataFrame, report: dict, cases: list[str], mode: str = "warm",
               metric: str = "gelem_per_s", roofs: bool = True, ax=None):
    """Throughput (or another summary column) of the given cases against N."""
    fig, ax = new_axes(ax)
    s = throughput_data(summary, cases)
    s = s[s["mode"] == mode]
    for case in cases:
        d = s[s["case"] == case].sort_values("n")
        if d.empty:
            continue
        line, = ax.plot(d["n"], d[metric], marker="o", ms=3, label=case, color=case_color(case),
                        ls=case_style(case))
        if roofs and metric == "gelem_per_s" and d["roof_ns_per_element"].notna().any():
            ax.plot(d["n"], d["roof_gelem_per_s"], color=line.get_color(), ls="--", lw=1, alpha=0.8)
    log2_axis(ax, s["n"].unique())
    mark_caches(ax, report)
    ax.set_xlabel("elements per row (n)")
    ax.set_ylabel({"gelem_per_s": "throughput (10^9 elements/s)", "ns_per_element": "ns per element",
                   "gb_per_s": "GB/s (traffic model)", "efficiency": "fraction of bandwidth roof"}.get(metric, metric))
    ax.set_ylim(bottom=0)
    outside_legend(ax)
    return fig, ax


def speedup(samples: pd.DataFrame, base_case: str, other_cases: list[str], mode: str = "warm",
            reference_lines: dict[str, float] | None = None, report: dict | None = None, ax=None):
    """time(other) / time(base) per N, paired round by round."""
    fig, ax = new_axes(ax)
    s = samples[samples["mode"] == mode]
    sizes = sorted(s["n"].unique())
    for other in other_cases:
        ratios = [analysis.paired_ratio(samples, mode, n, other, base_case) for n in sizes]
        ax.plot(sizes, ratios, marker="o", ms=3, label=f"vs {other}", color=case_color(other))
    ax.axhline(1.0, color="black", lw=1)
    for label, value in (reference_lines or {}).items():
        ax.axhline(value, color="grey", ls=":", lw=1.5)
        ax.annotate(label, (sizes[0], value), xytext=(2, 3), textcoords="offset points", fontsize=8, color="grey")
    log2_axis(ax, sizes)
    if report:
        mark_caches(ax, report)
    ax.set_xlabel("elements per row (n)")
    ax.set_ylabel(f"speedup of {base_case}")
    outside_legend(ax)
    return fig, ax


def pass_efficiency(summary: pd.DataFrame, n: int, mode: str = "warm", isa: str | None = None, ax=None):
    """Each pass kernel's efficiency against its bandwidth roof at one size."""
    fig, ax = new_axes(ax)
    s = summary[(summary["mode"] == mode) & (summary["n"] == n) & (summary["group"] == "pass")]
    if isa:
        s = s[s["isa"] == isa]
    s = s.sort_values("efficiency")
    labels = [v.split("__")[0].removeprefix("f32_") + ("" if isa else f" [{i}]") for v, i in zip(s["variant"], s["isa"])]
    ax.barh(labels, s["efficiency"], color="#4c72b0")
    ax.axvline(1.0, color="black", lw=1)
    ax.set_xlabel("roof time / measured time")
    return fig, ax


def algorithm_cases(summary: pd.DataFrame, isa, peers: bool = True) -> list[str]:
    """The algorithm cases of the summary with one ISA's kernels (or each of
    a list of ISAs', ISA by ISA), then the peers' cases (`peers`)."""
    isas = [isa] if isinstance(isa, str) else list(isa)
    measured = set(summary["case"])
    cases = [f"{a} [{i}]" for i in isas for a in registry.ALGORITHMS if f"{a} [{i}]" in measured]
    if peers:
        cases += sorted(c for c in summary["case"].unique() if c.startswith("peer: "))
    return cases


def cache_elements(report: dict) -> dict[int, float]:
    """Level -> n where input + output fill that cache."""
    return {c["level"]: c["size_bytes"] / 8 for c in report["caches"] if c["size_bytes"]}


__all__ = ["apply_style", "throughput_data", "throughput", "speedup", "pass_efficiency", "algorithm_cases", "mark_caches",
           "cache_elements"]


MAP_N = [1 << k for k in range(7, 25)]
MAP_ROWS = [1 << k for k in range(0, 15)]
"""The row lengths and row counts a decision map figure covers."""


def decision_map(ax, threads: int, operation: str = "softmax", n_grid=MAP_N, rows_grid=MAP_ROWS) -> list:
    """Colours ax by the algorithm ``algorithm="auto"`` of the operation runs
    on (rows, n) on `threads` threads (each cell from its lower left corner
    on, log2 axes); returns (legend handles, their labels)."""
    from matplotlib.colors import ListedColormap

    from .. import api, tuning

    algorithms = list(tuning.candidates(operation))
    grid = np.array([[algorithms.index(api.choose_algorithm((rows, n), threads=threads, operation=operation))
                      for n in n_grid] for rows in rows_grid])
    ax.pcolormesh(np.log2(list(n_grid) + [n_grid[-1] * 2]), np.log2(list(rows_grid) + [rows_grid[-1] * 2]), grid,
                  cmap=ListedColormap([COLORS[a] for a in algorithms]), vmin=-0.5, vmax=len(algorithms) - 0.5,
                  alpha=0.35)
    ax.set_xlim(np.log2(n_grid[0]) - 0.6, np.log2(n_grid[-1]) + 1)
    ax.set_ylim(-0.6, np.log2(rows_grid[-1]) + 1)
    ax.set_xlabel("log2 of the row length n")
    labels = [a if operation == "softmax" or not a.startswith("three-pass") else "three-pass" for a in algorithms]
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLORS[a], alpha=0.6) for a in algorithms]
    return handles, labels
