"""The shape grid: `kernels.softmax` against the peers ML engineers use, at
batch shapes (rows x n, softmax along each row): `python -m kernels.bench shapes`.

At each grid point every case runs on the same input array (uniform in
[-10, 10), page-aligned), in interleaved rounds in a fresh random order, each
case a batch of calls long enough for the clock (`timing.measure`); the
medians and round-by-round ratios come from those rounds.  The cases:

  * kernels.softmax with algorithm="auto" and with each explicit algorithm,
    at threads=1 and threads=None (every core), writing into the shared
    preallocated output (out=);
  * the peers (`PEERS`): torch.softmax at torch's default thread count and at
    one thread, ONNX Runtime (one Softmax node; io_binding writes into the
    output) at its default intra-op threads and at one, numpy and scipy;
  * the allocating forms (kernels.softmax "auto" at both thread settings,
    and each peer's), up to `ShapesConfig.allocating_max_bytes`: allocating
    a 2 GiB output per case per round would not fit in memory.

Every batch is checked against a float64 softmax of checked rows (the first,
the last and two between), with the sentinels of `timing.python_runner`.
A peer that is not installed, or a name that is no peer, is skipped and the
report says so.

For a chapter: `run(config) -> folder`, `load(folder)`, `grid_table(samples,
against)`, `heatmap(ax, table)` and `colorbar`, `choice_table`,
`scaling_table`, `targets(samples)` and `render(run)`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .. import api, registry
from . import machine
from . import peers as peer_module
from . import results
from .analysis import paired_ratio_within
from .sweep import (KERNEL_RTOL, PEER_RTOL, SoftmaxReference, _edges_close, _progress, check_row)
from .timing import BenchmarkError, Case, aligned_empty, measure, python_runner

KIND = "shapes"
AUTO = api.AUTO
DEFAULT_ROWS = [1, 8, 64, 512, 4096, 16384]
DEFAULT_NS = [128, 512, 2048, 8192, 32000, 128256, 256000]
DEFAULT_LONG_NS = [1 << 26, 1 << 28]  # single rows, measured when rows include 1
QUICK_ROWS, QUICK_NS = [1, 8], [128, 2048]
THREADS = (1, None)  # kernels.softmax: one thread, every core (threads=None)

# Peers: label -> (factory in kernels.bench.peers, its threads argument; None: the library's default).
PEERS: dict[str, tuple[Callable, int | None]] = {
    "torch (default threads)": (peer_module.torch_peer, None),
    "torch (1 thread)": (peer_module.torch_peer, 1),
    "onnxruntime (default threads)": (peer_module.onnxruntime_peer, None),
    "onnxruntime (1 thread)": (peer_module.onnxruntime_peer, 1),
    "numpy": (peer_module.numpy_peer, None),
    "scipy": (peer_module.scipy_peer, None),
}
TORCH, TORCH_1, ORT, ORT_1 = list(PEERS)[:4]


@dataclass
class ShapesConfig:
    rows: list[int] = field(default_factory=lambda: list(DEFAULT_ROWS))
    ns: list[int] = field(default_factory=lambda: list(DEFAULT_NS))
    long_ns: list[int] = field(default_factory=lambda: list(DEFAULT_LONG_NS))  # 1 x n, when 1 is in rows
    max_bytes: int = 2 << 30  # skip shapes whose input is larger
    allocating_max_bytes: int = 512 << 20  # allocating forms only up to this input size
    algorithms: list[str] = field(default_factory=lambda: [AUTO, *registry.ALGORITHMS])
    peers: list[str] = field(default_factory=lambda: list(PEERS))
    reps: int = 7
    target_ms: float = 2.0
    seed: int = 0
    kind: str = KIND

    def shapes(self) -> list[tuple[int, int]]:
        """(rows, n) of every grid point, smallest input first."""
        grid = {(r, n) for r in self.rows for n in self.ns}
        if 1 in self.rows:
            grid |= {(1, n) for n in self.long_ns}
        return sorted((s for s in grid if 4 * s[0] * s[1] <= self.max_bytes), key=lambda s: (s[0] * s[1], s))

    @classmethod
    def quick(cls) -> ShapesConfig:
        """A tiny grid and few rounds (seconds): for tests and the book's CI."""
        return cls(rows=list(QUICK_ROWS), ns=list(QUICK_NS), long_ns=[], reps=3, target_ms=0.5)


