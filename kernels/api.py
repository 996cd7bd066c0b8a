"""The public softmax API: validation, ISA dispatch, threads and plans.

``softmax(x, *, axis=-1, algorithm="auto", isa=None, threads=None, out=None)``
computes a float32 softmax along any axis of an array of any shape. The ISA
is the best this CPU supports unless the ``isa`` argument or the
``SOFTMAX_ISA`` environment variable (read at the first call) names one;
naming an ISA the CPU lacks raises :class:`UnsupportedISAError` instead of
crashing with SIGILL. ``threads=None`` uses every core this process may run on
(``os.sched_getaffinity``) unless ``SOFTMAX_THREADS`` (read at the first call)
says otherwise; small work runs on fewer threads (`kernels.tuning`).
``algorithm="auto"`` follows the decision map `python -m kernels.bench tune`
measured on this machine.  README, "Threads, axes and auto" and "Which
algorithm", says how each is decided and what it costs.

A call with the shape and arguments of an earlier one is matched and run in
C (`_core.remembered_call`); any other goes through the checks here first.
"""

from __future__ import annotations

import functools
import operator
import os

import numpy as np

from . import build, contracts, registry, tuning

ISA_ENV = "SOFTMAX_ISA"
THREADS_ENV = "SOFTMAX_THREADS"
AUTO = "auto"
_FLOAT32 = np.dtype(np.float32)


class UnsupportedISAError(ValueError):
    """The requested ISA is unknown or this CPU cannot run it."""


@functools.cache
def available_isas() -> tuple[str, ...]:
    """ISAs this CPU can run, from the most portable to the widest."""
    core = build.load()
    return tuple(isa for isa in build.compiled_isas() if core.cpu_supports(isa))


def check_isa(isa: str) -> str:
    """Returns isa if this CPU can run it; raises UnsupportedISAError otherwise."""
    if isa not in registry.ISAS:
        raise UnsupportedISAError(f"unknown ISA {isa!r}; known: {', '.join(registry.ISAS)}")
    if isa not in available_isas():
        raise UnsupportedISAError(
            f"this CPU cannot run {isa!r} kernels; available: {', '.join(available_isas())}"
        )
    return isa


@functools.cache
def _isa_from_environment() -> str | None:
    """$SOFTMAX_ISA, read once (os.environ costs microseconds per lookup);
    forget_plans() reads it again."""
    return os.environ.get(ISA_ENV) or None


def resolve_isa(isa: str | None = None) -> str:
    """The ISA a call will use: the argument, else $SOFTMAX_ISA, else the widest available."""
    if isa is None:
        isa = _isa_from_environment()
    if isa is None:
        return available_isas()[-1]
    return check_isa(isa)


def check_algorithm(algorithm: str) -> str:
    if algorithm not in registry.ALGORITHMS:
        raise ValueError(
            f"unknown algorithm {algorithm!r}; choose one of {AUTO!r}, {', '.join(map(repr, registry.ALGORITHMS))}"
        )
    return algorithm


# ------------------------------------------------------------------ threads


def max_threads() -> int:
    """The most threads one call can use: 1 when the kernels were built
    without OpenMP (see `kernels.build.openmp_unavailable`)."""
    core = build.load()
    return core.MAX_THREADS if core.openmp() else 1


