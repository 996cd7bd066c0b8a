"""The one registry of kernel variants, read by the build, tests, benchmarks and book.

A variant is a family (what it computes) instantiated for an ISA with an unroll
factor (elements per main-loop iteration), a number of accumulators, for
kernels that write an output plain or non-temporal ("streaming") stores, and
for kernels that evaluate e^x the exponential (an entry of ``EXPS``). Its name
says all of that, XNNPACK style::

    f32_raddextexp__avx2_p5_u64_acc2
    ^^^ ^^^^^^^^^^  ^^^^ ^^ ^^^ ^^^^
    dtype family    ISA  exp unroll accumulators

Exponentials are named by their parts: ``rr1``/``rr2`` the Cody-Waite range
reduction with one or two ln 2 constants, ``lutN`` a table of 2^(j/N) (absent:
none), ``pK`` the degree of the polynomial, e.g.
``f32_vscaleexpminusmax__avx512f_rr1_lut16_p2_u64``. ``p5`` alone is the
paper's exponential (two constants, Dukhan & Ablavatski's degree-5
coefficients), the library's default; every other polynomial is this
project's minimax fit (``kernels/remez.py``).

Adding a variant is adding one tuple to ``_PRESETS``; the build instantiates the
family's template in ``csrc/templates`` for it. Adding an exponential is adding
an ``Exp`` to ``EXPS`` and regenerating ``csrc/exp_coefficients.h``
(``python -m kernels.remez``).
"""

from __future__ import annotations

from dataclasses import dataclass

ISAS = ("scalar", "avx2", "avx512f")
"""Every ISA the library knows, from the most portable to the widest."""

VECTOR_LANES = {"scalar": 1, "avx2": 8, "avx512f": 16}


@dataclass(frozen=True)
class Exp:
    """An exponential: e^z = 2^(n + j/N) e^t with n + j/N = z log2(e) rounded to
    a multiple of 1/N (N = 2^table_bits table entries; 1: no table), t the
    rest, reduced with `reductions` ln 2 constants, and e^t ~ 1 + c1 t + ... +
    c_degree t^degree (coefficients "paper" or this project's "remez").

    Its claims, which the tests check and ``python -m kernels.bench exp``
    measures: max ULP error of e^z over z in [-87.3, 0] (three-pass, online)
    and of ExtExp over |x| <= 2^16 (two-pass); and the tightest accuracy
    contract (see kernels.contracts) softmax plans with its passes keep, per
    kind of pass ("expminus": three-pass and online; "extexp": two-pass)."""

    name: str
    reductions: int
    table_bits: int
    degree: int
    coefficients: str
    max_ulp: tuple[float, float]  # (e^z for z <= 0, ExtExp)
    rtol: tuple[float, float]  # (three-pass and online, two-pass)

    @property
    def table_size(self) -> int:
        return 1 << self.table_bits


def _exp(name: str, max_ulp: tuple[float, float], rtol: tuple[float, float]) -> Exp:
    """An Exp from its name, rr<reductions>[_lut<N>]_p<degree> (p5: the paper's)."""
    if name == "p5":
        return Exp(name, 2, 0, 5, "paper", max_ulp, rtol)
    reductions, *table, degree = name.split("_")
    table_bits = int(table[0].removeprefix("lut")).bit_length() - 1 if table else 0
    return Exp(name, int(reductions.removeprefix("rr")), table_bits, int(degree.removeprefix("p")),
               "remez", max_ulp, rtol)


