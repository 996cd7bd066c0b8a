"""The sweep: every size, every case, interleaved, plus the machine's bandwidth.

At each size the sweep times, in the same interleaved rounds:
  * each algorithm with its chosen kernels (tuned for this machine, else the
    registry's defaults), per ISA;
  * each pass kernel alone (for per-pass efficiency);
  * the bandwidth kernels (read, write, copy, scale, in-place scale, with and
    without streaming stores), which give the roofs at that size;
  * the peers (numpy, scipy, torch if installed).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from .. import api, build, registry
from .. import tuning
from . import accuracy, machine, memory, traffic
from . import peers as peer_module
from .timing import BenchmarkError, Buffers, Case, aligned_empty, measure, python_runner

DEFAULT_SIZES = [int(2**k * m) for k in range(10, 27) for m in (1, 1.5)][:-1]  # 1K ... 2^26
QUICK_SIZES = [1 << 10, 1 << 13, 1 << 15, 1 << 18, 1 << 21]
BANDWIDTH_KERNELS = {
    # label: (family, streaming, in_place, bytes per element counting write-allocate)
    "read": ("rsum", False, False, 4),
    "write": ("vfill", False, False, 8),
    "write (streaming)": ("vfill", True, False, 4),
    "copy": ("vcopy", False, False, 12),
    "copy (streaming)": ("vcopy", True, False, 8),
    "scale": ("vscale", False, False, 12),
    "scale (streaming)": ("vscale", True, False, 8),
    "in-place scale": ("vscale", False, True, 8),
}


@dataclass
class SweepConfig:
    sizes: list[int] = field(default_factory=lambda: list(DEFAULT_SIZES))
    algorithms: list[str] = field(default_factory=lambda: list(registry.ALGORITHMS))
    isas: list[str] | None = None  # None: the widest available, plus avx2 when that is wider
    variants: str = "tuned"  # "tuned", "default" or "all" (every pass variant timed alone)
    modes: list[str] = field(default_factory=lambda: ["warm"])
    reps: int = 11
    target_ms: float = 2.0
    threads: int = 1  # for peers that can use threads
    passes: bool = True
    extra_passes: list[str] = field(default_factory=list)  # more families timed alone (default variants)
    bandwidth: bool = True
    peers: bool = True
    accuracy_sizes: list[int] = field(default_factory=lambda: [1 << 15, 1 << 20, 1 << 26])
    memory_size: int = 1 << 26  # n at which peak memory is measured (0: skip)
    seed: int = 0

    def resolved_isas(self) -> list[str]:
        if self.isas:
            return [api.check_isa(i) for i in self.isas]
        available = api.available_isas()
        chosen = [available[-1]]
        if "avx2" in available and available[-1] != "avx2":
            chosen.insert(0, "avx2")
        return chosen


def row_input(n: int, seed: int) -> np.ndarray:
    """The benchmark input: uniform in [-10, 10) (the kernels are branch-free,
    so speed does not depend on the values)."""
    return np.random.default_rng(seed).uniform(-10, 10, n).astype(np.float32)


# ----------------------------------------------------------------- checks


def _check_softmax(x, y, checksum, calls, tolerance=1e-4):
    """Catches skipped or wrong work, not inaccuracy (measured elsewhere)."""
    total = float(np.sum(y, dtype=np.float64))
    if not (np.isfinite(total) and abs(total - 1.0) <= tolerance):
        raise BenchmarkError(f"softmax output sums to {total}, not 1")


def _check_equal(reference_y, reference_value):
    """Check for deterministic kernels: same output and scalar as a reference call."""

    def check(x, y, checksum, calls):
        if reference_value is not None and checksum != reference_value * calls and not (
            math.isclose(checksum, reference_value * calls, rel_tol=1e-12)
        ):
            raise BenchmarkError(f"checksum {checksum} != {calls} x {reference_value}")
        if reference_y is not None and not np.array_equal(y[:: max(1, y.size // 4096)],
                                                          reference_y[:: max(1, y.size // 4096)]):
            raise BenchmarkError("kernel output differs from its reference call")

    return check


# ------------------------------------------------------------------ cases


def _scalars(family: str, x: np.ndarray) -> tuple[float, float]:
    """Realistic scalar arguments (a, b) of a pass kernel for input x."""
    x64 = x.astype(np.float64)
    mx = float(x.max())
    total = float(np.sum(np.exp(x64 - mx)))
    if family in ("raddexpminusmax", "raddexpminusmax_x2", "raddstoreexpminusmax"):
        return mx, 0.0
    if family == "vscaleexpminusmax":
        return mx, 1.0 / total
    if family == "vscaleextexp":
        e = float(np.round(mx * 1.4426950408889634))
        return float(1.0 / (total * np.exp(mx - e * np.log(2.0)))), -e
    if family == "vscale":
        return 1.0, 0.0
    return 0.0, 0.0


def kernel_case(variant: registry.Variant, x: np.ndarray, label: str, group: str, in_place=False, **meta) -> Case:
    core = build.load()
    api.check_isa(variant.isa)
    a, b = _scalars(variant.family, x)
    if variant.family == "vfill":
        a = 0.5
    task = core.Task(variant.name, a=a, b=b)
    # The reference call uses a page-aligned output like the timed calls:
    # streaming variants peel to alignment, which regroups their sums.
    y = aligned_empty(x.size)
    y.fill(0.0)
    src = y if in_place else x
    if in_place:
        y[:] = x
    _, value = core.time_batch(task, [src], [y], x.size, 1)
    returns_value = registry.FAMILIES[variant.family].reduction
    check = _check_equal(None if returns_value else y.copy(), value if returns_value else None)
    if in_place:
        check = None  # repeated in-place scaling by 1.0 keeps y; nothing fixed to compare
    run = lambda n, xs, ys, calls, first: core.time_batch(task, xs, ys, n, calls, first)  # noqa: E731
    meta = {"family": variant.family, "isa": variant.isa, "variant": variant.name,
            "streaming": variant.family if variant.streaming else "", **meta}
    return Case(label, group, run, check, in_place=in_place, meta=meta)


def algorithm_case(plan: api.Plan, label: str) -> Case:
    core = build.load()
    task = core.Task(plan.algorithm, plan=plan._plan, rows=1)
    run = lambda n, xs, ys, calls, first: core.time_batch(task, xs, ys, n, calls, first)  # noqa: E731
    streaming = sorted(v.family for v in plan.passes if v.streaming)
    meta = {"algorithm": plan.algorithm, "isa": plan.isa, "variant": "+".join(v.name for v in plan.passes),
            "streaming": ",".join(streaming)}
    return Case(label, "algorithm", run, _check_softmax, meta=meta)


def api_case(algorithm: str, isa: str) -> Case:
    """An algorithm timed through kernels.softmax from Python, like the peers:
    the fair comparison with them, Python call overhead included."""

    def call(x, y):
        return api.softmax(x, algorithm=algorithm, isa=isa, out=y)

    meta = {"algorithm": algorithm, "isa": isa, "variant": "kernels.softmax"}
    return Case(api_label(algorithm, isa), "api", python_runner(call), _check_softmax, meta=meta)


def api_label(algorithm: str, isa: str) -> str:
    return f"{algorithm} [{isa}] via kernels.softmax"


def peer_case(name: str, fn) -> Case:
    def check(x, y, checksum, calls):
        # Peers may sum inaccurately (torch's sum drifts by 1e-3 at 2^26 elements).
        _check_softmax(x, peer_module.as_numpy(fn(x, y)), checksum, calls, tolerance=1e-2)

    return Case(f"peer: {name}", "peer", python_runner(fn), check, meta={"algorithm": name, "isa": "", "variant": name})


def plans_for(config: SweepConfig, isa: str, n: int) -> dict[str, api.Plan]:
    """The plan of each algorithm at size n: this machine's tuned choice for n's
    size class, or the registry defaults."""
    return {
        algorithm: tuning.plan(algorithm, isa, n) if config.variants != "default" else api.Plan(algorithm, isa)
        for algorithm in config.algorithms
    }


def cases_at(config: SweepConfig, x: np.ndarray) -> list[Case]:
    cases = []
    isas = config.resolved_isas()
    for isa in isas:
        plans = plans_for(config, isa, x.size)
        for algorithm, plan in plans.items():
            cases.append(algorithm_case(plan, f"{algorithm} [{isa}]"))
        if config.passes:
            pass_variants = {v for plan in plans.values() for v in plan.passes}
            if config.variants == "all":
                families = {v.family for v in pass_variants}
                pass_variants = {v for f in families for v in registry.variants(f, isa)}
            pass_variants |= {registry.default_variant(f, isa) for f in config.extra_passes}
            for v in sorted(pass_variants, key=lambda v: v.name):
                cases.append(kernel_case(v, x, v.name, "pass", in_place=v.family == "vscale"))
    if config.bandwidth:
        cases.extend(bandwidth_cases(x, isas[-1]))
    if config.peers:
        for name, fn in peer_module.peers(config.threads).items():
            cases.append(peer_case(name, fn))
        cases += [api_case(a, isa) for isa in isas for a in config.algorithms]
    return cases


def bandwidth_cases(x: np.ndarray, isa: str) -> list[Case]:
    out = []
    for label, (family, streaming, in_place, _) in BANDWIDTH_KERNELS.items():
        base = registry.default_variant(family, isa)
        variant = registry.Variant(family, isa, base.unroll, base.accumulators, streaming=streaming)
        out.append(kernel_case(variant, x, f"bandwidth: {label}", "bandwidth", in_place=in_place, kernel=label))
    return out


# -------------------------------------------------------------------- run


def measure_bandwidth(report: dict, reps: int = 5, seed: int = 0) -> dict:
    """Single-threaded bandwidth of each access pattern, at 4x the last-level
    cache per array (at least 2^25 floats), in GB/s counting write-allocate."""
    llc = machine.last_level_cache(report) or 64 << 20
    n = max(1 << 25, 4 * llc // 4)
    x = row_input(n, seed)
    buffers = Buffers(x, "warm", llc)
    cases = bandwidth_cases(x, api.available_isas()[-1])
    samples = pd.DataFrame(measure(cases, buffers, reps, 0, np.random.default_rng(seed)))
    median = samples.groupby("kernel")["ns_per_call"].median()
    return {
        "n": n,
        "size_label": f"{4 * n / 2**20:.0f} MiB per array",
        "ns_per_element": {k: float(median[k] / n) for k in BANDWIDTH_KERNELS},
        "gb_per_s": {k: float(BANDWIDTH_KERNELS[k][3] * n / median[k]) for k in BANDWIDTH_KERNELS},
        "counting": "bytes per element include the write-allocate read of normal stores",
    }


@dataclass
class Run:
    config: SweepConfig
    machine: dict
    samples: pd.DataFrame
    accuracy: pd.DataFrame
    memory: pd.DataFrame = field(default_factory=pd.DataFrame)

    def config_dict(self) -> dict:
        return asdict(self.config)


def run_sweep(config: SweepConfig, progress: bool = True, log=print) -> Run:
    report = machine.report()
    log(f"machine: {report['cpu']['model']} ({report['id']}); measuring bandwidth ...")
    report["bandwidth"] = measure_bandwidth(report, seed=config.seed)
    llc = machine.last_level_cache(report)
    steps = len(config.sizes) * len(config.modes) * config.reps
    bar = _progress(steps, progress)
    samples = []
    rng = np.random.default_rng(config.seed)
    for n, mode in itertools.product(sorted(config.sizes), config.modes):
        x = row_input(n, config.seed)
        buffers = Buffers(x, mode, llc)
        cases = cases_at(config, buffers.x)
        bar.set_description(f"n={n} {mode}")
        rows = measure(cases, buffers, config.reps, config.target_ms * 1e6, rng, progress=bar)
        for row in rows:
            row.update(n=n, mode=mode, buffers=buffers.describe())
        samples.extend(rows)
        del buffers
    bar.close()
    acc = pd.DataFrame()
    if config.accuracy_sizes:
        log("measuring accuracy ...")
        acc = pd.DataFrame(
            accuracy.measure(config.accuracy_sizes, config.resolved_isas(), config.peers, config.threads, config.seed)
        )
    mem = pd.DataFrame()
    if config.memory_size:
        log("measuring peak memory ...")
        mem = pd.DataFrame(memory.measure(config.memory_size, config.resolved_isas(), config.seed))
    return Run(config, report, pd.DataFrame(samples), acc, mem)


def _progress(total: int, enabled: bool):
    if enabled:
        try:
            from tqdm.auto import tqdm

            return tqdm(total=total, unit="round", leave=False)
        except ImportError:
            pass

    class Silent:
        def update(self, k):
            pass

        def set_description(self, text):
            pass

        def close(self):
            pass

    return Silent()
