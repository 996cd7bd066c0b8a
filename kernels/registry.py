"""The one registry of kernel variants, read by the build, tests, benchmarks and book.

A variant is a family (what it computes) instantiated for an ISA with an unroll
factor (elements per main-loop iteration), a number of accumulators and, for
kernels that write an output, plain or non-temporal ("streaming") stores. Its
name says all of that, XNNPACK style::

    f32_raddextexp__avx2_p5_u64_acc2
    ^^^ ^^^^^^^^^^  ^^^^ ^^ ^^^ ^^^^
    dtype family    ISA  exp unroll accumulators

Adding a variant is adding one tuple to ``_PRESETS``; the build instantiates the
family's template in ``csrc/templates`` for it.
"""

from __future__ import annotations

from dataclasses import dataclass

ISAS = ("scalar", "avx2", "avx512f")
"""Every ISA the library knows, from the most portable to the widest."""

VECTOR_LANES = {"scalar": 1, "avx2": 8, "avx512f": 16}


@dataclass(frozen=True)
class Family:
    """A kernel family: one template, one C signature (see csrc/kernels.h)."""

    name: str
    template: str
    role: str
    reduction: bool = False  # returns a value computed over the whole row
    accumulators: bool = False  # its unroll comes with a number of vector accumulators (rmax)
    writes: bool = False  # stores an output vector (may stream)
    uses_exp: bool = True
    guarded: bool = False  # the two-pass guarded form of its template
    double_work: bool = False  # evaluates the exponential twice (a bandwidth experiment)


FAMILIES = {
    f.name: f
    for f in (
        Family("rmax", "rmax.h", "max of x", reduction=True, accumulators=True, uses_exp=False),
        Family("rsum", "rsum.h", "sum of x (read-only bandwidth)", reduction=True, uses_exp=False),
        Family("raddexpminusmax", "raddexpminusmax.h", "sum of e^(x-max)", reduction=True),
        Family(
            "raddexpminusmax_x2",
            "raddexpminusmax.h",
            "sum of e^(x-max), exp evaluated twice (arithmetic doubled)",
            reduction=True,
            double_work=True,
        ),
        Family(
            "raddstoreexpminusmax",
            "raddstoreexpminusmax.h",
            "y = e^(x-max) and its sum",
            reduction=True,
            writes=True,
        ),
        Family("vscaleexpminusmax", "vscaleexpminusmax.h", "y = scale * e^(x-max)", writes=True),
        Family("vscale", "vscale.h", "y = scale * x", writes=True, uses_exp=False),
        Family("vcopy", "vcopy.h", "y = x (copy bandwidth)", writes=True, uses_exp=False),
        Family("vfill", "vfill.h", "y = value (write-only bandwidth)", writes=True, uses_exp=False),
        Family("raddextexp", "raddextexp.h", "sum of e^x as (mantissa, exponent)", reduction=True),
        Family(
            "raddextexp_guarded",
            "raddextexp.h",
            "raddextexp of max(x - shift, -2^16)",
            reduction=True,
            guarded=True,
        ),
        Family("vscaleextexp", "vscaleextexp.h", "y = e^x / (m * 2^e)", writes=True),
        Family(
            "vscaleextexp_guarded",
            "vscaleextexp.h",
            "vscaleextexp of max(x - shift, -2^16)",
            writes=True,
            guarded=True,
        ),
        Family("raddexponline", "raddexponline.h", "online (max, sum of e^(x-max))", reduction=True),
        Family("vexpminus", "vexpminus.h", "y = e^x for x <= 0"),
        Family("vextexp", "vextexp.h", "(m, e) with e^x = m * 2^e"),
    )
}


@dataclass(frozen=True)
class Variant:
    family: str
    isa: str
    unroll: int
    accumulators: int = 1
    streaming: bool = False

    @property
    def name(self) -> str:
        fam = FAMILIES[self.family]
        base = fam.name.removesuffix("_guarded").removesuffix("_x2")
        parts = [f"f32_{base}__{self.isa}"]
        if fam.uses_exp:
            parts.append("p5x2" if fam.double_work else "p5")
        parts.append(f"u{self.unroll}")
        if fam.accumulators:
            parts.append(f"acc{self.accumulators}")
        if self.streaming:
            parts.append("nt")
        if fam.guarded:
            parts.append("guarded")
        return "_".join(parts)

    @property
    def tile(self) -> int:
        """Elements per main-loop iteration: the unit of the tests' size sweeps."""
        return self.unroll

    @property
    def lanes(self) -> int:
        return VECTOR_LANES[self.isa]

    def __str__(self) -> str:
        return self.name


def _expand(family: str, isa: str, shapes) -> list[Variant]:
    """Variants of one family and ISA from (vectors per iteration, accumulators) pairs."""
    lanes = VECTOR_LANES[isa]
    out = []
    for vectors, acc in shapes:
        out.append(Variant(family, isa, vectors * lanes, acc))
        if FAMILIES[family].writes and isa != "scalar":
            out.append(Variant(family, isa, vectors * lanes, acc, streaming=True))
    return out