@dataclass
class ShapesRun:
    config: ShapesConfig
    machine: dict
    samples: pd.DataFrame
    accuracy: pd.DataFrame | None = None  # (results.save's fields; the grid has neither)
    memory: pd.DataFrame | None = None

    def config_dict(self) -> dict:
        return asdict(self.config)


# ------------------------------------------------------------------ labels

ALLOCATING_SUFFIX = " (allocating)"


def threads_text(threads: int | None) -> str:
    return "all threads" if threads is None else f"{threads} thread{'s' * (threads != 1)}"


def kernel_label(algorithm: str, threads: int | None, allocating: bool = False) -> str:
    """kernels.softmax's case: e.g. 'auto [all threads]', 'two-pass [1 thread] (allocating)'."""
    return f"{algorithm} [{threads_text(threads)}]" + (ALLOCATING_SUFFIX * allocating)


def peer_label(name: str, allocating: bool = False) -> str:
    return f"peer: {name}" + (ALLOCATING_SUFFIX * allocating)


AUTO_ALL, AUTO_1 = kernel_label(AUTO, None), kernel_label(AUTO, 1)


# ------------------------------------------------------------------ inputs


class GridBuffers:
    """The one input and one output every case of a grid point uses (the
    `timing.Buffers` interface, warm): flat, page-aligned, both rows * n
    floats; cases view them as rows x n.  The input is written in chunks, so
    that a 2 GiB input needs no float64 temporary of 4 GiB."""

    CHUNK = 1 << 22

    def __init__(self, rows: int, n: int, seed: int):
        self.rows, self.n_per_row, self.n = rows, n, rows * n
        x = aligned_empty(self.n)
        rng = np.random.default_rng(seed)
        for start in range(0, self.n, self.CHUNK):
            part = x[start : start + self.CHUNK]
            rng.random(part.size, np.float32, out=part)
            part *= np.float32(20.0)
            part -= np.float32(10.0)
        y = aligned_empty(self.n)
        y.fill(0.0)  # touch every page before timing
        self.xs, self.ys = [x], [y]
        self.mode = "warm"
        self.touch = False  # warm: no untimed read of the input before each call

    @property
    def x(self) -> np.ndarray:
        return self.xs[0]

    def describe(self) -> str:
        return "one input and one output for every case, page-aligned"