def _positive_int(value, name: str) -> int:
    """value as an int >= 1 (Python or numpy integers; not bools, floats or strings)."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name} must be a positive integer or None, not {type(value).__name__} {value!r}")
    number = operator.index(value)
    if number < 1:
        raise ValueError(f"{name} must be a positive integer or None, not {number}")
    return number


@functools.cache
def _threads_from_environment() -> int:
    """$SOFTMAX_THREADS, else every core this process may run on; read once
    (forget_plans() reads it again).  Garbage raises at the first call."""
    text = os.environ.get(THREADS_ENV, "").strip()
    if text:
        try:
            return _positive_int(int(text), THREADS_ENV)
        except (TypeError, ValueError):
            raise ValueError(f"{THREADS_ENV} must be a positive integer, not {text!r}") from None
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def check_threads(threads) -> int:
    """The thread count a `threads` argument asks for: None is every core this
    process may use (or $SOFTMAX_THREADS); otherwise a positive integer."""
    if threads is None:
        return _threads_from_environment()
    return _positive_int(threads, "threads")


def default_threads() -> int:
    """What threads=None means here and now."""
    return check_threads(None)


# --------------------------------------------------------------------- axes


def check_axis(axis, ndim: int) -> int:
    """axis as a non-negative index into ndim dimensions (negative counts from the end)."""
    index = _integer_axis(axis)
    if not -ndim <= index < ndim:
        raise ValueError(f"axis {index} is out of bounds for an array of {ndim} dimension{'s' * (ndim != 1)}")
    return index % ndim


def _integer_axis(axis) -> int:
    """axis as an int (bounds are checked against each input)."""
    if type(axis) is int:
        return axis
    if isinstance(axis, bool) or not hasattr(axis, "__index__"):
        raise TypeError(f"axis must be an integer, not {type(axis).__name__} {axis!r}")
    return operator.index(axis)


def split_shape(shape: tuple[int, ...], axis: int) -> tuple[int, int, int]:
    """(outer, n, inner): the sizes before, along and after a non-negative axis."""
    return int(np.prod(shape[:axis])), shape[axis], int(np.prod(shape[axis + 1 :]))


# -------------------------------------------------------------------- plans


class Plan:
    """An algorithm bound to one kernel variant per pass (and guarded path),
    a thread count and an axis: ``Plan(...)(x, out=None)`` is
    ``softmax(x, axis=..., algorithm=..., isa=..., threads=..., out=out)``
    with those kernels.

    ``variants`` maps a family to a variant (or its name) to override the
    registry's default for that family; all must belong to the plan's ISA.
    ``algorithm="auto"`` picks the algorithm (and this machine's tuned
    variants) per call shape, as `softmax` does; `algorithm_for` tells which.
    ``threads`` is resolved when the plan is made (None: every core this
    process may use, or $SOFTMAX_THREADS).  ``policy`` (a
    `kernels.tuning.ThreadPolicy`) overrides when fewer threads run, e.g.
    ``ThreadPolicy(0, 0)`` to use all of them on any size (for measuring).

    ``rtol`` is the accuracy contract (see `softmax`): under a looser one its
    passes default to the exponentials the tuner chose for it on this
    machine, else those `kernels.registry.CONTRACT_EXPS` names; explicit
    ``variants`` override that as they override the defaults.
    """

    def __init__(self, algorithm: str = AUTO, isa: str | None = None, variants=None, *, threads=None, axis=-1,
                 policy: tuning.ThreadPolicy | None = None, rtol: float = contracts.DEFAULT_RTOL):
        self.isa = resolve_isa(isa)
        self.threads = check_threads(threads)
        self.axis = _integer_axis(axis)
        self.algorithm = algorithm
        self.rtol = contracts.check_rtol(rtol)
        self.variants: dict[str, registry.Variant] = {}
        self._plan = None
        self._last = self  # the plan that ran the last call (auto: the one it picked)
        if algorithm == AUTO:
            if variants or policy:
                raise ValueError("variants and policy need an explicit algorithm, not 'auto'")
            return
        check_algorithm(algorithm)
        self.variants = _chosen_variants(algorithm, self.isa, variants, self.rtol)
        policy = policy or tuning.thread_policy(self.isa)
        kernels = {f: v.name for f, v in self.variants.items()}
        for family in registry.ALGORITHM_COLUMN_PASSES[algorithm]:
            kernels[family] = registry.column_kernel_name(family, self.isa)
        self._plan = build.load().Plan(algorithm, kernels, min(self.threads, max_threads()),
                                       policy.min_elements_per_thread, policy.min_split_chunk)
        self._call_fast = self._plan.call_fast

    @property
    def passes(self) -> list[registry.Variant]:
        """The variants of the algorithm's passes, in order (none for "auto")."""
        if self._plan is None:
            return []
        return [self.variants[f] for f in registry.ALGORITHM_PASSES[self.algorithm]]

    def __call__(self, x, out=None) -> np.ndarray:
        if self._plan is None:
            plan, dim = resolve(x, self.axis, AUTO, self.isa, self.threads, self.rtol)
            self._last = plan
            return plan._run(x, out, dim)
        if type(x) is np.ndarray and x.ndim:
            dim = x.ndim - 1 if self.axis == -1 else check_axis(self.axis, x.ndim)
        else:
            dim = self.axis  # the C fast path declines; the general path checks x
        return self._run(x, out, dim)

    def _run(self, x, out, axis: int) -> np.ndarray:
        y = self._call_fast(x, out, axis)  # the common case, checked in C
        return y if y is not None else self._call_general(x, out, axis)

    def _call_general(self, x, out, axis: int) -> np.ndarray:
        """Any input: full checks with clear errors, copies where needed."""
        x, out = _prepare(x, out)
        outer, n, inner = split_shape(x.shape, check_axis(axis, x.ndim))
        self._plan.run(x.reshape(-1), out.reshape(-1), outer, n, inner)
        return out

    def algorithm_for(self, shape) -> str:
        """The algorithm this plan runs on an array of that shape."""
        if self._plan is not None:
            return self.algorithm
        return resolve(_Shape(shape), self.axis, AUTO, self.isa, self.threads, self.rtol)[0].algorithm

    def schedule(self, shape, axis=None) -> tuple[int, str]:
        """(threads, mode) a call on that shape (along `axis`, default the
        plan's) runs with; mode is "one thread", "spread rows", "split rows"
        or "spread columns"."""
        axis = self.axis if axis is None else axis
        if self._plan is None:
            return resolve(_Shape(shape), axis, AUTO, self.isa, self.threads, self.rtol)[0].schedule(shape, axis)
        outer, n, inner = split_shape(tuple(shape), check_axis(axis, len(shape)))
        return self._plan.schedule(outer, n, inner)

    @property
    def last_guarded_rows(self) -> int:
        """Rows (columns, for a non-last axis) of the last call that took the
        driver's guarded path (non-finite input; for two-pass also |x|
        beyond ExtExp's range)."""
        return self._last._plan.last_guarded_rows if self._last._plan is not None else 0

    def __repr__(self) -> str:
        contract = f", rtol={self.rtol:g}" if self.rtol != contracts.DEFAULT_RTOL else ""
        if self._plan is None:
            return f"Plan('auto', isa={self.isa!r}, threads={self.threads}, axis={self.axis}{contract})"
        names = ", ".join(v.name for v in self.passes)
        return (f"Plan({self.algorithm!r}, isa={self.isa!r}, threads={self.threads}, axis={self.axis}{contract}: "
                f"{names})")


