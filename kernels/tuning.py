"""Per-machine choices, stored per CPU (the same fingerprint that keys the
compiled kernels) in the kernel cache folder:

* variants (``tuned/<cpu>.json``, written by `save`): which variant each
  pass uses, per ISA, algorithm and size class, and which exponential each
  exponential pass uses under each looser contract (`contract_exp`).
  `python -m kernels.bench tune` measures them; `kernels.softmax` reads
  them.  Without a stored choice the registry's defaults apply.
* dispatch (``tuned/<cpu>.dispatch.json``, written by `save_dispatch`): the
  thread policy (`thread_policy`) and the decision map that
  ``algorithm="auto"`` follows (`choose_algorithm`); `python -m kernels.bench
  tune` measures both (`kernels.bench.tune_dispatch`).  Without stored data the
  documented defaults below apply.  The format::

    {"meta": {...},
     "threads": {"<isa>": {"min_elements_per_thread": 32768, "min_split_chunk": 16384}},
     "decisions": {"<isa>": {"<layout>": {"<threads>": {
         "n": [128, 1024, ...],            # row lengths of the grid, ascending
         "rows": [1, 16, ...],             # row counts (columns for "columns"), ascending
         "algorithm": [["two-pass", null, ...], ...],  # [i][j]: for n[i], rows[j]; null: not measured
         "margin": [[1.31, null, ...], ...],           # optional: runner-up time / fastest time
         "tie": [[false, null, ...], ...]}}}}}          # optional: fastest and runner-up within noise

  "log_softmax_decisions" (optional) has the format of "decisions": the map
  of ``log_softmax(algorithm="auto")``, whose algorithms are
  registry.LOG_SOFTMAX_ALGORITHMS.

  layout is "rows" (softmax along the last axis) or "columns" (along a
  non-last axis: rows counts the columns, outer * inner).  A call looks up the
  largest stored thread count <= the threads it runs on whose grid holds a
  measured point (the smallest such count when none is <=), then the
  *nearest* measured grid point in log space: the
  (n[i], rows[j]) with a non-null algorithm that minimises
  (log2 n - log2 n[i])^2 + (log2 rows - log2 rows[j])^2 (sizes below 1 count
  as 1; on equal distance the smaller n, then the fewer rows).  A file that
  cannot be read as this format is ignored with a RuntimeWarning that names
  it (the defaults apply; `tune` rewrites it).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from . import build, machine, registry

SIZE_CLASSES = ("in-l2", "in-llc", "out-of-cache")
"""Row lengths tuned apart: rows whose input and output fit in half of one
core's L2, those that fit in half of the last-level cache, and longer ones.
In L2 the passes are bound by arithmetic, so the cheaper exponentials pay
most there; from the last-level cache they wait on it more."""
IN_CACHE_CLASSES = SIZE_CLASSES[:2]
_OLD_IN_CACHE_CLASS = "in-cache"
"""The one class that files stored before the split used for both."""


def _cpu_digest() -> str:
    return hashlib.sha256(build.cpu_fingerprint().encode()).hexdigest()[:16]


def choices_path() -> Path:
    return build.cache_root() / "tuned" / f"{_cpu_digest()}.json"


def dispatch_path() -> Path:
    return build.cache_root() / "tuned" / f"{_cpu_digest()}.dispatch.json"


@functools.cache
def _stored() -> dict:
    path = choices_path()
    if not path.exists():
        return {}
    return json.loads(path.read_text())


_FORGET_HOOKS = []


def on_forget(hook) -> None:
    """Calls hook() whenever the stored choices are forgotten: kernels.api
    registers its plan cache here (this module stays below kernels.api)."""
    _FORGET_HOOKS.append(hook)


def forget_cached_choices() -> None:
    """Re-read the stored choices on next use (after `tune` wrote new ones)."""
    _stored.cache_clear()
    _stored_dispatch.cache_clear()
    _caches.cache_clear()
    _llc_bytes.cache_clear()
    _l2_bytes.cache_clear()
    in_cache_row_limit.cache_clear()
    for hook in _FORGET_HOOKS:
        hook()


CONTRACT_KEYS = {"softmax": "contract_exps", "log_softmax": "log_contract_exps"}
"""Where the looser contracts' exponentials of each operation are stored."""