class RowsReference:
    """float64 references of the rows a check looks at (first, last, two
    between), computed once per grid point: every case has the same input."""

    def __init__(self, x: np.ndarray, rows: int):
        x = x.reshape(rows, -1)
        self.checked = sorted({0, rows // 3, (2 * rows) // 3, rows - 1})
        self.refs = {r: SoftmaxReference(x[r]) for r in self.checked}
        self.edges = self.refs[0].values[0] + self.refs[rows - 1].values[-1]
        self.input = x

    def check(self, rtol: float, sum_tolerance: float) -> Callable:
        def check(batch):
            if not np.shares_memory(batch.input, self.input):
                raise BenchmarkError("the batch ran on another input than the grid point's")
            _edges_close(batch, self.edges, rtol)
            got = np.asarray(batch.output).reshape(self.input.shape)
            for r, ref in self.refs.items():
                check_row(got[r], ref, rtol, sum_tolerance, where=f"[row {r}]")

        return check


# ------------------------------------------------------------------- cases


def _as_rows(shape: tuple[int, int], prepare: Callable = np.asarray) -> Callable:
    """prepare() of a case: a flat buffer viewed as rows x n, then converted
    (once per buffer, by python_runner) to the callable's array type."""
    return lambda array: prepare(array.reshape(shape))


def _flat(to_numpy: Callable) -> Callable:
    return lambda result: np.asarray(to_numpy(result)).reshape(-1)


def kernel_cases(config: ShapesConfig, shape: tuple[int, int], reference: RowsReference, allocating: bool):
    """kernels.softmax: each algorithm at each thread setting (out=); "auto"
    also allocating its output."""
    cases = []
    for algorithm in config.algorithms:
        for threads in THREADS:
            forms = [False, True] if (allocating and algorithm == AUTO) else [False]
            for alloc in forms:
                cases.append(_kernel_case(algorithm, threads, alloc, shape, reference))
    return cases


def _kernel_case(algorithm, threads, allocating, shape, reference) -> Case:
    if allocating:
        def call(x):
            return api.softmax(x, algorithm=algorithm, threads=threads)
    else:
        def call(x, y):
            return api.softmax(x, algorithm=algorithm, threads=threads, out=y)

    run = python_runner(call, into=not allocating, prepare=_as_rows(shape), to_numpy=_flat(np.asarray))
    meta = {"implementation": "kernels.softmax", "algorithm": algorithm, "threads": threads_text(threads),
            "output": peer_module.ALLOCATING if allocating else peer_module.OUT,
            "runs": api.Plan(algorithm, threads=threads).algorithm_for(shape)}  # what "auto" picks
    return Case(kernel_label(algorithm, threads, allocating), "kernels", run,
                reference.check(KERNEL_RTOL, 1e-4), meta=meta)


def resolve_peers(names: list[str]) -> tuple[dict[str, peer_module.Peer], dict[str, str]]:
    """(label -> Peer for the peers that can run here, label -> why skipped)."""
    found, skipped = {}, {}
    for name in names:
        if name not in PEERS:
            skipped[name] = "unknown peer (known: " + ", ".join(PEERS) + ")"
            continue
        factory, threads = PEERS[name]
        peer = factory(threads)
        if peer is None:
            skipped[name] = "not installed"
        else:
            found[name] = peer
    return found, skipped


def peer_cases(name: str, peer: peer_module.Peer, shape, reference: RowsReference, allocating: bool) -> list[Case]:
    cases = []
    for form, fn in peer.forms().items():
        into = form == peer_module.OUT
        if not (into or allocating):
            continue
        run = python_runner(fn, into=into, prepare=_as_rows(shape, peer.prepare), to_numpy=_flat(peer.to_numpy),
                            enter=peer.enter)
        meta = {"implementation": peer.name, "algorithm": name, "threads": "default" if peer.threads is None
                else threads_text(peer.threads), "output": form}
        tolerance = peer_tolerance(shape[1])
        cases.append(Case(peer_label(name, not into), "peer", run, reference.check(*tolerance), meta=meta))
    return cases


def peer_tolerance(n: int) -> tuple[float, float]:
    """(rtol, sum tolerance) of a peer's check on rows of n elements.  The
    peers sum a row in float32 partial sums that drift with n: by 1.3% at
    2^28 elements (torch 2.13 and ONNX Runtime 1.31 alike, measured here), so
    the sweep's tolerances (for up to 2^26) grow in proportion beyond that,
    with a 3x margin.  The checks catch skipped or garbage work; accuracy is
    measured elsewhere."""
    drift = 0.04 * n / 2**28
    return max(PEER_RTOL, drift), max(1e-2, drift)


# --------------------------------------------------------------------- run


def measure_grid(config: ShapesConfig, progress: bool = True, log=print) -> ShapesRun:
    """Measures every grid point; returns the samples (one per case and round)."""
    found, skipped = resolve_peers(config.peers)
    report = machine.report()
    report["peers"] = [{**peer.describe(), "label": name} for name, peer in found.items()]
    report["skipped_peers"] = skipped
    report["threads"] = {"kernels.softmax threads=None": api.default_threads()}
    if TORCH in found:
        report["threads"]["torch default"] = peer_module.torch_default_threads()
    for name, why in skipped.items():
        log(f"skipping peer {name}: {why}")
    shapes = config.shapes()
    bar = _progress(len(shapes) * config.reps, progress)
    rng = np.random.default_rng(config.seed)
    samples = []
    for rows, n in shapes:
        bar.set_description(f"{rows} x {n}")
        samples += measure_point(config, rows, n, found, rng, bar)
    bar.close()
    return ShapesRun(config, report, pd.DataFrame(samples))


def measure_point(config: ShapesConfig, rows: int, n: int, found: dict, rng, bar=None) -> list[dict]:
    buffers = GridBuffers(rows, n, config.seed)
    reference = RowsReference(buffers.x, rows)
    allocating = 4 * rows * n <= config.allocating_max_bytes
    cases = kernel_cases(config, (rows, n), reference, allocating)
    for name, peer in found.items():
        cases += peer_cases(name, peer, (rows, n), reference, allocating)
    try:
        samples = measure(cases, buffers, config.reps, config.target_ms * 1e6, rng, progress=bar)
    finally:
        peer_module.restore_default_threads()
    for sample in samples:
        sample.update(rows=rows, n=n, elements=rows * n)
    return samples


def run(config: ShapesConfig | None = None, out: Path | str | None = None, progress: bool = True, log=print,
        tag: str = "") -> Path:
    """Measures the grid of `config` (default: the full grid) and saves it
    with `results.save` under `out` (default: results/ or $SOFTMAX_RESULTS);
    returns the folder, which `load` and `python -m kernels.bench report` read."""
    measured = measure_grid(config or ShapesConfig(), progress=progress, log=log)
    return results.save(measured, out, tag=tag or KIND, explorer=False)


def load(*folders: Path | str) -> ShapesRun:
    """One or more saved grids (e.g. one per --rows run) as one ShapesRun: the
    samples concatenated, the config and machine of the first folder."""
    if not folders:
        raise ValueError("load() needs at least one folder")
    parts = []
    for folder in folders:
        folder = Path(folder)
        if results.kind(folder) != KIND:
            raise ValueError(f"{folder} holds a {results.kind(folder)}, not a shape grid")
        samples = pd.read_csv(folder / "samples.csv", dtype=str, keep_default_na=False)
        parts.append(results.normalize(samples))
    first = Path(folders[0])
    known = ShapesConfig.__dataclass_fields__
    config = ShapesConfig(**{k: v for k, v in json.loads((first / "config.json").read_text()).items() if k in known})
    report = json.loads((first / "machine.json").read_text())
    return ShapesRun(config, report, pd.concat(parts, ignore_index=True))


# ---------------------------------------------------------------- analysis


def _points(samples: pd.DataFrame):
    return samples.groupby(["rows", "n"], sort=True)


def point_ratio(point: pd.DataFrame, other: str, base: str) -> float:
    """Speedup of base over other at one grid point: median over rounds of
    time(other) / time(base); NaN where either was not measured."""
    return paired_ratio_within(point, other, base)


def best_explicit(point: pd.DataFrame, threads: int | None = None) -> str | None:
    """The explicit algorithm (at that thread setting, out=) with the lowest median time here."""
    labels = [kernel_label(a, threads) for a in registry.ALGORITHMS]
    medians = point[point["case"].isin(labels)].groupby("case")["ns_per_call"].median()
    return medians.idxmin() if len(medians) else None


def grid_table(samples: pd.DataFrame, against: str, base: str = AUTO_ALL) -> pd.DataFrame:
    """Speedup of `base` (default: auto at all threads, out=) over the case
    `against` at every grid point, as a DataFrame: rows x n (NaN where a shape
    was not measured).  `against` is a case label (e.g. `peer_label(TORCH)`,
    `kernel_label("two-pass", None)`), or "best explicit" for the fastest
    explicit algorithm at the same point with base's thread setting."""
    cells = {}
    for (rows, n), point in _points(samples):
        other = against
        if against == "best explicit":
            threads = 1 if "[1 thread]" in base else None
            other = best_explicit(point, threads)
        cells[(rows, n)] = point_ratio(point, other, base) if other else np.nan
    table = pd.Series(cells, dtype=float).unstack()
    table.index.name, table.columns.name = "rows", "n"
    return table


SHORT_NAMES = {"three-pass-recompute": "recompute", "three-pass-reload": "reload", "two-pass": "two-pass",
               "online": "online"}


def choice_table(samples: pd.DataFrame, threads: int | None = None) -> pd.DataFrame:
    """At every grid point: the algorithm auto runs and the fastest explicit
    one (by median), e.g. "two-pass/reload" ("=" where they agree; short
    names, `SHORT_NAMES`), at one thread setting; rows x n."""
    auto = kernel_label(AUTO, threads)
    cells = {}
    for (rows, n), point in _points(samples):
        picked = point.loc[point["case"] == auto, "runs"].dropna().astype(str)
        picked = picked[~picked.isin(["", "nan"])]  # grids saved before "runs" was recorded
        best = best_explicit(point, threads)
        if len(picked) and best:
            best = best.split(" [")[0]
            ran = picked.iloc[0]
            cells[(rows, n)] = "=" if ran == best else f"{SHORT_NAMES.get(ran, ran)}/{SHORT_NAMES.get(best, best)}"
    if not cells:
        return pd.DataFrame()
    table = pd.Series(cells, dtype=object).unstack()
    table.index.name, table.columns.name = "rows", "n"
    return table


def scaling_table(samples: pd.DataFrame, rows: int = 1, n: int = 1 << 26) -> pd.Series:
    """time(1 thread) / time(all threads) of each algorithm (auto first) at rows x n."""
    point = samples[(samples["rows"] == rows) & (samples["n"] == n)]
    out = {a: point_ratio(point, kernel_label(a, 1), kernel_label(a, None))
           for a in [AUTO, *registry.ALGORITHMS]}
    return pd.Series(out, name=f"{rows} x {n}: 1 -> all threads").dropna()


@dataclass(frozen=True)
class Target:
    """A speedup the grid should reach: grid_table(samples, against, base) >=
    minimum at every point with at least min_elements elements (rows * n),
    or only at the point `only` (rows, n)."""

    name: str
    against: str
    base: str
    minimum: float
    min_elements: int = 0
    only: tuple[int, int] | None = None

    def applies(self, rows: int, n: int) -> bool:
        return (rows, n) == self.only if self.only else rows * n >= self.min_elements

    def misses(self, table: pd.DataFrame) -> list[tuple[int, int, float]]:
        """(rows, n, speedup) of each point of the table below the minimum."""
        return [(int(rows), int(n), value) for rows in table.index for n, value in table.loc[rows].items()
                if self.applies(rows, n) and np.isfinite(value) and value < self.minimum]


TARGETS = [
    Target("auto >= 1.3x torch (default threads)", peer_label(TORCH), AUTO_ALL, 1.3, min_elements=4096),
    Target("auto >= 1.3x onnxruntime (default threads)", peer_label(ORT), AUTO_ALL, 1.3, min_elements=4096),
    Target("auto within 3% of the best explicit algorithm (all threads)", "best explicit", AUTO_ALL, 0.97),
    Target("auto within 3% of the best explicit algorithm (1 thread)", "best explicit", AUTO_1, 0.97),
    Target("1 x 2^26: auto at all threads >= 1.6x its 1-thread speed", AUTO_1, AUTO_ALL, 1.6, only=(1, 1 << 26)),
]


def targets(samples: pd.DataFrame, which: list[Target] | None = None) -> pd.DataFrame:
    """Every grid point that misses a target: target, rows, n, measured
    speedup, minimum, and how far short (1 - measured / minimum)."""
    missed = [{"target": t.name, "rows": rows, "n": n, "speedup": value, "minimum": t.minimum,
               "short by": 1 - value / t.minimum}
              for t in (TARGETS if which is None else which)
              for rows, n, value in t.misses(grid_table(samples, t.against, t.base))]
    return pd.DataFrame(missed, columns=["target", "rows", "n", "speedup", "minimum", "short by"])


# ------------------------------------------------------------------ report

COMPARISONS = [
    ("auto vs torch (default threads), out=", peer_label(TORCH), AUTO_ALL),
    ("auto vs onnxruntime (default threads), out= (io_binding)", peer_label(ORT), AUTO_ALL),
    ("auto at 1 thread vs torch at 1 thread, out=", peer_label(TORCH_1), AUTO_1),
    ("auto at 1 thread vs onnxruntime at 1 thread, out=", peer_label(ORT_1), AUTO_1),
    ("auto vs the best explicit algorithm, all threads", "best explicit", AUTO_ALL),
    ("auto vs the best explicit algorithm, 1 thread", "best explicit", AUTO_1),
    ("auto vs torch (default threads), both allocating", peer_label(TORCH, True), kernel_label(AUTO, None, True)),
    ("auto vs onnxruntime (default threads), both allocating", peer_label(ORT, True),
     kernel_label(AUTO, None, True)),
    ("auto at 1 thread vs torch at 1 thread, both allocating", peer_label(TORCH_1, True),
     kernel_label(AUTO, 1, True)),
]


def _format_table(table: pd.DataFrame, target: Target | None = None) -> str:
    """The grid as text, '*' after each value that misses the target."""
    missed = {(rows, n) for rows, n, _ in target.misses(table)} if target else set()

    def cell(rows, n, value):
        return "-" if not np.isfinite(value) else f"{value:.2f}" + ("*" if (rows, n) in missed else " ")

    text = pd.DataFrame({n: [cell(r, n, table.loc[r, n]) for r in table.index] for n in table.columns},
                        index=table.index)
    text.index.name, text.columns.name = "rows \\ n", None
    return text.to_string()


def _legend(target: Target | None) -> str:
    """What the '*' of a grid means, e.g. " (* below 1.3x at rows * n >= 4096)"."""
    if target is None:
        return ""
    where = f" at rows * n >= {target.min_elements}" if target.min_elements else ""
    return f" (* below {target.minimum}x{where})"


def _target_of(against: str, base: str) -> Target | None:
    """The grid-wide target a comparison is held to, if any."""
    return next((t for t in TARGETS if (t.against, t.base) == (against, base) and t.only is None), None)


def render(run: ShapesRun) -> str:
    """The text report: one speedup grid per comparison (time of the other /
    time of auto, paired by round; * marks a missed target), the 2^26 thread
    scaling per algorithm, and the list of missed targets."""
    s, m = run.samples, run.machine
    rounds = int(s["rep"].max()) + 1 if len(s) else 0
    out = [f"# Shape grid: kernels.softmax vs peers ({m['id']}, {m['date']})", ""]
    out += [f"{label}: {value}" for label, value in machine.describe(m)]
    out += [f"threads: {', '.join(f'{k} = {v}' for k, v in m.get('threads', {}).items())}",
            f"rounds per point: {rounds} (interleaved, random order); speedup = median over rounds of "
            "time(other) / time(auto), both called from Python on the same input",
            "peers: " + "; ".join(f"{p['label']}: {p['name']} {p['version']} ({' and '.join(p['forms'])})"
                                  for p in m.get("peers", []))]
    out += [f"skipped peer {name}: {why}" for name, why in m.get("skipped_peers", {}).items()]
    if "onnxruntime" in {p["name"] for p in m.get("peers", [])}:
        out.append("onnxruntime's out= form is io_binding with its output bound to the preallocated array.")
    present = set(s["case"])
    for title, against, base in COMPARISONS:
        if base not in present or (against != "best explicit" and against not in present):
            out += ["", f"## {title}: not measured"]
            continue
        target = _target_of(against, base)
        out += ["", f"## Speedup of {title}{_legend(target)}", _format_table(grid_table(s, against, base), target)]
    if "runs" in s.columns:
        for threads in (t for t in THREADS if len(choice_table(s, t))):
            out += ["", f"## What auto runs / the fastest explicit algorithm by median ({threads_text(threads)}; "
                    "'=': the same)", choice_table(s, threads).fillna("-").to_string()]
    scaling = scaling_table(s)
    if len(scaling):
        out += ["", "## 1 x 2^26: time at 1 thread / time at all threads, per algorithm",
                scaling.to_frame("speedup").to_string(float_format=lambda v: f"{v:.2f}")]
    missed = targets(s)
    out += ["", f"## Missed targets: {len(missed)}"]
    if len(missed):
        out.append(missed.to_string(index=False, formatters={"speedup": "{:.2f}".format,
                                                              "short by": "{:.1%}".format}))
    return "\n".join(out)


# ------------------------------------------------------------------ figure


def heatmap(ax, table: pd.DataFrame, minimum: float | None = None, limit: float | None = None,
            cmap: str = "RdBu", title: str | None = None, min_elements: int = 0):
    """Draws a speedup grid (rows x n, e.g. from `grid_table`) on ax: colours
    on a log scale centred on 1 (blue: auto faster, red: slower; symmetric
    from 1/limit to limit, default the grid's largest deviation), every
    value written in its cell, and cells below `minimum` (among those with
    rows * n >= min_elements, as in `Target`) marked with a frame.  Returns
    the image, for `colorbar`."""
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Rectangle

    values = table.to_numpy(dtype=float)
    finite = values[np.isfinite(values) & (values > 0)]
    if limit is None:
        limit = float(np.exp(np.abs(np.log(finite)).max())) if finite.size else 2.0
    limit = max(limit, 1.05)
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=LogNorm(1 / limit, limit), aspect="auto")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            value = values[i, j]
            if not np.isfinite(value):
                continue
            strong = abs(np.log(value)) > 0.6 * np.log(limit)
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if strong else "black")
            if minimum is not None and value < minimum and table.index[i] * table.columns[j] >= min_elements:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=2))
    ax.set_xticks(range(values.shape[1]), [_size_text(n) for n in table.columns])
    ax.set_yticks(range(values.shape[0]), [str(r) for r in table.index])
    ax.set_xlabel("n (elements per row)")
    ax.set_ylabel("rows")
    if title:
        ax.set_title(title)
    return image