def _chosen_variants(algorithm: str, isa: str, variants, rtol: float = contracts.DEFAULT_RTOL
                     ) -> dict[str, registry.Variant]:
    """The registry defaults for the algorithm's families (its passes with the
    contract's exponential; the guarded path, which rare rows take, with the
    default), with the overrides."""
    chosen = {family: registry.default_variant(family, isa) for family in registry.ALGORITHM_GUARD_FAMILIES[algorithm]}
    chosen.update({family: _contract_variant(family, isa, rtol) for family in registry.ALGORITHM_PASSES[algorithm]})
    for family, variant in (variants or {}).items():
        if isinstance(variant, str):
            variant = registry.lookup(variant)
        if family not in chosen or variant.family != family:
            raise ValueError(f"{variant.name} is not a {family} kernel of {algorithm}")
        if variant.isa != isa:
            raise ValueError(f"{variant.name} is not an {isa} kernel")
        chosen[family] = variant
    return chosen


def _contract_variant(family: str, isa: str, rtol: float) -> registry.Variant:
    """A pass's variant under the contract: under a looser one, the
    exponential the tuner stored for this machine, else the registry's."""
    exp = tuning.contract_exp(family, isa, rtol) if rtol != contracts.DEFAULT_RTOL else None
    return registry.default_variant(family, isa, exp) if exp else registry.contract_variant(family, isa, rtol)


def get_kernel(variant):
    """A single registered kernel as a Python callable, after checking that this
    CPU can run it.  Its arguments follow the family's C signature with arrays
    for pointers, e.g. ``get_kernel("f32_rmax__avx2_u32_acc4")(x)``."""
    if isinstance(variant, str):
        variant = registry.lookup(variant)
    check_isa(variant.isa)
    return functools.partial(getattr(build.load(), variant.family), variant.name)


# (algorithm, ISA argument, row in cache?, threads, rtol) -> Plan
_plans_by_request: dict[tuple, Plan] = {}
# (shape, axis, algorithm, ISA argument, threads argument[, rtol if not the default]) -> (Plan, non-negative axis)
_resolved: dict[tuple, tuple[Plan, int]] = {}
_RESOLVED_LIMIT = 4096  # distinct call shapes remembered (then forgotten all at once)