DEFAULT_EXP = "p5"
_ONE_CONSTANT_EXTEXP_ULP = 3100.0  # |m| (ln2 - ln2 rounded) grows to 1.8e-4 relative at |x| = 2^16
EXPS = {
    e.name: e
    for e in (
        _exp("p5", max_ulp=(2.0, 2.0), rtol=(1e-6, 1e-6)),
        _exp("rr2_p5", max_ulp=(2.0, 2.0), rtol=(1e-6, 1e-6)),
        _exp("rr2_p4", max_ulp=(43.0, 43.0), rtol=(1e-5, 1e-5)),
        _exp("rr2_p3", max_ulp=(1350.0, 1350.0), rtol=(1e-3, 1e-3)),
        _exp("rr1_p5", max_ulp=(5.0, _ONE_CONSTANT_EXTEXP_ULP), rtol=(1e-6, 1e-6)),
        _exp("rr1_p4", max_ulp=(47.0, _ONE_CONSTANT_EXTEXP_ULP), rtol=(1e-5, 1e-5)),
        _exp("rr1_p3", max_ulp=(1350.0, 3800.0), rtol=(1e-3, 1e-3)),
        _exp("rr2_lut16_p3", max_ulp=(1.7, 1.7), rtol=(1e-6, 1e-6)),
        _exp("rr2_lut32_p2", max_ulp=(2.7, 3.1), rtol=(1e-6, 1e-6)),
        _exp("rr1_lut8_p3", max_ulp=(6.0, _ONE_CONSTANT_EXTEXP_ULP), rtol=(1e-6, 1e-6)),
        _exp("rr1_lut16_p2", max_ulp=(12.0, _ONE_CONSTANT_EXTEXP_ULP), rtol=(1e-5, 1e-5)),
        _exp("rr1_lut32_p2", max_ulp=(6.5, _ONE_CONSTANT_EXTEXP_ULP), rtol=(1e-6, 1e-6)),
    )
}
"""Every exponential, the default first. Its claims are the measurements of
``python -m kernels.bench exp`` (exhaustive ULP scans; softmax excess at 2^15
and 2^26 on N(0, 10) and U(-1000, 1000), every algorithm and ISA) rounded up:
a contract is claimed only where every measured excess stays below it with a
margin (the closest: degree 4, 6.6e-6 against 1e-5 in the scalar plans;
rr1_lut16_p2 measures 1.0e-6 and claims 1e-5; degree 3 measures 2e-4, so it
keeps 1e-3 but not 1e-4).  One ln 2 constant costs ExtExp thousands of ULP at
|x| = 2^16, yet softmax keeps 1e-6: the error |m| (ln2 - ln2 rounded) is
nearly the same for every output near the maximum and cancels in the ratio."""


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
    paced: bool = False  # each vector passes a chain of exact FMAs (a copy paced like a pass)


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
        Family("vsub", "vsub.h", "y = (x - hi) - lo (log_softmax's write pass)", writes=True, uses_exp=False),
        Family("vcopy", "vcopy.h", "y = x (copy bandwidth)", writes=True, uses_exp=False),
        Family("vcopy_paced", "vcopy.h", "y = x, each vector through exact FMAs first (paced copy bandwidth)",
               writes=True, uses_exp=False, paced=True),
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
    exp: str = DEFAULT_EXP  # a key of EXPS, for families that use the exponential
    prefetch: int = 0  # software prefetch of the input this many elements ahead (0: none)

    @property
    def name(self) -> str:
        fam = FAMILIES[self.family]
        base = fam.name.removesuffix("_guarded").removesuffix("_x2")
        parts = [f"f32_{base}__{self.isa}"]
        if fam.uses_exp:
            parts.append(self.exp + ("x2" if fam.double_work else ""))
        parts.append(f"u{self.unroll}")
        if fam.accumulators:
            parts.append(f"acc{self.accumulators}")
        if self.streaming:
            parts.append("nt")
        if self.prefetch:
            parts.append(f"pf{self.prefetch}")
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
    "rmax": [(4, 4), (8, 4), (8, 8), (16, 8)],
    "rsum": [(4, 1), (8, 1)],
    "raddexpminusmax": _REDUCTION_SHAPES,
    "raddexpminusmax_x2": [(4, 1)],
    "raddstoreexpminusmax": _REDUCTION_SHAPES,
    "vscaleexpminusmax": _MAP_SHAPES,
    "vscale": _MAP_SHAPES,
    "vsub": _MAP_SHAPES,
    "vcopy": [(4, 1), (8, 1), (16, 1)],
    "vcopy_paced": [(4, 1)],
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