def save(choices: dict, meta: dict, contract_exps: dict | None = None) -> Path:
    """Stores the variants ({isa: {algorithm: {size class: {family: variant}}}})
    and the looser contracts' exponentials per operation ({operation: {isa:
    {"<rtol>": {family: exp}}}}, stored under CONTRACT_KEYS)."""
    path = choices_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    stored = {"meta": meta, "choices": choices}
    stored.update({key: (contract_exps or {}).get(operation, {}) for operation, key in CONTRACT_KEYS.items()})
    path.write_text(json.dumps(stored, indent=2))
    forget_cached_choices()
    return path


def stored_variants(algorithm: str, isa: str, size_class: str) -> dict[str, str] | None:
    """{family: variant name} stored for this machine, or None (an in-cache
    class of a file stored before the split reads its one in-cache choice)."""
    per_class = _stored().get("choices", {}).get(isa, {}).get(algorithm, {})
    if size_class in IN_CACHE_CLASSES and size_class not in per_class:
        return per_class.get(_OLD_IN_CACHE_CLASS)
    return per_class.get(size_class)


def contract_exp(family: str, isa: str, rtol: float, operation: str = "softmax") -> str | None:
    """The exponential the tuner chose for an exponential pass family of the
    operation under a looser contract rtol on this machine, or None; only one
    that may keep rtol there (registry.exps_keeping, log_exps_keeping)
    counts, so no stored file breaks a contract."""
    exp = _stored().get(CONTRACT_KEYS[operation], {}).get(isa, {}).get(f"{rtol:g}", {}).get(family)
    keeping = registry.exps_keeping if operation == "softmax" else registry.log_exps_keeping
    return exp if exp in keeping(family, rtol) else None


@functools.cache
def _caches() -> list[dict]:
    return machine.caches()


@functools.cache
def _llc_bytes() -> int:
    return machine.last_level_cache(_caches()) or 32 << 20


@functools.cache
def in_cache_row_limit() -> int:
    """The longest row whose input and output fit in half the last-level cache."""
    return _llc_bytes() // 16


def in_l2_row_limit() -> int:
    """The longest row whose input and output fit in half of one core's L2."""
    return _l2_bytes() // 16


def size_class(n: int) -> str:
    """n's class of SIZE_CLASSES."""
    if n <= in_l2_row_limit():
        return "in-l2"
    return "in-llc" if n <= in_cache_row_limit() else "out-of-cache"


def variants_for(algorithm: str, isa: str, n: int | None = None) -> dict[str, registry.Variant]:
    """Tuned variants when stored (for n's size class; out-of-cache when n is None)."""
    stored = stored_variants(algorithm, isa, size_class(n) if n is not None else "out-of-cache")
    if not stored:
        return {}
    return {family: registry.lookup(name) for family, name in stored.items() if name in registry.BY_NAME}


# ----------------------------------------------------------------- dispatch


@functools.cache
def _stored_dispatch() -> dict:
    path = dispatch_path()
    if not path.exists():
        return {}
    try:
        stored = json.loads(path.read_text())
        _check_dispatch(stored)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        warnings.warn(f"ignoring the unreadable dispatch file {path} ({error}); the documented defaults "
                      "apply until `python -m kernels.bench tune` rewrites it", RuntimeWarning, stacklevel=2)
        return {}
    return stored


def _check_dispatch(stored) -> None:
    """Raises ValueError unless stored follows the format above."""
    if not isinstance(stored, dict):
        raise ValueError("not a JSON object")
    for isa, policy in stored.get("threads", {}).items():
        ThreadPolicy(**policy)
    for operation, key in DECISION_KEYS.items():
        for isa, layouts in stored.get(key, {}).items():
            for layout, by_threads in layouts.items():
                for threads, grid in by_threads.items():
                    int(threads)
                    _check_grid(grid, operation, f"{key}/{isa}/{layout}/{threads}")