# (vectors per main-loop iteration, accumulators) per family; the same shapes
# for every ISA, scaled by its lane count.  The scalar path gets one modest
# shape per family: it exists for portability and as the readable reference.
# Small tiles fit AVX2's 16 registers (the exp needs ~11 constants); wide ones
# suit AVX-512's 32.  Sums need no accumulator count: each iteration's tile is
# summed pairwise into double accumulators.
_REDUCTION_SHAPES = [(2, 1), (4, 1), (8, 1)]
_MAP_SHAPES = [(1, 1), (2, 1), (4, 1), (8, 1)]
_PRESETS = {
    "rmax": [(4, 4), (8, 4)],
    "rsum": [(4, 1), (8, 1)],
    "raddexpminusmax": _REDUCTION_SHAPES,
    "raddexpminusmax_x2": [(4, 1)],
    "raddstoreexpminusmax": _REDUCTION_SHAPES,
    "vscaleexpminusmax": _MAP_SHAPES,
    "vscale": _MAP_SHAPES,
    "vcopy": [(4, 1), (8, 1)],
    "vfill": [(4, 1), (8, 1)],
    "raddextexp": _REDUCTION_SHAPES,
    "raddextexp_guarded": [(4, 1)],
    "vscaleextexp": _MAP_SHAPES,
    "vscaleextexp_guarded": [(2, 1)],
    "raddexponline": _REDUCTION_SHAPES,
    "vexpminus": [(1, 1)],
    "vextexp": [(1, 1)],
}
_SCALAR_PRESETS = {
    family: [(4, 2)] if FAMILIES[family].accumulators else [(4, 1)] if FAMILIES[family].reduction else [(1, 1)]
    for family in _PRESETS
}


def _build_variants() -> tuple[Variant, ...]:
    out = []
    for family in _PRESETS:
        for isa in ISAS:
            shapes = _SCALAR_PRESETS[family] if isa == "scalar" else _PRESETS[family]
            out.extend(_expand(family, isa, shapes))
    names = [v.name for v in out]
    assert len(names) == len(set(names)), "duplicate variant names"
    return tuple(out)


VARIANTS: tuple[Variant, ...] = _build_variants()
BY_NAME = {v.name: v for v in VARIANTS}


def variants(family: str | None = None, isa: str | None = None) -> list[Variant]:
    """Registered variants, optionally of one family and/or ISA."""
    return [
        v
        for v in VARIANTS
        if (family is None or v.family == family) and (isa is None or v.isa == isa)
    ]


def lookup(name: str) -> Variant:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown kernel variant {name!r}") from None


# ---------------------------------------------------------------- algorithms

ALGORITHMS = ("three-pass-recompute", "three-pass-reload", "two-pass", "online")
"""The four softmax algorithms, in the book's order."""

ALGORITHM_PASSES = {
    "three-pass-recompute": ("rmax", "raddexpminusmax", "vscaleexpminusmax"),
    "three-pass-reload": ("rmax", "raddstoreexpminusmax", "vscale"),
    "two-pass": ("raddextexp", "vscaleextexp"),
    "online": ("raddexponline", "vscaleexpminusmax"),
}
"""The kernel family of each pass, in order."""

ALGORITHM_GUARD_FAMILIES = {
    "three-pass-recompute": (),
    "three-pass-reload": (),
    "two-pass": ("rmax", "raddextexp_guarded", "vscaleextexp_guarded"),
    "online": ("rmax", "raddexpminusmax", "vscaleexpminusmax"),
}
"""Families a guarded row (non-finite or out-of-range input) runs besides the passes."""

# The variant each (family, ISA) uses unless told otherwise: the untuned
# default.  `python -m kernels.bench tune` measures better choices per machine.
_DEFAULT_SHAPE = {
    "rmax": (4, 4),
    "rsum": (4, 1),
    "raddexpminusmax": (4, 1),
    "raddexpminusmax_x2": (4, 1),
    "raddstoreexpminusmax": (4, 1),
    "vscaleexpminusmax": (4, 1),
    "vscale": (4, 1),
    "vcopy": (4, 1),
    "vfill": (4, 1),
    "raddextexp": (4, 1),
    "raddextexp_guarded": (4, 1),
    "vscaleextexp": (4, 1),
    "vscaleextexp_guarded": (2, 1),
    "raddexponline": (4, 1),
    "vexpminus": (1, 1),
    "vextexp": (1, 1),
}


def default_variant(family: str, isa: str) -> Variant:
    """The untuned default variant of a family on an ISA (plain stores)."""
    if isa == "scalar":
        vectors, acc = (_SCALAR_PRESETS[family])[0]
    else:
        vectors, acc = _DEFAULT_SHAPE[family]
    return Variant(family, isa, vectors * VECTOR_LANES[isa], acc)


# ------------------------------------------------------------ column kernels

# Softmax along a non-last axis runs these column forms of the passes
# (templates col_*.h): vectorised along the contiguous inner axis, one
# softmax per lane.  One variant per ISA; they are not tuned.
COLUMN_FAMILIES = {
    "col_rmax": "per-lane max over rows",
    "col_raddexpminusmax": "per-lane sum of e^(x-max)",
    "col_raddstoreexpminusmax": "y = e^(x-max) and per-lane sums",
    "col_vscaleexpminusmax": "y = scale * e^(x-max), per-lane max and scale",
    "col_vscale": "y = scale * x, per-lane scale",
    "col_raddextexp": "per-lane sum of e^x as (mantissa, exponent)",
    "col_vscaleextexp": "y = e^x / (m * 2^e), per-lane m and e",
    "col_raddexponline": "per-lane online (max, sum of e^(x-max))",
}

ALGORITHM_COLUMN_PASSES = {
    "three-pass-recompute": ("col_rmax", "col_raddexpminusmax", "col_vscaleexpminusmax"),
    "three-pass-reload": ("col_rmax", "col_raddstoreexpminusmax", "col_vscale"),
    "two-pass": ("col_raddextexp", "col_vscaleextexp"),
    "online": ("col_raddexponline", "col_vscaleexpminusmax"),
}
"""The column kernel of each pass, in order."""


def column_kernel_name(family: str, isa: str) -> str:
    return f"f32_{family}__{isa}"


COLUMN_KERNELS: tuple[tuple[str, str], ...] = tuple((family, isa) for family in COLUMN_FAMILIES for isa in ISAS)
"""(family, ISA) of every column kernel."""