def forget_plans() -> None:
    """Drops the cached plans and re-reads $SOFTMAX_ISA and $SOFTMAX_THREADS
    (after new tuned choices, after changing a variable, or in tests)."""
    _plans_by_request.clear()
    _resolved.clear()
    if _remembered_call is not _nothing_remembered:
        build.load().forget_calls()
    _isa_from_environment.cache_clear()
    _threads_from_environment.cache_clear()


tuning.on_forget(forget_plans)


def tuned_plan(algorithm: str, isa: str, n: int | None = None, threads: int = 1,
               rtol: float = contracts.DEFAULT_RTOL) -> Plan:
    """A Plan with this machine's tuned variants for n's size class (registry
    defaults when untuned; out-of-cache when n is None), on one thread unless
    told otherwise (the benchmarks and the book time kernels on one core).
    Under a looser rtol each exponential pass takes the exponential the
    tuner chose for that contract on this machine
    (`kernels.tuning.contract_exp`), else `kernels.registry.CONTRACT_EXPS`'s,
    in the tuned variant's tile where that exponential has it."""
    tuned = tuning.variants_for(algorithm, isa, n)
    if contracts.check_rtol(rtol) != contracts.DEFAULT_RTOL:
        return Plan(algorithm, isa, _in_tuned_tiles(tuned, isa, rtol), threads=threads, rtol=rtol)
    return Plan(algorithm, isa, tuned, threads=threads)


def _in_tuned_tiles(tuned: dict[str, registry.Variant], isa: str, rtol: float) -> dict[str, registry.Variant]:
    """The tuned variants with each exponential pass's exponential replaced by
    the contract's, where a variant of the same tile exists (the other
    exponentials come in fewer tiles than p5, and with plain stores only);
    else that pass is left to the contract's default tile."""
    out = {}
    for family, variant in tuned.items():
        if family not in registry.EXP_FAMILIES:
            out[family] = variant
            continue
        same_tile = registry.plain_variant(variant, _contract_variant(family, isa, rtol).exp)
        if same_tile is not None:
            out[family] = same_tile
    return out


def plan_for(algorithm: str, isa: str | None, n: int, threads=None, rows: int = 1,
             rtol: float = contracts.DEFAULT_RTOL) -> Plan:
    """The plan softmax uses for rows of n elements: this machine's tuned
    variants for n's size class (see `kernels.tuning`), else the defaults;
    "auto" first picks the algorithm for `rows` such rows.  Cached per
    request (the ISA asked for, or $SOFTMAX_ISA, as it is now): on small rows
    the lookup is a visible part of a call."""
    threads = check_threads(threads)
    if algorithm == AUTO:
        algorithm = _choose(resolve_isa(isa), rows, n, 1, threads)
    request = (algorithm, isa, tuning.size_class(n), threads, rtol)
    plan = _plans_by_request.get(request)
    if plan is None:
        chosen_isa = resolve_isa(isa)
        plan = _plans_by_request[request] = tuned_plan(check_algorithm(algorithm), chosen_isa, n, threads=threads,
                                                       rtol=contracts.check_rtol(rtol))
    return plan


def _choose(isa: str, outer: int, n: int, inner: int, threads: int, operation: str = "softmax") -> str:
    """The algorithm "auto" of the operation runs on an (outer, n, inner)
    array (along n)."""
    probe = plan_for(registry.ALGORITHMS[0], isa, n, threads)  # every algorithm shares the thread policy
    used, _ = probe._plan.schedule(outer, n, inner)
    layout = "rows" if inner == 1 else "columns"
    return tuning.choose_algorithm(isa, layout, n, outer * inner, used, operation)


class _Shape:
    """Stands in for an array of a shape when only the shape matters."""

    def __init__(self, shape):
        self.shape = tuple(operator.index(d) for d in shape)
        self.ndim = len(self.shape)


def resolved_key(shape, axis, algorithm: str, isa: str | None, threads, rtol: float = contracts.DEFAULT_RTOL,
                 operation: str = "softmax") -> tuple:
    """The key of a resolved call in `_resolved`: a looser contract's calls
    add their rtol, log_softmax's "auto" its operation; the default's key is
    the one softmax's fast path looks up."""
    key = (shape, axis, algorithm, isa, threads)
    if rtol != contracts.DEFAULT_RTOL:
        key += (rtol,)
    return key + (operation,) if operation != "softmax" and algorithm == AUTO else key