def _check_grid(grid: dict, operation: str, where: str) -> None:
    if not all(type(size) is int for size in grid["n"] + grid["rows"]):
        raise ValueError(f"{where}: the grid sizes are not all integers")
    cells = grid["algorithm"]
    if len(cells) != len(grid["n"]) or any(len(row) != len(grid["rows"]) for row in cells):
        raise ValueError(f"{where}: the algorithm grid is not n x rows")
    unknown = {a for row in cells for a in row if a is not None and a not in candidates(operation)}
    if unknown:
        raise ValueError(f"{where}: unknown algorithms {sorted(unknown)}")


def save_dispatch(decisions: dict, threads: dict, meta: dict, log_softmax_decisions: dict | None = None) -> Path:
    """Stores the decision maps and thread policies (the format above)."""
    path = dispatch_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    stored = {"meta": meta, "threads": threads, DECISION_KEYS["softmax"]: decisions}
    if log_softmax_decisions:
        stored[DECISION_KEYS["log_softmax"]] = log_softmax_decisions
    path.write_text(json.dumps(stored, indent=2))
    forget_cached_choices()
    return path


@dataclass(frozen=True)
class ThreadPolicy:
    """When a call uses more than one thread (enforced by the C driver).

    min_elements_per_thread: a call on T elements runs on at most
        T // min_elements_per_thread threads (0: no minimum), so that small
        work never pays for waking threads.
    min_split_chunk: one row is split across threads only into chunks of at
        least this many elements (rows fewer than threads, or too few to
        share evenly; see softmax_schedule in csrc/driver.c).
    """

    min_elements_per_thread: int
    min_split_chunk: int

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULT_THREAD_POLICY = ThreadPolicy(min_elements_per_thread=32768, min_split_chunk=16384)
"""The policy without a stored one.  Measured on the 2-core Ice Lake build
machine (README, "Threads, axes and auto"): one OpenMP fork/join costs about
as much as 4K-16K elements of softmax work in cache, so below 32K elements
per thread a second thread gains too little to be worth the noise it adds.
`python -m kernels.bench tune` measures this machine's (`thread_policy`)."""


def thread_policy(isa: str) -> ThreadPolicy:
    """The stored thread policy for this machine and ISA (measured by `tune`:
    where 2 threads beat 1 clearly, see `kernels.bench.tune_dispatch`), else
    DEFAULT_THREAD_POLICY."""
    stored = _stored_dispatch().get("threads", {}).get(isa)
    return ThreadPolicy(**stored) if stored else DEFAULT_THREAD_POLICY


def _log2(size: int) -> float:
    return math.log2(max(size, 1))


def nearest_point(grid: dict, n: int, rows: int) -> tuple[int, int] | None:
    """(i, j) of the measured point of `grid` nearest (n, rows) in log space
    (the rule at the top of this module), or None when none is measured."""
    best = None
    for i, grid_n in enumerate(grid["n"]):
        for j, grid_rows in enumerate(grid["rows"]):
            if grid["algorithm"][i][j] is None:
                continue
            distance = (_log2(n) - _log2(grid_n)) ** 2 + (_log2(rows) - _log2(grid_rows)) ** 2
            if best is None or distance < best[0]:
                best = distance, i, j
    return best[1:] if best else None


DECISION_KEYS = {"softmax": "decisions", "log_softmax": "log_softmax_decisions"}
"""Where each operation's decision map is stored (the format above)."""


def candidates(operation: str) -> tuple[str, ...]:
    """The algorithms an operation's "auto" chooses from."""
    if operation not in DECISION_KEYS:
        raise ValueError(f"unknown operation {operation!r}; choose one of {', '.join(map(repr, DECISION_KEYS))}")
    return registry.ALGORITHMS if operation == "softmax" else registry.LOG_SOFTMAX_ALGORITHMS


