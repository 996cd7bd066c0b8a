"""The sweep: every size, every case, interleaved, plus the machine's bandwidth.

At each size the sweep times, in the same interleaved rounds:
  * each algorithm with its chosen kernels (tuned for this machine, else the
    registry's defaults), per ISA;
  * each pass kernel alone (for per-pass efficiency);
  * the bandwidth kernels (read, write, copy, scale, in-place scale, with and
    without streaming stores), which give the roofs at that size;
  * the peers (numpy, scipy, torch if installed), each beside kernels.softmax
    called from Python with the same output handling: both write into a
    preallocated output (out=), or both allocate it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from .. import api, build, registry
from .. import tuning
from . import accuracy, machine, memory, traffic
from . import peers as peer_module
from .timing import BenchmarkError, Buffers, Case, aligned_empty, c_runner, measure, python_runner

DEFAULT_SIZES = [int(2**k * m) for k in range(10, 27) for m in (1, 1.5)][:-1]  # 1K ... 2^26
QUICK_SIZES = [1 << 10, 1 << 13, 1 << 15, 1 << 18, 1 << 21]
PROTOCOLS = ("tuned", "paper")
"""tuned: this machine's fastest variants (streaming stores where they win), on
U(-10, 10) inputs, in the chosen cache modes.  paper: the protocol of the
paper's benchmark (XNNPACK's bench/f32-softargmax.cc): tuned unroll and
accumulators with plain stores, U(-1000, 1000) inputs, the "paper" buffer mode
(timing.Buffers), sizes {1, 3} x 10^k."""
PAPER_SIZES = [m * 10**k for k in range(3, 8) for m in (1, 3)]  # 1K ... 30M (the paper goes to 300M: --sizes)
PAPER_QUICK_SIZES = [1_000, 10_000, 100_000, 1_000_000, 3_000_000]
PAPER_RANGE = 1000.0  # the paper's inputs: U(-1000, 1000)
TUNED_RANGE = 10.0  # this book's inputs: U(-10, 10)
MACHINE_BANDWIDTH_N = 1 << 27
"""Elements per array of the machine's bandwidth measurement (512 MiB): far out
of cache here (one core's bandwidth stops changing above 2^24 elements on the
build machine, whose L3 is reported as 504 MiB shared with other tenants)."""


@dataclass(frozen=True)
class BandwidthKernel:
    """A kernel that only moves data, with the traffic pattern it moves, on
    `threads` threads: the candidates of the roofs."""

    pattern: str
    variant: registry.Variant
    threads: int = 1

    @property
    def in_place(self) -> bool:
        return self.pattern == traffic.IN_PLACE

    @property
    def name(self) -> str:
        where = " in place" if self.in_place else ""
        return f"{self.variant.name}{where}" + (f" x{self.threads}" if self.threads > 1 else "")

    @property
    def label(self) -> str:
        return f"bandwidth: {self.name}"


# (family, vectors per iteration, accumulators, prefetch) of each pattern's
# candidates: unroll, accumulator count and software prefetch vary; the load
# width varies with the ISA (the widest, and AVX2's 32-byte loads in the
# AVX2_SHAPES).  The threaded roofs try the 8-vector shapes, with and without
# prefetch (on one thread these win or tie on the build machine), and the
# paced copy (a threaded pass with arithmetic can beat the bare copies too).
_PF = registry.PREFETCH_DISTANCE
# A paced copy too: passes with arithmetic between loads and stores can move
# read+write traffic faster than a bare copy (kernels/csrc/templates/vcopy.h).
_COPY_SHAPES = [("vcopy", 4, 1, 0), ("vcopy", 8, 1, 0), ("vcopy", 16, 1, 0), ("vcopy", 8, 1, _PF),
                ("vcopy_paced", 4, 1, 0)]
ROOF_SHAPES = {
    traffic.READ: [("rmax", 4, 4, 0), ("rmax", 8, 8, 0), ("rmax", 16, 8, 0), ("rmax", 8, 8, _PF)],
    traffic.READ_WRITE: _COPY_SHAPES,
    traffic.READ_WRITE_STREAMING: _COPY_SHAPES,
    traffic.IN_PLACE: [("vscale", 4, 1, 0), ("vscale", 8, 1, 0), ("vscale", 8, 1, _PF)],
    traffic.WRITE: [("vfill", 8, 1, 0)],
    traffic.WRITE_STREAMING: [("vfill", 8, 1, 0)],
}
THREADED_SHAPES = {pattern: [s for s in shapes if s[1] == 8 or s[0] == "vcopy_paced"]
                   for pattern, shapes in ROOF_SHAPES.items()}
AVX2_SHAPES = {pattern: [s for s in shapes if s[1] == 8 and not s[3]] for pattern, shapes in ROOF_SHAPES.items()
               if pattern in traffic.ROOF_PATTERNS}
STREAMING_PATTERNS = (traffic.READ_WRITE_STREAMING, traffic.WRITE_STREAMING)


def _bandwidth_variant(isa: str, pattern: str, shape) -> registry.Variant:
    family, vectors, acc, prefetch = shape
    variant = registry.Variant(family, isa, vectors * registry.VECTOR_LANES[isa], acc,
                               streaming=pattern in STREAMING_PATTERNS, prefetch=prefetch)
    return registry.lookup(variant.name)  # a registered variant (raises otherwise)


def bandwidth_kernels(isa: str, threads: int = 1) -> list[BandwidthKernel]:
    """The roofs' candidates on one thread, with `isa` (the widest) and AVX2
    loads where those are narrower, and on `threads` threads when above 1."""
    out = [BandwidthKernel(p, _bandwidth_variant(isa, p, s)) for p, shapes in ROOF_SHAPES.items() for s in shapes]
    if isa != "avx2" and "avx2" in api.available_isas():
        out += [BandwidthKernel(p, _bandwidth_variant("avx2", p, s)) for p, shapes in AVX2_SHAPES.items()
                for s in shapes]
    if threads > 1:
        out += [BandwidthKernel(p, _bandwidth_variant(isa, p, s), threads) for p, shapes in THREADED_SHAPES.items()
                for s in shapes]
    return out


def _sequence_shapes(vectors: int, copy: str = "vcopy") -> dict:
    """Per pattern, the bandwidth kernel that stands for a pass of it in a
    sequence: `vectors` per iteration (and as many max accumulators)."""
    return {traffic.READ: ("rmax", vectors, vectors, 0), traffic.READ_WRITE: (copy, vectors, 1, 0),
            traffic.READ_WRITE_STREAMING: (copy, vectors, 1, 0), traffic.IN_PLACE: ("vscale", vectors, 1, 0)}


# The sequences differ in unroll and in how the copy paces its stores; the
# fastest bounds the algorithm.  Where an algorithm's arithmetic hides entirely
# behind its data movement (reloading under the paper's protocol, whose output
# is cold on every call), its time equals its sequence's, and only several
# sequences' best rounds keep below its median.
SEQUENCE_SHAPES = {"8 vectors": _sequence_shapes(8), "4 vectors": _sequence_shapes(4),
                   "4 vectors, paced copy": _sequence_shapes(4, "vcopy_paced")}
SEQUENCE_PREFIX = "roof sequence: "


def sequence_case(algorithm: str, streaming: set[str], x: np.ndarray, isa: str, shapes: str = "8 vectors") -> Case:
    """The data movement of an algorithm without its arithmetic: one bandwidth
    kernel per pass (of SEQUENCE_SHAPES[shapes]), of the pass's pattern, run
    back to back on the same x and y, so that each finds in the caches what the
    previous one left, as the algorithm's passes do (passes timed alone do not:
    their sum is no bound)."""
    core = build.load()
    steps, names = [], []
    for p in traffic.passes(algorithm, streaming):
        variant = _bandwidth_variant(isa, p.roof_pattern, SEQUENCE_SHAPES[shapes][p.roof_pattern])
        in_place = p.roof_pattern == traffic.IN_PLACE
        steps.append((variant.name, -1.0 if in_place else 0.0, in_place))  # -1: the rescale changes its data
        names.append(variant.name + (" in place" if in_place else ""))
    task = core.Task(algorithm, steps=steps)
    label = (f"{SEQUENCE_PREFIX}{algorithm}" + (f" (streaming {','.join(sorted(streaming))})" if streaming else "")
             + f" [{shapes}]")
    meta = {"algorithm": algorithm, "isa": isa, "variant": " + ".join(names), "kernel": label.removeprefix(
        SEQUENCE_PREFIX), "streaming": ",".join(sorted(streaming)), "pattern": "", "threads": "1"}
    return Case(label, "bandwidth", c_runner(task, core), kernel_expectation(core, task, x, False), meta=meta)


def roof_threads() -> int:
    """All threads: the threaded roofs run on every CPU this process may use."""
    return min(machine.usable_cpus(), build.load().MAX_THREADS)


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
    bandwidth_n: int = MACHINE_BANDWIDTH_N  # elements per array of the machine's bandwidth measurement
    peers: bool = True
    accuracy_sizes: list[int] = field(default_factory=lambda: [1 << 15, 1 << 20, 1 << 26])
    memory_size: int = 1 << 26  # n at which peak memory is measured (0: skip)
    seed: int = 0
    protocols: list[str] = field(default_factory=lambda: ["tuned"])  # of PROTOCOLS
    paper_sizes: list[int] = field(default_factory=lambda: list(PAPER_SIZES))  # the sizes of the paper protocol
    paper_reps: int | None = None  # rounds of the paper protocol (None: reps)

    def reps_of(self, protocol: str) -> int:
        """Interleaved rounds per size under `protocol`."""
        return (self.paper_reps or self.reps) if protocol == "paper" else self.reps

    def measurements(self) -> list[tuple[str, int, str]]:
        """(protocol, n, cache mode) of every measurement, in order."""
        out = []
        for protocol in self.protocols:
            if protocol not in PROTOCOLS:
                raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")
            if protocol == "paper":
                out += [("paper", n, "paper") for n in sorted(self.paper_sizes)]
            else:
                out += [("tuned", n, mode) for n in sorted(self.sizes) for mode in self.modes]
        return out

    def resolved_isas(self) -> list[str]:
        if self.isas:
            return [api.check_isa(i) for i in self.isas]
        available = api.available_isas()
        chosen = [available[-1]]
        if "avx2" in available and available[-1] != "avx2":
            chosen.insert(0, "avx2")
        return chosen


_VARIANT_WORDS = {"tuned": "this machine's tuned kernels", "default": "the library's default kernels",
                  "all": "this machine's tuned kernels, and every pass variant timed alone"}
MODE_WORDS = {"warm": "input and output reused (cached when they fit)",
               "cold": "input and output rotated out of cache"}


def describe_protocol(config: SweepConfig, protocol: str = "tuned") -> str:
    """What a sweep's measurements under `protocol` ran, in words, for the
    figures and tables that show them (kernels.notebook.measured_on)."""
    if protocol == "paper":
        return (f"the paper's protocol: tuned unroll with plain stores, U(\u2212{PAPER_RANGE:g}, {PAPER_RANGE:g}) "
                "inputs, each input touched before its call, output rotated over buffers that keep it cold")
    if protocol != "tuned":
        raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")
    modes = "; ".join(MODE_WORDS[m] for m in config.modes)
    return (f"this book's protocol: {_VARIANT_WORDS[config.variants]}, "
            f"U(\u2212{TUNED_RANGE:g}, {TUNED_RANGE:g}) inputs, {modes}")


def row_input(n: int, seed: int, spread: float = TUNED_RANGE) -> np.ndarray:
    """The benchmark input: uniform in [-spread, spread) (the paper's protocol:
    1000).  The two-pass and online pass-1 kernels branch on the data (a
    rescale when a lane's exponent or maximum grows); `python -m kernels.bench
    adversarial` times the rows that make them branch most."""
    return np.random.default_rng(seed).uniform(-spread, spread, n).astype(np.float32)


# ----------------------------------------------------------------- checks
#
# Every case's batches are checked against an untimed reference (see
# timing.py for the sentinels): softmax outputs against a float64 softmax of
# the input, kernel outputs against one reference call of the same kernel.

KERNEL_RTOL = 1e-5
"""Relative tolerance of the benchmark checks of kernels.softmax and the plans:
they catch skipped or garbage work; accuracy is measured and tested elsewhere."""
PEER_RTOL = 3e-2
"""The same for peers, whose float sums drift (torch: up to 6e-3 at 2^26 elements)."""
SAMPLED = 4096  # output elements a check compares, evenly spaced, first and last included
IN_PLACE_SENTINEL = 1.0
"""The sentinel of in-place kernels, which read it as input: it must be finite."""


def sample_indices(n: int) -> np.ndarray:
    index = np.arange(0, n, max(1, n // SAMPLED))
    return index if index[-1] == n - 1 else np.append(index, n - 1)


class SoftmaxReference:
    """The float64 softmax of one input, where the checks look at it: the
    sampled elements (edges included) and the sum of the two edges."""

    CHUNK = 1 << 22  # float64 temporaries of at most 32 MiB

    def __init__(self, x: np.ndarray):
        chunks = [x[i : i + self.CHUNK].astype(np.float64) for i in range(0, x.size, self.CHUNK)]
        self.max = max(float(c.max()) for c in chunks)
        self.total = sum(float(np.exp(c - self.max).sum()) for c in chunks)  # sum of e^(x - max)
        self.index = sample_indices(x.size)
        self.values = np.exp(x[self.index].astype(np.float64) - self.max) / self.total
        self.edges = float(self.values[0] + self.values[-1])


_references: dict[tuple, SoftmaxReference] = {}


def softmax_reference(x: np.ndarray) -> SoftmaxReference:
    """The reference of x, computed once per input (the benchmark's buffers are
    copies of one row: they share a fingerprint of size and sampled values)."""
    key = (x.size, x[sample_indices(x.size)].tobytes())
    if key not in _references:
        if len(_references) >= 4:
            _references.pop(next(iter(_references)))
        _references[key] = SoftmaxReference(x)
    return _references[key]


def _edges_close(batch, expected: float, rtol: float) -> None:
    per_call = batch.edge_sum / batch.calls
    # outputs below 1e-30 may be flushed to 0 (the library's contract)
    if not abs(per_call - expected) <= rtol * abs(expected) + 2e-30:
        raise BenchmarkError(f"output[0] + output[-1] average {per_call!r} over {batch.calls} calls, expected "
                             f"{expected!r}: a call skipped its work or wrote garbage")


def softmax_check(rtol: float, sum_tolerance: float):
    """Check of a softmax case: every call's edges, then the last call's
    sampled outputs and its sum."""

    def check(batch):
        ref = softmax_reference(batch.input)
        _edges_close(batch, ref.edges, rtol)
        check_row(np.asarray(batch.output), ref, rtol, sum_tolerance)

    return check


def check_row(got: np.ndarray, ref: SoftmaxReference, rtol: float, sum_tolerance: float, where: str = "") -> None:
    """One output row against its reference: the sampled elements, and the sum."""
    sampled = got[ref.index].astype(np.float64)
    wrong = ~(np.abs(sampled - ref.values) <= rtol * ref.values + 1e-30)
    if wrong.any():
        i = np.argmax(wrong)
        raise BenchmarkError(f"output{where}[{ref.index[i]}] = {sampled[i]!r}, expected {ref.values[i]!r}")
    total = float(np.sum(got, dtype=np.float64))
    if not abs(total - 1.0) <= sum_tolerance:
        raise BenchmarkError(f"softmax output{where} sums to {total}, not 1")


@dataclass
class KernelExpectation:
    """What one call of a deterministic kernel gives (from a reference call):
    its scalar result, its output's edge sum and sampled outputs, each
    None where it has none.  Every call of a batch must agree."""

    value: float | None = None
    edges: float | None = None
    index: np.ndarray | None = None
    sampled: np.ndarray | None = None

    def __call__(self, batch) -> None:
        if self.value is not None and not math.isclose(batch.value_sum, self.value * batch.calls, rel_tol=1e-12):
            raise BenchmarkError(f"scalar results sum to {batch.value_sum!r}, expected {batch.calls} x {self.value!r}")
        if self.edges is not None:
            _edges_close(batch, self.edges, 1e-12)
        if self.sampled is not None and not np.array_equal(batch.output[self.index], self.sampled):
            raise BenchmarkError("kernel output differs from its reference call")


def kernel_expectation(core, task, x: np.ndarray, in_place: bool) -> KernelExpectation:
    """The expectation of a kernel task on input x.  In place, the kernel's
    input edges are the sentinel, so its output edges are known without a
    reference call (vscale: 2 * scale * sentinel); nothing else is fixed,
    as the buffer holds whatever the calls before left there."""
    if in_place:
        return KernelExpectation(edges=2.0 * float(np.float32(task.a) * np.float32(task.sentinel)))
    # The reference call uses a page-aligned output like the timed calls:
    # streaming variants peel to alignment, which regroups their sums.
    y = aligned_empty(x.size)
    y.fill(0.0)
    _, value, edges = core.time_batch(task, [x], [y], x.size, 1)
    index = sample_indices(x.size)
    if not task.writes:
        return KernelExpectation(value=value)
    return KernelExpectation(value=value if value != 0.0 else None, edges=edges, index=index, sampled=y[index].copy())


# ------------------------------------------------------------------ cases


def _scalars(family: str, x: np.ndarray) -> tuple[float, float]:
    """Realistic scalar arguments (a, b) of a pass kernel for input x."""
    ref = softmax_reference(x)
    mx, total = ref.max, ref.total
    if family in ("raddexpminusmax", "raddexpminusmax_x2", "raddstoreexpminusmax"):
        return mx, 0.0
    if family == "vscaleexpminusmax":
        return mx, 1.0 / total
    if family == "vscaleextexp":
        e = float(np.round(mx * 1.4426950408889634))
        return float(1.0 / (total * np.exp(mx - e * np.log(2.0)))), -e
    if family == "vscale":
        # -1 changes the data (so each in-place call visibly transforms the
        # sentinel) and keeps it bounded over any number of in-place calls.
        return -1.0, 0.0
    if family == "vfill":
        return 0.5, 0.0
    return 0.0, 0.0


def kernel_case(variant: registry.Variant, x: np.ndarray, label: str, group: str, in_place=False, threads: int = 1,
                **meta) -> Case:
    core = build.load()
    api.check_isa(variant.isa)
    a, b = _scalars(variant.family, x)
    task = core.Task(variant.name, a=a, b=b, sentinel=IN_PLACE_SENTINEL if in_place else math.nan, threads=threads)
    check = kernel_expectation(core, task, x, in_place)
    meta = {"family": variant.family, "isa": variant.isa, "variant": variant.name,
            "streaming": variant.family if variant.streaming else "", "threads": str(threads), **meta}
    return Case(label, group, c_runner(task, core), check, in_place=in_place, meta=meta)


def algorithm_case(plan: api.Plan, label: str) -> Case:
    core = build.load()
    task = core.Task(plan.algorithm, plan=plan._plan, rows=1)
    streaming = sorted(v.family for v in plan.passes if v.streaming)
    meta = {"algorithm": plan.algorithm, "isa": plan.isa, "variant": "+".join(v.name for v in plan.passes),
            "streaming": ",".join(streaming)}
    return Case(label, "algorithm", c_runner(task, core), softmax_check(KERNEL_RTOL, 1e-4), meta=meta)


ALLOCATING_SUFFIX = " (allocating)"


def api_label(algorithm: str, isa: str, allocating: bool = False) -> str:
    """kernels.softmax called from Python: with out= (the default) or allocating its output."""
    return f"{algorithm} [{isa}] via kernels.softmax" + (ALLOCATING_SUFFIX if allocating else "")


def peer_label(name: str, form: str = peer_module.OUT) -> str:
    """A peer's case: 'peer: torch' writes into out=, 'peer: torch (allocating)' allocates."""
    return f"peer: {name}" + (ALLOCATING_SUFFIX if form == peer_module.ALLOCATING else "")


def api_partner(peer_case_label: str, algorithm: str, isa: str) -> str:
    """The kernels.softmax case to compare a peer case with: same output handling."""
    return api_label(algorithm, isa, allocating=peer_case_label.endswith(ALLOCATING_SUFFIX))


def api_case(algorithm: str, isa: str, allocating: bool = False, plain_stores_at: int | None = None) -> Case:
    """An algorithm timed through kernels.softmax from Python, like the peers:
    the fair comparison with them, Python call overhead included.
    plain_stores_at=n (the paper's protocol): the plan softmax runs at n with
    its streaming variants replaced by their plain-store twins, called from
    Python the same way (a kernels.Plan)."""
    run = functools.partial(api.softmax, algorithm=algorithm, isa=isa)
    variant = "kernels.softmax"
    if plain_stores_at is not None:
        chosen = api.plan_for(algorithm, isa, plain_stores_at)
        run = api.Plan(algorithm, isa, {v.family: plain_twin(v) for v in chosen.passes}, threads=chosen.threads)
        variant = "kernels.softmax's plan, plain stores: " + "+".join(v.name for v in run.passes)
    if allocating:
        def call(x):
            return run(x)
    else:
        def call(x, y):
            return run(x, out=y)

    form = peer_module.ALLOCATING if allocating else peer_module.OUT
    meta = {"algorithm": algorithm, "isa": isa, "variant": variant, "output": form}
    return Case(api_label(algorithm, isa, allocating), "api", python_runner(call, into=not allocating),
                softmax_check(KERNEL_RTOL, 1e-4), meta=meta)


def peer_cases(peer: peer_module.Peer) -> list[Case]:
    """One case per form of the peer (into a preallocated output, allocating)."""
    cases = []
    for form, fn in peer.forms().items():
        run = python_runner(fn, into=form == peer_module.OUT, prepare=peer.prepare, to_numpy=peer.to_numpy,
                            enter=peer.enter)
        meta = {"algorithm": peer.name, "isa": "", "variant": peer.name, "output": form,
                "threads": "" if peer.threads is None else str(peer.threads)}
        cases.append(Case(peer_label(peer.name, form), "peer", run, softmax_check(PEER_RTOL, 1e-2), meta=meta))
    return cases


def plans_for(config: SweepConfig, isa: str, n: int, plain_stores: bool = False) -> dict[str, api.Plan]:
    """The plan of each algorithm at size n, on one thread: this machine's
    tuned choice for n's size class, or the registry defaults; plain_stores:
    streaming variants replaced by their plain-store twins."""
    plans = {
        algorithm: api.tuned_plan(algorithm, isa, n) if config.variants != "default"
        else api.Plan(algorithm, isa, threads=1)  # one thread, like the passes and the one-thread roofs
        for algorithm in config.algorithms
    }
    if plain_stores:
        plans = {a: api.Plan(a, isa, {v.family: plain_twin(v) for v in p.passes}, threads=1) for a, p in plans.items()}
    return plans


def plain_twin(variant: registry.Variant) -> registry.Variant:
    """The variant with plain stores instead of streaming ones (itself if it has no streaming stores)."""
    if not variant.streaming:
        return variant
    return registry.plain_variant(variant) or registry.default_variant(variant.family, variant.isa)


def cases_at(config: SweepConfig, x: np.ndarray, plain_stores: bool = False) -> list[Case]:
    cases = []
    isas = config.resolved_isas()
    for isa in isas:
        plans = plans_for(config, isa, x.size, plain_stores)
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
        cases.extend(bandwidth_cases(x, isas[-1], roof_threads()))
        sequences = {(c.meta["algorithm"], c.meta["streaming"]) for c in cases if c.group == "algorithm"}
        cases += [sequence_case(a, {f for f in streaming.split(",") if f}, x, isas[-1], shapes)
                  for a, streaming in sorted(sequences) for shapes in SEQUENCE_SHAPES]
    if config.peers:
        for peer in peer_module.peers(config.threads).values():
            cases += peer_cases(peer)
        plain_at = x.size if plain_stores else None
        cases += [api_case(a, isa, allocating, plain_at) for isa in isas for a in config.algorithms
                  for allocating in (False, True)]
    return cases


def bandwidth_cases(x: np.ndarray, isa: str, threads: int = 1, kernels=None) -> list[Case]:
    """The bandwidth kernels' cases (`kernels`, else all of `bandwidth_kernels`)."""
    out = []
    for k in kernels or bandwidth_kernels(isa, threads):
        out.append(kernel_case(k.variant, x, k.label, "bandwidth", in_place=k.in_place, threads=k.threads,
                               kernel=k.name, pattern=k.pattern))
    return out


# -------------------------------------------------------------------- run

def measure_bandwidth(report: dict, reps: int = 5, seed: int = 0, n: int = MACHINE_BANDWIDTH_N) -> dict:
    """The machine's bandwidth far out of cache: each pattern's roof on one
    thread and on all threads (the best kernel of the pattern's shapes with
    8 vectors per iteration), and whether plain stores pay a read for
    ownership (plain against streaming fill and copy, one thread)."""
    del report  # the size no longer follows the cache: see MACHINE_BANDWIDTH_N
    x = row_input(n, seed)
    buffers = Buffers(x, "warm", None)
    isa = api.available_isas()[-1]
    threads = roof_threads()
    chosen = [k for k in bandwidth_kernels(isa, threads) if k.variant.isa == isa and k.variant.unroll ==
              8 * registry.VECTOR_LANES[isa]]
    samples = pd.DataFrame(measure(bandwidth_cases(x, isa, kernels=chosen), buffers, reps, 0,
                                   np.random.default_rng(seed)))
    best = samples.groupby("kernel")["ns_per_call"].min() / n
    write_allocate_found = traffic.rfo_finding({
        label: float(best[next(k.name for k in chosen if k.pattern == pattern and k.threads == 1
                               and k.variant.family == family)])
        for label, pattern, family in (("fill", traffic.WRITE, "vfill"),
                                       ("fill (streaming)", traffic.WRITE_STREAMING, "vfill"),
                                       ("copy", traffic.READ_WRITE, "vcopy"),
                                       ("copy (streaming)", traffic.READ_WRITE_STREAMING, "vcopy"))})
    wa = write_allocate_found["plain_stores_rfo"]
    kernels = {k.name: {"pattern": k.pattern, "threads": k.threads, "ns_per_element": float(best[k.name]),
                        "gb_per_s": traffic.pattern_bytes(k.pattern, wa) / float(best[k.name])} for k in chosen}
    roofs = []
    for t in sorted({k.threads for k in chosen}):
        for pattern in traffic.ROOF_PATTERNS:
            bounding = traffic.bounding_patterns(pattern, wa)
            name = min((k for k in kernels if kernels[k]["pattern"] in bounding and kernels[k]["threads"] == t),
                       key=lambda k: kernels[k]["ns_per_element"])
            ns = kernels[name]["ns_per_element"]
            roofs.append({"pattern": pattern, "threads": t, "kernel": name, "ns_per_element": ns,
                          "gb_per_s": traffic.pattern_bytes(pattern, wa) / ns})
    return {
        "n": n,
        "size_label": f"{4 * n / 2**20:.0f} MiB per array",
        "kernels": kernels,
        "roofs": roofs,
        "rfo": write_allocate_found,
        "counting": "bytes per element include the read for ownership of plain stores where this CPU pays it",
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

    def with_protocol_of(self, other: Run) -> Run:
        """This run and another of the same machine under another protocol, as
        one run: its samples after this one's, its config naming both protocols
        (each with its own sizes).  Accuracy and memory stay this run's."""
        if other.machine.get("id") != self.machine.get("id"):
            raise ValueError("runs of different machines cannot be combined")
        mine, theirs = self.config.protocols, other.config.protocols
        if set(mine) & set(theirs):
            raise ValueError(f"both runs measured the protocol(s) {sorted(set(mine) & set(theirs))}")
        paper = other.config if "paper" in theirs else self.config
        config = dataclasses.replace(self.config, protocols=mine + theirs, paper_sizes=paper.paper_sizes,
                                     paper_reps=paper.reps_of("paper"))
        samples = pd.concat([self.samples, other.samples], ignore_index=True)
        return Run(config, self.machine, samples, self.accuracy, self.memory)


def run_sweep(config: SweepConfig, progress: bool = True, log=print, machine_report: dict | None = None) -> Run:
    """machine_report: the report (bandwidth included) of an earlier run in this
    process, reused instead of measuring the machine's bandwidth again."""
    if machine_report is not None:
        report = dict(machine_report)
    else:
        report = machine.report()
        log(f"machine: {report['cpu']['model']} ({report['id']}); measuring bandwidth ...")
        report["bandwidth"] = measure_bandwidth(report, seed=config.seed, n=config.bandwidth_n)
    if config.peers:
        report["peers"] = [peer.describe() for peer in peer_module.peers(config.threads).values()]
    llc = machine.last_level_cache(report)
    measurements = config.measurements()
    bar = _progress(sum(config.reps_of(protocol) for protocol, _, _ in measurements), progress)
    samples = []
    rng = np.random.default_rng(config.seed)
    for protocol, n, mode in measurements:
        paper = protocol == "paper"
        x = row_input(n, config.seed, PAPER_RANGE if paper else TUNED_RANGE)
        buffers = Buffers(x, mode, llc)
        cases = cases_at(config, buffers.x, plain_stores=paper)
        bar.set_description(f"n={n} {mode}")
        rows = measure(cases, buffers, config.reps_of(protocol), config.target_ms * 1e6, rng, progress=bar)
        for row in rows:
            row.update(n=n, mode=mode, protocol=protocol, buffers=buffers.describe())
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