def resolve(x, axis, algorithm: str, isa: str | None, threads, rtol: float = contracts.DEFAULT_RTOL,
            operation: str = "softmax") -> tuple[Plan, int]:
    """The plan and non-negative axis a softmax call on x's shape runs with
    (for log_softmax, operation="log_softmax": the softmax plan whose log twin
    it runs, "auto" following log_softmax's decision map); remembered per
    (shape, arguments)."""
    if not isinstance(x, (np.ndarray, _Shape)):
        raise TypeError(f"x must be a numpy.ndarray of float32, not {type(x).__name__}")
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension (softmax runs along an axis)")
    dim = check_axis(axis, x.ndim)
    count = check_threads(threads)
    outer, n, inner = split_shape(x.shape, dim)
    chosen = algorithm
    if algorithm == AUTO:
        chosen = _choose(resolve_isa(isa), outer, n, inner, count, operation)
    plan = plan_for(check_algorithm(chosen), isa, n, count, rtol=rtol)
    if len(_resolved) >= _RESOLVED_LIMIT:
        _resolved.clear()
    _resolved[resolved_key(x.shape, axis, algorithm, isa, threads, rtol, operation)] = plan, dim
    return plan, dim


def choose_algorithm(shape, *, axis=-1, isa: str | None = None, threads=None, operation: str = "softmax") -> str:
    """The algorithm ``softmax(x, algorithm="auto", ...)`` (with
    operation="log_softmax": ``log_softmax``'s) runs for an x of this shape:
    from the operation's decision map the tuner stored for this machine, else
    its documented default (see `kernels.tuning.choose_algorithm`)."""
    tuning.candidates(operation)  # a clear error for an unknown operation
    return resolve(_Shape(shape), axis, AUTO, isa, threads, operation=operation)[0].algorithm


def softmax(x, *, axis=-1, algorithm: str = AUTO, isa: str | None = None, threads=None, out=None,
            rtol: float = contracts.DEFAULT_RTOL) -> np.ndarray:
    """Softmax of a float32 array along one axis.

    Parameters
    ----------
    x : numpy.ndarray of float32, at least 1-d
        Any layout; non-contiguous or unaligned input is copied first.
    axis : int, default -1
        The axis to normalise along; negative counts from the end (like
        scipy's ``axis`` and torch's ``dim``).  A non-last axis runs column
        kernels in place of a transposed copy: each pass sweeps a block of
        contiguous inner-axis lanes down the axis, so the data is read and
        written as often as along the last axis (README, "Threads, axes and
        auto", says what it costs).
    algorithm : "auto" (default), "two-pass", "three-pass-recompute",
        "three-pass-reload" or "online".  "auto" picks per ISA, row length,
        row count, layout and thread count: the algorithm of the nearest
        point of the decision map `python -m kernels.bench tune` measured
        on this machine, else `kernels.tuning.default_algorithm`; it
        returns exactly what the algorithm it picks returns
        (`choose_algorithm` tells which).
    isa : "scalar", "avx2", "avx512f" or None for $SOFTMAX_ISA / the best available
    threads : positive int or None (default)
        At most this many threads (OpenMP); None: every core this process
        may use, or $SOFTMAX_THREADS.  Small work runs on fewer threads
        (`kernels.tuning.thread_policy`).  For a given thread count the
        result is bit-identical run after run; across thread counts it
        differs only within the algorithm's accuracy bound.
    out : float32 C-contiguous array of x's shape, optional; may be x itself.
        An output allocated here starts at x's offset within a page if it
        would otherwise start just past it (4K aliasing slows the kernels).
    rtol : one of kernels.contracts.CONTRACTS: 1e-6 (default), 1e-5, 1e-4, 1e-3
        The accuracy contract: each output y_i >= 1e-30 is within rtol of
        the exact softmax, relatively (plus |x_i - max| 2^-24 for the
        algorithms that form x - max; see `kernels.contracts.bound`).
        The default contract runs this machine's tuned exponential (the
        tuner keeps one only if the softmax keeps the contract); a looser
        one runs, per pass, the exponential claiming it that the tuner chose
        on this machine (`kernels.tuning.contract_exp`), else the one the
        exp family measured fastest on the build machine
        (`kernels.registry.CONTRACT_EXPS`); default shapes.  Any
        other value raises ValueError.  A looser contract's calls are
        resolved in Python each time (a few microseconds); a
        ``Plan(..., rtol=...)`` avoids that.

    Non-finite inputs follow scipy.special.softmax: a row containing NaN or
    +inf, or only -inf, becomes NaN; -inf elements of other rows become 0.
    Outputs below the smallest normal float (1.2e-38) may be flushed to 0.
    The GIL is released for the whole computation.
    """
    if rtol != contracts.DEFAULT_RTOL:
        return _softmax_contract(x, axis, algorithm, isa, threads, out, contracts.check_rtol(rtol))
    y = _remembered_call(x, out, axis, algorithm, isa, threads)  # a call seen before: matched and run in C
    return y if y is not None else _softmax(x, axis, algorithm, isa, threads, out)


