"""Where softmax's float32 error comes from: one component at a time.

Softmax in numpy, split into the components the kernels compute, each either
rounded to float32 or kept in float64:

  three-pass:  subtraction  d = x - max
               exp          e = e^d
               sum          S = sum of e (float32: `lanes` accumulators,
                            each summing its share in order, then each other)
               scale        y = e * (1/S)   (the reciprocal and the product)
  two-pass:    extexp       e^x = m 2^n, m rounded (n is an integer, exact)
               sum          M = sum of m 2^(n - N), N = max n (as above)
               scale        y = m * (1/M) 2^(n - N)

A float32 component is its float64 result rounded to float32: for the
subtraction, the sum's additions and the scale's division and product that is
exactly what an IEEE float32 operation on float32 operands returns (a double
holds their exact result to better than 2^-53, and rounding it again to 24 bits
cannot differ); the exponential is a correctly rounded float32 e^d, the best a
float32 exp can do (the kernels' exps add their own ULP, see
``kernels.bench.expfamily``).  Every value a float64 component passes on is
the float64 result, so each component's own rounding is the only one it adds.

``budget`` measures, per structure and row, the max relative error of every
configuration (all float64, all float32, only one component float32, all but
one) against float64 softmax.  No compiled kernel is used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..contracts import FLOOR, reference

U = 2.0**-24
"""float32's unit roundoff."""
THREE_PASS = ("subtraction", "exp", "sum", "scale")
TWO_PASS = ("extexp", "sum", "scale")
STRUCTURES = {"three-pass": THREE_PASS, "two-pass": TWO_PASS}
LANES = 16  # one AVX-512 vector of accumulators


def _rounder(component: str, float32: frozenset):
    """Rounds to float32 when `component` is one of `float32`, else keeps float64."""
    if component in float32:
        return lambda v: np.asarray(v, np.float64).astype(np.float32).astype(np.float64)
    return lambda v: np.asarray(v, np.float64)


def accumulate(terms: np.ndarray, in_float32: bool, lanes: int = LANES) -> np.ndarray:
    """The sum over the last axis: in float64, or in float32 the way a SIMD
    kernel with `lanes` float32 accumulators adds (each accumulator sums every
    lanes-th term in order, every addition rounded; then the accumulators are
    added in order)."""
    terms = np.asarray(terms, np.float64)
    if not in_float32:
        return terms.sum(axis=-1)
    pad = (-terms.shape[-1]) % lanes
    padded = np.concatenate([terms, np.zeros(terms.shape[:-1] + (pad,))], axis=-1)
    steps = padded.reshape(terms.shape[:-1] + (-1, lanes))
    acc = np.zeros(terms.shape[:-1] + (lanes,), np.float32)
    for k in range(steps.shape[-2]):
        np.add(acc, steps[..., k, :], out=acc, casting="same_kind")  # computed in float64, rounded once
    total = np.zeros(terms.shape[:-1], np.float32)
    for lane in range(lanes):
        np.add(total, acc[..., lane], out=total, casting="same_kind")
    return total.astype(np.float64)


def three_pass(x, float32=(), lanes: int = LANES) -> np.ndarray:
    """Softmax over the last axis with the named THREE_PASS components in float32."""
    float32 = frozenset(float32)
    x = np.asarray(x, np.float64)
    d = _rounder("subtraction", float32)(x - x.max(axis=-1, keepdims=True))
    e = _rounder("exp", float32)(np.exp(d))
    total = accumulate(e, "sum" in float32, lanes)[..., None]
    scale = _rounder("scale", float32)
    return scale(e * scale(1.0 / total))


def two_pass(x, float32=(), lanes: int = LANES) -> np.ndarray:
    """Softmax over the last axis with the named TWO_PASS components in float32
    (the pairs brought to the largest exponent before the sum, which scales by
    powers of two: exact)."""
    float32 = frozenset(float32)
    z = np.asarray(x, np.float64) / np.log(2.0)
    n = np.rint(z)
    m = _rounder("extexp", float32)(np.exp2(z - n))
    big_n = n.max(axis=-1, keepdims=True)
    total = accumulate(m * np.exp2(n - big_n), "sum" in float32, lanes)[..., None]
    scale = _rounder("scale", float32)
    return scale(m * scale(1.0 / total)) * np.exp2(n - big_n)


ALGORITHMS = {"three-pass": three_pass, "two-pass": two_pass}


def relative_errors(y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """|y - ref| / ref where ref >= FLOOR, else 0."""
    keep = ref >= FLOOR
    return np.where(keep, np.abs(y - ref) / np.where(keep, ref, 1.0), 0.0)


def configurations(components) -> dict[str, frozenset]:
    """Label -> the components in float32: none, all, each alone, all but each."""
    out = {"float64": frozenset(), "float32": frozenset(components)}
    out.update({f"only {c}": frozenset([c]) for c in components})
    out.update({f"all but {c}": frozenset(components) - {c} for c in components})
    return out


def budget(x, lanes: int = LANES) -> pd.DataFrame:
    """Per structure and configuration: the max relative error over the rows x
    (rows on the last axis) against float64 softmax."""
    x = np.asarray(x, np.float32)
    ref = reference(x)
    rows = []
    for structure, components in STRUCTURES.items():
        for label, float32 in configurations(components).items():
            y = ALGORITHMS[structure](x, float32, lanes)
            rows.append({"structure": structure, "configuration": label,
                         "max_rel_error": float(relative_errors(y, ref).max())})
    return pd.DataFrame(rows)


def shares(table: pd.DataFrame) -> pd.DataFrame:
    """Per structure and component: its error alone in float32, its share of
    the sum of those, and the error with every other component in float32 and
    it in float64 (what making it float64 leaves), beside the all-float32 total."""
    rows = []
    for structure, components in STRUCTURES.items():
        t = table[table["structure"] == structure].set_index("configuration")["max_rel_error"]
        alone = {c: t[f"only {c}"] for c in components}
        for c in components:
            rows.append({"structure": structure, "component": c, "alone": alone[c],
                         "share": alone[c] / sum(alone.values()), "without it": t[f"all but {c}"],
                         "all float32": t["float32"]})
    return pd.DataFrame(rows)


def first_order_bound(x, structure: str, lanes: int = LANES, exp_rel: float = U) -> np.ndarray:
    """The first-order bound on each output's relative error (derived in the
    error-budget section of the exp-family chapter): every float32 operation
    rounds with relative error at most U, the exponential with at most
    exp_rel, the sum's terms pass through at most h = ceil(n / lanes) - 1 +
    lanes - 1 additions, the scale rounds twice; three-pass adds the rounding
    of x - max, |x_i - max| U in the output and its y-weighted mean through
    the sum."""
    x = np.asarray(x, np.float64)
    n = x.shape[-1]
    additions = -(-n // lanes) - 1 + lanes - 1
    rest = 2 * exp_rel + (additions + 2) * U
    if structure == "two-pass":
        return np.full(x.shape, rest)
    spread = np.abs(x - x.max(axis=-1, keepdims=True))
    y = reference(x)
    return U * (spread + (y * spread).sum(axis=-1, keepdims=True)) + rest