EXP_FAMILIES = (
    "raddexpminusmax",
    "raddstoreexpminusmax",
    "vscaleexpminusmax",
    "raddexponline",
    "raddextexp",
    "vscaleextexp",
    "vexpminus",
    "vextexp",
)
"""Families instantiated with every exponential of EXPS: the passes of the four
algorithms and the exp kernels the ULP scans run.  (The guarded two-pass
passes, which rare rows take, and the doubled-work measurement keep p5.)"""


WIDE_EXP_FAMILIES = ("raddexpminusmax", "raddstoreexpminusmax", "raddexponline", "raddextexp")
"""The reductions that come in a wide tile too (WIDE_TILE_VECTORS), with
every exponential: each tile's terms are summed pairwise and converted to
double once, so a wider tile spends fewer operations per element on the
sum.  On a Zen 5, reloading's plan with rr1_lut32_p2 in its pass 2 ran about
5 % faster with 8 vectors than with 4 in L2 (n = 2^15 and 2^16, one thread),
and that pass 3-4 % faster again with 16 on AVX-512 (p5's alike); the maps
showed no such gain."""

WIDE_TILE_VECTORS = {"avx2": 8, "avx512f": 16}
"""Vectors per iteration of the wide tile, per vector ISA: on AVX2 the
widest of _REDUCTION_SHAPES; AVX-512, with twice the registers, twice that
(16 is the templates' limit)."""


def _exp_variants(exp: str) -> list[Variant]:
    """The other exponentials' variants: the default shape, plus the wide tile
    of WIDE_EXP_FAMILIES, plain stores (each exponential in every shape would
    multiply the compile time; they are the in-cache choices, where streaming
    stores do not pay)."""
    out = [default_variant(family, isa, exp) for family in EXP_FAMILIES for isa in ISAS]
    return out + [wide_variant(family, isa, exp) for family in WIDE_EXP_FAMILIES for isa in WIDE_TILE_VECTORS]


def plain_variant(variant: Variant, exp: str | None = None) -> Variant | None:
    """The registered variant of the same family, ISA and tile with plain
    stores and exponential exp (variant's own by default), or None."""
    return BY_NAME.get(Variant(variant.family, variant.isa, variant.unroll, variant.accumulators,
                               exp=exp or variant.exp).name)


def wide_variant(family: str, isa: str, exp: str = DEFAULT_EXP) -> Variant:
    """The wide tile of a family of WIDE_EXP_FAMILIES on a vector ISA."""
    return Variant(family, isa, WIDE_TILE_VECTORS[isa] * VECTOR_LANES[isa], exp=exp)


PREFETCH_DISTANCE = 1024
"""Elements (4 KiB) ahead that the software-prefetching bandwidth kernels
prefetch their input: far enough to cover a memory latency at the read
bandwidth of one core, near enough to stay inside the page the hardware
prefetcher is already streaming."""

_PREFETCH_PRESETS = {
    # family: (vectors per iteration, accumulators) with software prefetch, for the roofs
    "rmax": [(8, 8)],
    "vcopy": [(8, 1)],
    "vscale": [(8, 1)],
}


def _prefetch_variants(isa: str) -> list[Variant]:
    """The bandwidth kernels with software prefetch (vector ISAs, plain and streaming stores)."""
    out = []
    for family, shapes in _PREFETCH_PRESETS.items():
        for variant in _expand(family, isa, shapes):
            out.append(Variant(variant.family, isa, variant.unroll, variant.accumulators, variant.streaming,
                               prefetch=PREFETCH_DISTANCE))
    return out