def _softmax_contract(x, axis, algorithm: str, isa: str | None, threads, out, rtol: float) -> np.ndarray:
    """softmax under a looser contract: resolved here (C remembers default-contract calls only)."""
    axis = _integer_axis(axis)
    threads = check_threads(threads) if threads is not None else None
    try:
        plan, dim = _resolved[resolved_key(x.shape, axis, algorithm, isa, threads, rtol)]
    except (KeyError, AttributeError, TypeError):
        plan, dim = resolve(x, axis, algorithm, isa, threads, rtol)
    return plan._run(x, out, dim)


def _softmax(x, axis, algorithm: str, isa: str | None, threads, out) -> np.ndarray:
    """softmax, for calls not remembered in C: checks the arguments, resolves
    (and remembers) the plan, runs it."""
    exact = type(axis) is int and (threads is None or type(threads) is int)
    if not exact:
        # 1.0 and True would find the entries of 1 below: check them first
        axis = _integer_axis(axis)
        threads = check_threads(threads) if threads is not None else None
    try:
        plan, dim = _resolved[(x.shape, axis, algorithm, isa, threads)]
    except (KeyError, AttributeError, TypeError):
        plan, dim = resolve(x, axis, algorithm, isa, threads)
    y = plan._call_fast(x, out, dim)  # the common case, checked in C
    if y is None:
        return plan._call_general(x, out, dim)
    if exact:  # C matches exact ints only: remembering converted ones would add a copy per call
        _remember(x.shape, axis, algorithm, isa, threads, plan, dim)
    return y


def _nothing_remembered(x, out, axis, algorithm, isa, threads) -> None:
    return None


_remembered_call = _nothing_remembered  # the kernels' remembered_call, once they are loaded


def _remember(shape, axis, algorithm, isa, threads, plan: Plan, dim: int) -> None:
    """Lets the next softmax call with this shape and these arguments skip
    the Python checks and look-ups (see remember_call in kernels/_core.pyx)."""
    global _remembered_call
    core = build.load()
    _remembered_call = core.remembered_call
    core.remember_call(shape, axis, algorithm, isa, threads, plan._plan, dim)


def _prepare(x, out):
    """Validates x and out; returns a C-contiguous aligned x and the output array."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy.ndarray of float32, not {type(x).__name__}")
    if x.dtype is not _FLOAT32 and x.dtype != _FLOAT32:
        raise TypeError(f"x must have dtype float32, not {x.dtype}")
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension (softmax runs along an axis)")
    if not (x.flags.c_contiguous and x.flags.aligned):
        x = np.require(x, requirements=["C", "A"])
    if out is None:
        return x, np.empty(x.shape, np.float32)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray of float32, not {type(out).__name__}")
    if out.dtype is not _FLOAT32 and out.dtype != _FLOAT32:
        raise TypeError(f"out must have dtype float32, not {out.dtype}")
    if out.shape != x.shape:
        raise ValueError(f"out has shape {out.shape}, expected {x.shape}")
    if not (out.flags.c_contiguous and out.flags.aligned):
        raise ValueError("out must be C-contiguous and aligned")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    if out is x or not np.may_share_memory(x, out):
        return x, out
    if out.ctypes.data == x.ctypes.data and out.strides == x.strides:
        return x, out  # a view of x with x's layout: in place
    if np.shares_memory(x, out):
        raise ValueError("out overlaps x without being x itself; pass out=x or a separate array")
    return x, out
