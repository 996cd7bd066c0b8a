"""The public softmax API: validation, ISA dispatch and plans.

``softmax(x, algorithm=..., isa=..., out=...)`` computes a float32 softmax over
the last axis of an array of any shape with one of the four algorithms. The
ISA is the best this CPU supports unless the ``isa`` argument or the
``SOFTMAX_ISA`` environment variable (read at the first call) names one; naming an ISA the CPU lacks
raises :class:`UnsupportedISAError` instead of crashing with SIGILL.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from . import build, registry, tuning

ISA_ENV = "SOFTMAX_ISA"
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
            f"unknown algorithm {algorithm!r}; choose one of {', '.join(registry.ALGORITHMS)}"
        )
    return algorithm


class Plan:
    """An algorithm bound to one kernel variant per pass (and guarded path).

    ``variants`` maps a family to a variant (or its name) to override the
    registry's default for that family; all must belong to the plan's ISA.
    """

    def __init__(self, algorithm: str, isa: str | None = None, variants=None):
        self.algorithm = check_algorithm(algorithm)
        self.isa = resolve_isa(isa)
        chosen = {}
        families = registry.ALGORITHM_PASSES[algorithm] + registry.ALGORITHM_GUARD_FAMILIES[algorithm]
        for family in families:
            chosen[family] = registry.default_variant(family, self.isa)
        for family, variant in (variants or {}).items():
            if isinstance(variant, str):
                variant = registry.lookup(variant)
            if family not in chosen or variant.family != family:
                raise ValueError(f"{variant.name} is not a {family} kernel of {algorithm}")
            if variant.isa != self.isa:
                raise ValueError(f"{variant.name} is not an {self.isa} kernel")
            chosen[family] = variant
        self.variants = chosen
        self._plan = build.load().Plan(algorithm, {f: v.name for f, v in chosen.items()})
        self._call_fast = self._plan.call_fast

    @property
    def passes(self) -> list[registry.Variant]:
        """The variants of the algorithm's passes, in order."""
        return [self.variants[f] for f in registry.ALGORITHM_PASSES[self.algorithm]]

    def __call__(self, x, out=None) -> np.ndarray:
        y = self._call_fast(x, out)  # the common case, checked in C
        return y if y is not None else self._call_general(x, out)

    def _call_general(self, x, out) -> np.ndarray:
        """Any input: full checks with clear errors, copies where needed."""
        x, out = _prepare(x, out)
        self._plan.run(x.reshape(-1), out.reshape(-1), x.shape[-1])
        return out

    @property
    def last_guarded_rows(self) -> int:
        """Rows of the last call that took the driver's guarded path
        (non-finite input; for two-pass also |x| beyond ExtExp's range)."""
        return self._plan.last_guarded_rows

    def __repr__(self) -> str:
        names = ", ".join(v.name for v in self.passes)
        return f"Plan({self.algorithm!r}, isa={self.isa!r}: {names})"


def get_kernel(variant):
    """A single registered kernel as a Python callable, after checking that this
    CPU can run it.  Its arguments follow the family's C signature with arrays
    for pointers, e.g. ``get_kernel("f32_rmax__avx2_u32_acc4")(x)``."""
    if isinstance(variant, str):
        variant = registry.lookup(variant)
    check_isa(variant.isa)
    return functools.partial(getattr(build.load(), variant.family), variant.name)


_plans_by_request: dict[tuple, Plan] = {}  # (algorithm, isa argument, row in cache?)


def forget_plans() -> None:
    """Drops the cached plans and re-reads $SOFTMAX_ISA (after new tuned
    choices, after changing the variable, or in tests)."""
    _plans_by_request.clear()
    _isa_from_environment.cache_clear()


def plan_for(algorithm: str, isa: str | None, n: int) -> Plan:
    """The plan softmax uses for rows of n elements: this machine's tuned
    variants for n's size class (see `kernels.tuning`), else the defaults.
    Cached per request (the ISA asked for, or $SOFTMAX_ISA, as it is now):
    on small rows the lookup is a visible part of a call."""
    request = (algorithm, isa, n <= tuning.in_cache_row_limit())
    plan = _plans_by_request.get(request)
    if plan is None:
        chosen_isa = resolve_isa(isa if isa is not None else _isa_from_environment())
        plan = _plans_by_request[request] = tuning.plan(check_algorithm(algorithm), chosen_isa, n)
    return plan


def softmax(x, *, algorithm: str = "two-pass", isa: str | None = None, out=None) -> np.ndarray:
    """Softmax over the last axis of a float32 array.

    Parameters
    ----------
    x : numpy.ndarray of float32, at least 1-d
        Any layout; non-contiguous or unaligned input is copied first.
    algorithm : "two-pass" (default), "three-pass-recompute",
        "three-pass-reload" or "online"
    isa : "scalar", "avx2", "avx512f" or None for $SOFTMAX_ISA / the best available
    out : float32 C-contiguous array of x's shape, optional; may be x itself.
        An output allocated here starts at x's offset within a page if it
        would otherwise start just past it (4K aliasing slows the kernels).

    Non-finite inputs follow scipy.special.softmax: a row containing NaN or
    +inf, or only -inf, becomes NaN; -inf elements of other rows become 0.
    Outputs below the smallest normal float (1.2e-38) may be flushed to 0.
    """
    n = x.shape[-1] if type(x) is np.ndarray and x.ndim else 0
    return plan_for(algorithm, isa, n)(x, out)


def _prepare(x, out):
    """Validates x and out; returns a C-contiguous aligned x and the output array."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy.ndarray of float32, not {type(x).__name__}")
    if x.dtype is not _FLOAT32 and x.dtype != _FLOAT32:
        raise TypeError(f"x must have dtype float32, not {x.dtype}")
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension (softmax runs over the last axis)")
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