def _build_variants() -> tuple[Variant, ...]:
    out = []
    for family in _PRESETS:
        for isa in ISAS:
            shapes = _SCALAR_PRESETS[family] if isa == "scalar" else _PRESETS[family]
            if family in WIDE_EXP_FAMILIES and isa in WIDE_TILE_VECTORS:
                shapes = sorted(set(shapes) | {(WIDE_TILE_VECTORS[isa], 1)})
            out.extend(_expand(family, isa, shapes))
    for isa in ISAS:
        if isa != "scalar":
            out.extend(_prefetch_variants(isa))
    for exp in EXPS:
        if exp != DEFAULT_EXP:
            out.extend(_exp_variants(exp))
    names = [v.name for v in out]
    assert len(names) == len(set(names)), "duplicate variant names"
    return tuple(out)



def variants(family: str | None = None, isa: str | None = None, exp: str | None = DEFAULT_EXP,
             prefetch: bool = False) -> list[Variant]:
    """Registered variants, optionally of one family and/or ISA; of the default
    exponential unless `exp` names another (None: every exponential); with
    software prefetch only when asked (those are the roofs' bandwidth kernels,
    not pass candidates: kernels.bench.sweep names them)."""
    return [
        v
        for v in VARIANTS
        if (family is None or v.family == family) and (isa is None or v.isa == isa)
        and (exp is None or v.exp == exp) and (prefetch or not v.prefetch)
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
    "vsub": (4, 1),
    "vcopy": (4, 1),
    "vcopy_paced": (4, 1),
    "vfill": (4, 1),
    "raddextexp": (4, 1),
    "raddextexp_guarded": (4, 1),
    "vscaleextexp": (4, 1),
    "vscaleextexp_guarded": (2, 1),
    "raddexponline": (4, 1),
    "vexpminus": (1, 1),
    "vextexp": (1, 1),
}


def pass_kind(family: str) -> int:
    """The index into Exp.rtol of a family's passes: 0 e^(x - max), 1 ExtExp (two-pass)."""
    return 1 if "extexp" in family else 0


def exps_keeping(family: str, rtol: float) -> list[str]:
    """The exponentials whose claim for this family's kind of pass keeps the
    contract rtol, the default first (none for families without one)."""
    if family not in EXP_FAMILIES:
        return []
    return [name for name, e in EXPS.items() if e.rtol[pass_kind(family)] <= rtol]


CONTRACT_EXPS = {
    1e-6: (DEFAULT_EXP, DEFAULT_EXP),
    1e-5: ("rr1_p4", "rr1_p4"),
    1e-4: ("rr1_p4", "rr1_p4"),
    1e-3: ("rr1_p3", "rr1_p3"),
}
"""The exponential (e^(x - max) passes, two-pass's ExtExp passes) a plan
uses under each contract of kernels.contracts.CONTRACTS when no tuned
choice applies (`python -m kernels.bench tune` chooses per CPU, among the
exponentials claiming the contract, with this one as the incumbent).  The
default contract keeps the paper's exponential; each looser one
takes the exponential whose passes ran fastest in cache among those
claiming it ("pass winners" of `python -m kernels.bench exp --parts speed`,
AVX2, n = 2^15, on an AMD EPYC Zen 3, 5 rounds: under 1e-5 degree 4 with
one ln 2 constant won four of the six exponential passes, the others
rr1_lut8_p3 and p5, which keep 1e-6 anyway; under 1e-3 degree 3 with one
constant won all six); tests/test_contracts_api.py checks
that every one keeps its contract on every ISA."""


def contract_variant(family: str, isa: str, rtol: float) -> Variant:
    """The untuned variant of a family under a contract: CONTRACT_EXPS's
    exponential for its kind of pass (the default for families without one)."""
    if family not in EXP_FAMILIES:
        return default_variant(family, isa)
    return default_variant(family, isa, CONTRACT_EXPS[rtol][pass_kind(family)])


ULP_RELATIVE = 2.0**-23
"""The relative error of one float32 ULP, at most (a value in [1, 2))."""