def colorbar(fig, image, ax, label: str = "speedup (x)"):
    """A colorbar for `heatmap` with plain speedup ticks (0.5, 1, 2, ...)."""
    from matplotlib.ticker import FixedLocator, NullLocator

    bar = fig.colorbar(image, ax=ax, label=label)
    lo, hi = image.norm.vmin, image.norm.vmax
    ticks = [t for t in (0.25, 0.33, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 4) if lo <= t <= hi]
    bar.ax.yaxis.set_major_locator(FixedLocator(ticks))
    bar.ax.yaxis.set_minor_locator(NullLocator())
    bar.ax.set_yticklabels([f"{t:g}" for t in ticks])
    return bar


def _size_text(n: int) -> str:
    n = int(n)
    return f"2^{n.bit_length() - 1}" if n >= 1 << 20 and n & (n - 1) == 0 else f"{n:,}"


# --------------------------------------------------------------------- cli


def main(args) -> int:
    """`python -m kernels.bench shapes` (see cli.py for the options)."""
    import sys

    if args.report:
        print(render(load(*args.report)))
        return 0
    config = ShapesConfig.quick() if args.quick else ShapesConfig()
    for option in ("rows", "ns", "reps", "max_bytes"):
        if getattr(args, option) is not None:
            setattr(config, option, getattr(args, option))
    if args.long_ns is not None:
        config.long_ns = args.long_ns
    if args.peers is not None:
        config.peers = args.peers
    if args.algorithms is not None:
        config.algorithms = args.algorithms
    folder = run(config, args.out, progress=not args.no_progress, log=lambda m: print(m, file=sys.stderr),
                 tag="shapes-quick" if args.quick else KIND)
    print(f"saved {folder}")
    print(render(load(folder)))
    return 0