def stored_grid(isa: str, layout: str, threads: int, operation: str = "softmax") -> dict | None:
    """The stored decision grid for calls on `threads` threads, or None."""
    by_threads = _stored_dispatch().get(DECISION_KEYS[operation], {}).get(isa, {}).get(layout)
    if not by_threads:
        return None
    measured = [int(t) for t, grid in by_threads.items() if any(a for row in grid["algorithm"] for a in row)]
    fitting = [t for t in sorted(measured) if t <= threads] or sorted(measured)[:1]
    return by_threads[str(fitting[-1])] if fitting else None


def stored_algorithm(isa: str, layout: str, n: int, rows: int, threads: int, operation: str = "softmax"
                     ) -> str | None:
    """The algorithm the operation's stored decision map gives, or None."""
    grid = stored_grid(isa, layout, threads, operation)
    point = nearest_point(grid, n, rows) if grid else None
    return grid["algorithm"][point[0]][point[1]] if point else None


TWO_PASS_IN_CACHE_MIN_N = 4096
"""Below this row length three-pass reloading wins even in cache (measured)."""


def default_algorithm(isa: str, layout: str, n: int, rows: int, threads: int) -> str:
    """The untuned choice of "auto", from `python -m kernels.bench.threads_probe
    crossover` on the 2-core Ice Lake build machine (README, "Which algorithm"):

    * a row whose input and output exceed half of one core's L2: two-pass
      (three-pass's extra passes go to memory; two-pass wins by up to 1.2x);
    * a batch whose input and output fit in half of the last-level cache and
      rows of at least TWO_PASS_IN_CACHE_MIN_N: two-pass (bound by arithmetic,
      where it does less);
    * otherwise three-pass with reloading (a batch streaming from memory whose
      rows fit in L2: passes 2 and 3 re-read the row from L2; by 4-19%, and
      1.1-1.45x at n = 128);
    * columns (a non-last axis): two-pass, the one column form measured.
    The crossovers did not move between 1 and 2 threads there."""
    del isa, threads
    if layout == "columns":
        return "two-pass"
    if n > in_l2_row_limit():
        return "two-pass"
    if 8 * n * rows <= _llc_bytes() // 2 and n >= TWO_PASS_IN_CACHE_MIN_N:
        return "two-pass"
    return "three-pass-reload"


def default_log_softmax_algorithm(isa: str, layout: str, n: int, rows: int, threads: int) -> str:
    """The untuned choice of log_softmax's "auto": two-pass everywhere.

    Every log_softmax algorithm computes one exponential per element, so
    softmax's reasons for three-pass (reloading stored exponentials) do not
    apply, and two-pass reads x twice where three-pass reads it three times.
    Measured with `python -m kernels.bench tune --dispatch-only --dry-run` on
    a 2-core Zen 3 (AVX2) VM: on both layouts and thread counts two-pass was
    the fastest, or within noise of it, at every grid point but the shortest
    rows in the largest batches (n = 128, 4096 rows or columns, one thread:
    three-pass by 1.06-1.08)."""
    del isa, layout, n, rows, threads
    return "two-pass"


DEFAULT_RULES = {"softmax": default_algorithm, "log_softmax": default_log_softmax_algorithm}


def choose_algorithm(isa: str, layout: str, n: int, rows: int, threads: int, operation: str = "softmax") -> str:
    """What algorithm="auto" of the operation (softmax or log_softmax) runs
    for `rows` rows (layout "rows") or columns ("columns") of n elements on
    `threads` threads: the operation's stored decision map's choice at the
    nearest measured point (the rule at the top of this module), else its
    default rule (`DEFAULT_RULES`)."""
    return (stored_algorithm(isa, layout, n, rows, threads, operation)
            or DEFAULT_RULES[operation](isa, layout, n, rows, threads))


@functools.cache
def _l2_bytes() -> int:
    return machine.cache_size(_caches(), 2) or 512 << 10