def log_contract_exp(family: str, rtol: float) -> str:
    """The exponential of a log_softmax reduction under a contract.  log turns
    the sum's relative error into an absolute error on every output, which no
    ratio cancels, so the exponential's own bound (its max ULP over its kind's
    domain) must keep rtol: CONTRACT_EXPS's where it does, else its
    two-constant twin (one constant costs ExtExp thousands of ULP near
    |x| = 2^16), else the default."""
    chosen = CONTRACT_EXPS[rtol][pass_kind(family)]
    keeping = log_exps_keeping(family, rtol)
    for name in (chosen, chosen.replace("rr1_", "rr2_", 1)):
        if name in keeping:
            return name
    return DEFAULT_EXP


def log_exps_keeping(family: str, rtol: float) -> list[str]:
    """The exponentials a log_softmax reduction of this family may take under
    rtol: those whose own bound (max ULP over the family's kind of domain)
    keeps it."""
    kind = pass_kind(family)
    return [name for name, e in EXPS.items() if e.max_ulp[kind] * ULP_RELATIVE <= rtol]


def default_variant(family: str, isa: str, exp: str = DEFAULT_EXP) -> Variant:
    """The untuned default variant of a family on an ISA (plain stores), with
    the default exponential or another one of EXPS."""
    if isa == "scalar":
        vectors, acc = (_SCALAR_PRESETS[family])[0]
    else:
        vectors, acc = _DEFAULT_SHAPE[family]
    return Variant(family, isa, vectors * VECTOR_LANES[isa], acc, exp=exp)


# Built last: the other exponentials' variants take the default shapes above.
VARIANTS: tuple[Variant, ...] = _build_variants()
BY_NAME = {v.name: v for v in VARIANTS}


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
    "col_vsub": "y = (x - hi) - lo, per-lane hi and lo (log_softmax)",
}

ALGORITHM_COLUMN_PASSES = {
    "three-pass-recompute": ("col_rmax", "col_raddexpminusmax", "col_vscaleexpminusmax"),
    "three-pass-reload": ("col_rmax", "col_raddstoreexpminusmax", "col_vscale"),
    "two-pass": ("col_raddextexp", "col_vscaleextexp"),
    "online": ("col_raddexponline", "col_vscaleexpminusmax"),
}
"""The column kernel of each pass, in order."""


# ------------------------------------------------------------- log_softmax

# log_softmax runs each algorithm's reductions, then y = x - log(normaliser)
# (vsub).  The two three-pass variants coincide: the reload variant's stored
# e^(x - max) are of no use to a pass that needs x (see csrc/driver.c).
LOG_SOFTMAX_ALGORITHMS = ("three-pass-reload", "two-pass", "online")
"""The distinct log_softmax algorithms (three-pass-reload stands for both
three-pass ones): the candidates of log_softmax's decision map."""

LOG_ALGORITHM_PASSES = {
    "three-pass-recompute": ("rmax", "raddexpminusmax", "vsub"),
    "three-pass-reload": ("rmax", "raddexpminusmax", "vsub"),
    "two-pass": ("raddextexp", "vsub"),
    "online": ("raddexponline", "vsub"),
}
"""The kernel family of each log_softmax pass, in order."""

LOG_ALGORITHM_GUARD_FAMILIES = {
    "three-pass-recompute": (),
    "three-pass-reload": (),
    "two-pass": ("rmax", "raddextexp_guarded"),
    "online": ("rmax", "raddexpminusmax"),
}
"""Families a guarded log_softmax row runs besides the passes."""

LOG_ALGORITHM_COLUMN_PASSES = {
    "three-pass-recompute": ("col_rmax", "col_raddexpminusmax", "col_vsub"),
    "three-pass-reload": ("col_rmax", "col_raddexpminusmax", "col_vsub"),
    "two-pass": ("col_raddextexp", "col_vsub"),
    "online": ("col_raddexponline", "col_vsub"),
}
"""The column kernel of each log_softmax pass (a non-last axis), in order."""


def column_kernel_name(family: str, isa: str) -> str:
    return f"f32_{family}__{isa}"


COLUMN_KERNELS: tuple[tuple[str, str], ...] = tuple((family, isa) for family in COLUMN_FAMILIES for isa in ISAS)
"""(family, ISA) of every column kernel."""
