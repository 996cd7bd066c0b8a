"""Minimax polynomials and tables for the exp family, computed by this project.

``python -m kernels.remez`` writes ``csrc/exp_coefficients.h``: for every
exponential of ``kernels.registry.EXPS`` its polynomial coefficients, the
2^(j/N) tables of the table-driven ones, and the C description the templates
read. The test suite regenerates the header and compares it byte for byte.

Each polynomial approximates e^t on the reduced interval [-a, a],
a = ln2 / 2^(b+1) for a 2^b-entry table (b = 0: no table), as
p(t) = 1 + c1 t + ... + ck t^k, minimising the maximum *relative* error
|1 - p(t) e^-t| (softmax needs relative accuracy). The constant term stays 1,
so that e^0 = 1 exactly (three-pass relies on the maximum's term being 1).

The fit is a Remez exchange in exact-enough arithmetic (``decimal`` at 60
digits: deterministic on every platform). Since p(0) = 1 is fixed, the error
is err(t) = t^i e^-t (g(t) - r(t)) with i the lowest free power: a weighted
polynomial approximation whose error alternates once more in sign across
t = 0 when i is odd. The extrema of err are the roots of p - p' (err' =
(p - p') e^-t), found by bracketing and Newton steps.

Float32 coefficients are not the minimax ones rounded: rounding c1 alone
moves the error by up to |t| 2^-25. So the coefficients are rounded one at a
time, lowest degree first (the most significant), and the remaining ones
refitted after each rounding; the header records the error of the exact
minimax polynomial and of the float32 one (evaluated exactly; the kernels add
their float32 arithmetic on top, which ``python -m kernels.bench exp``
measures).
"""

from __future__ import annotations

import argparse
import decimal
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path


HEADER = Path(__file__).resolve().parent / "csrc" / "exp_coefficients.h"
CONTEXT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN, Emin=-9999, Emax=9999)
D = decimal.Decimal
GRID_PER_DEGREE = 48  # points per degree of p - p' when bracketing its roots
MAX_ITERATIONS = 400
CONVERGED = D("1e-20")  # relative spread of |err| over the reference at convergence


# ------------------------------------------------------------ arithmetic


def ln2() -> D:
    with decimal.localcontext(CONTEXT):
        return D(2).ln()


def cos(x: D) -> D:
    """cos by its Taylor series (only for the initial reference points)."""
    with decimal.localcontext(CONTEXT):
        term, total, k = D(1), D(1), 0
        while abs(term) > D("1e-50"):
            k += 2
            term = -term * x * x / (k * (k - 1))
            total += term
        return total


def pi() -> D:
    """pi by Machin's formula."""

    def arctan_inverse(n: int) -> D:
        x, total, k, term = D(1) / n, D(0), 0, D(1) / n
        while abs(term) > D("1e-55"):
            total += term / (2 * k + 1) * (-1) ** k
            k += 1
            term *= x * x
        return total

    with decimal.localcontext(CONTEXT):
        return 4 * (4 * arctan_inverse(5) - arctan_inverse(239))


def horner(coefficients, t: D) -> D:
    total = D(0)
    for c in reversed(coefficients):
        total = total * t + c
    return total


def derivative(coefficients) -> list:
    return [k * c for k, c in enumerate(coefficients)][1:]


def relative_error(coefficients, t: D) -> D:
    """1 - p(t) e^-t."""
    with decimal.localcontext(CONTEXT):
        return 1 - horner(coefficients, t) * (-t).exp()


def solve(matrix: list[list[D]], rhs: list[D]) -> list[D]:
    """Gaussian elimination with partial pivoting."""
    with decimal.localcontext(CONTEXT):
        n = len(rhs)
        a = [row[:] + [r] for row, r in zip(matrix, rhs)]
        for col in range(n):
            pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
            a[col], a[pivot] = a[pivot], a[col]
            for r in range(col + 1, n):
                f = a[r][col] / a[col][col]
                for c in range(col, n + 1):
                    a[r][c] -= f * a[col][c]
        x = [D(0)] * n
        for r in reversed(range(n)):
            x[r] = (a[r][n] - sum(a[r][c] * x[c] for c in range(r + 1, n))) / a[r][r]
        return x


def float32(value: D) -> Fraction:
    """The float32 nearest to value (ties to even), exactly."""
    exact = Fraction(value)
    if exact == 0:
        return Fraction(0)
    sign = -1 if exact < 0 else 1
    exact = abs(exact)
    e = exact.numerator.bit_length() - exact.denominator.bit_length()
    if Fraction(2) ** e > exact:
        e -= 1
    # exact in [2^e, 2^(e+1)): 24 significant bits
    scaled = exact / Fraction(2) ** (e - 23)
    mantissa = round(scaled)  # round half to even
    return sign * mantissa * Fraction(2) ** (e - 23)


def hex_float(value: Fraction) -> str:
    """A C float literal for a float32 value, in XNNPACK's 0x1.XXXXXXp+E form."""
    if value == 0:
        return "0.0f"
    sign = "-" if value < 0 else ""
    value = abs(value)
    e = value.numerator.bit_length() - value.denominator.bit_length()
    if Fraction(2) ** e > value:
        e -= 1
    mantissa = value / Fraction(2) ** (e - 23)
    assert mantissa.denominator == 1 and 1 << 23 <= mantissa < 1 << 24, value
    fraction_bits = (int(mantissa) - (1 << 23)) << 1  # 24 bits: 6 hex digits
    return f"{sign}0x1.{fraction_bits:06X}p{e:+d}f"


def float32_bits(value: Fraction) -> int:
    e = value.numerator.bit_length() - value.denominator.bit_length()
    if Fraction(2) ** e > value:
        e -= 1
    mantissa = int(value / Fraction(2) ** (e - 23))
    return ((e + 127) << 23) | (mantissa - (1 << 23))


def from_bits(bits: int) -> Fraction:
    e = (bits >> 23) & 0xFF
    assert 0 < e < 255, hex(bits)
    return ((1 << 23) | (bits & 0x7FFFFF)) * Fraction(2) ** (e - 127 - 23)


# ------------------------------------------------------------- the fit


def _roots(coefficients, a: D) -> list[D]:
    """Real roots of a polynomial in (-a, a): sign changes on a grid, then
    bisection and Newton steps kept inside the bracket."""
    with decimal.localcontext(CONTEXT):
        slope = derivative(coefficients)
        steps = GRID_PER_DEGREE * max(1, len(coefficients) - 1)
        grid = [-a + 2 * a * i / steps for i in range(steps + 1)]
        values = [horner(coefficients, t) for t in grid]
        roots = []
        for lo, hi, flo, fhi in zip(grid, grid[1:], values, values[1:]):
            if flo == 0:
                roots.append(lo)
                continue
            if (flo < 0) == (fhi < 0):
                continue
            for _ in range(12):
                mid = (lo + hi) / 2
                fmid = horner(coefficients, mid)
                if (fmid < 0) == (flo < 0):
                    lo, flo = mid, fmid
                else:
                    hi = mid
            t = (lo + hi) / 2
            for _ in range(40):
                d = horner(slope, t)
                step = horner(coefficients, t) / d if d else D(0)
                t_next = t - step
                if not lo <= t_next <= hi:
                    break
                if abs(step) <= abs(t) * D("1e-50"):
                    t = t_next
                    break
                t = t_next
            roots.append(t)
        return [r for r in roots if -a < r < a and r != 0]


def extrema(coefficients, a: D) -> list[tuple[D, D]]:
    """(t, err(t)) at the endpoints and at every interior extremum of err."""
    q = [c - d for c, d in zip(coefficients, derivative(coefficients) + [D(0)])]  # p - p'
    points = sorted({-a, a, *_roots(q, a)})
    return [(t, relative_error(coefficients, t)) for t in points]


def max_error(coefficients, a: D) -> D:
    return max(abs(e) for _, e in extrema(coefficients, a))


def _sign(t: D, power: int) -> int:
    """sign(t)^power."""
    return -1 if t < 0 and power % 2 else 1


def _initial_reference(count: int, a: D) -> list[D]:
    """Chebyshev points of the first kind, none at 0 (err(0) = 0 always)."""
    with decimal.localcontext(CONTEXT):
        points = [-a * cos(pi() * (2 * i + 1) / (2 * count)) for i in range(count)]
        return [t if abs(t) > a * D("1e-9") else a / (4 * count) for t in points]


def _exchange(reference: list[D], level: D, candidates: list[tuple[D, D]], lowest: int) -> list[D]:
    """The next reference: the point of largest |err| replaces the neighbour
    whose weighted error err(t) sign(t)^lowest has its sign (at reference point i
    that is (-1)^i level).  Powell's single exchange: the level rises every
    step, so it cannot cycle the way multiple exchanges can when the error
    has more extrema than the reference has points."""
    worst, value = max(candidates, key=lambda c: abs(c[1]))
    positive = value * _sign(worst, lowest) > 0
    same = [((-1) ** i * level > 0) == positive for i in range(len(reference))]
    position = sum(1 for t in reference if t < worst)
    new = list(reference)
    if position == 0:
        new = [worst] + (new[1:] if same[0] else new[:-1])
    elif position == len(reference):
        new = (new[:-1] if same[-1] else new[1:]) + [worst]
    else:
        new[position - 1 if same[position - 1] else position] = worst
    return new


def remez(a: D, coefficients: list[D | None]) -> tuple[list[D], D]:
    """Minimax values for the None entries of c1..ck, c0 = 1 and the others
    fixed.  The free ones must be the top powers ci..ck: the error is then
    t^i e^-t (g(t) - r(t)), a weighted approximation by a full polynomial r
    (a Haar space away from t = 0, where err vanishes), whose error
    alternates in err(t) sign(t)^i.  Returns the coefficients and the
    maximum error."""
    free = [j for j, c in enumerate(coefficients) if c is None]
    lowest = free[0]
    assert coefficients[0] == 1 and free == list(range(lowest, len(coefficients))), "c0 = 1; free: ci..ck"
    reference = _initial_reference(len(free) + 1, a)
    with decimal.localcontext(CONTEXT):
        fixed = [c if c is not None else D(0) for c in coefficients]
        for _ in range(MAX_ITERATIONS):
            rows, rhs = [], []
            for i, t in enumerate(reference):
                decay = (-t).exp()
                rows.append([t**j * decay for j in free] + [D((-1) ** i * _sign(t, lowest))])
                rhs.append(1 - decay * horner(fixed, t))
            solution = solve(rows, rhs)
            candidate = list(fixed)
            for j, c in zip(free, solution):
                candidate[j] = c
            level = solution[-1]
            extremes = extrema(candidate, a)
            worst = max(abs(e) for _, e in extremes)
            if worst - abs(level) <= CONVERGED * worst:
                return candidate, worst
            reference = _exchange(reference, level, extremes, lowest)
    raise ArithmeticError(f"Remez did not converge (degree {len(coefficients) - 1}, a = {a:.6})")


def _exact(value: Fraction) -> D:
    with decimal.localcontext(CONTEXT):
        return D(value.numerator) / D(value.denominator)


@dataclass
class Fit:
    table_bits: int
    degree: int
    half_width: D
    minimax: list[D]  # exact minimax coefficients c0..ck
    minimax_error: D
    coefficients: list[Fraction]  # float32 c1..ck
    error: D  # max relative error of the float32 polynomial, evaluated exactly


def fit(table_bits: int, degree: int) -> Fit:
    """The float32 polynomial for a 2^table_bits table (0: none) and degree.

    Coefficients are rounded from c1 up (the most significant first),
    refitting the higher ones after each rounding."""
    with decimal.localcontext(CONTEXT):
        a = ln2() / 2 ** (table_bits + 1)
        coefficients: list[D | None] = [D(1)] + [None] * degree
        minimax, minimax_error = remez(a, coefficients)
        best, rounded = minimax, []
        for k in range(1, degree + 1):
            if k > 1:
                best = remez(a, coefficients)[0]
            rounded.append(float32(best[k]))
            coefficients[k] = _exact(rounded[-1])
        return Fit(table_bits, degree, a, minimax, minimax_error, rounded, max_error(coefficients, a))


# ------------------------------------------------------------ the header


def table(table_bits: int) -> list[Fraction]:
    """2^(j/N) rounded to float32, j = 0 .. N-1."""
    with decimal.localcontext(CONTEXT):
        size = 1 << table_bits
        return [float32((ln2() * j / size).exp()) for j in range(size)]


def table_minus_j(table_bits: int) -> list[Fraction]:
    """The float32 whose bits are those of 2^(j/N) minus j << (23 - b): adding
    (the rounded m = n + j/N in a magic-biased float) << (23 - b) to these bits
    gives 2^n * 2^(j/N) in one integer addition (XNNPACK's trick)."""
    return [from_bits(float32_bits(v) - (j << (23 - table_bits))) for j, v in enumerate(table(table_bits))]


def _c_list(values, per_line: int = 4, indent: str = "    ") -> str:
    literals = [hex_float(v) for v in values]
    lines = [", ".join(literals[i : i + per_line]) for i in range(0, len(literals), per_line)]
    return (",\n" + indent).join(lines)


def _poly_name(table_bits: int, degree: int) -> str:
    return f"EXP_POLY_{'LUT' + str(1 << table_bits) + '_' if table_bits else ''}P{degree}"


def render() -> str:
    from . import registry

    exps = list(registry.EXPS.values())
    polys = sorted({(e.table_bits, e.degree) for e in exps if e.coefficients == "remez"})
    tables = sorted({e.table_bits for e in exps if e.table_bits})
    out = [
        "/* Generated by `python -m kernels.remez` (kernels/remez.py) from the exp",
        " * variants of kernels/registry.py: do not edit; tests/test_remez.py checks that",
        " * regenerating it gives this file byte for byte.",
        " *",
        " * EXP_POLY_[LUTn_]Pk: c1..ck of p(t) = 1 + c1 t + ... + ck t^k ~ e^t on",
        " * [-ln2/(2n), ln2/(2n)] (n = 1 without a table), minimax in relative error.",
        " * \"minimax\" is the error of the exact minimax polynomial, \"float32\" that of",
        " * these rounded coefficients (rounded one at a time, the rest refitted),",
        " * both evaluated exactly. */",
        "#ifndef SOFTMAX_EXP_COEFFICIENTS_H",
        "#define SOFTMAX_EXP_COEFFICIENTS_H",
        "",
        f"/* ln 2 rounded to float32, for one-constant reductions (t = z - m ln2). */",
        f"#define EXP_MINUS_LN2 {hex_float(-float32(ln2()))}",
        "",
    ]
    for table_bits, degree in polys:
        f = fit(table_bits, degree)
        out.append(
            f"/* |t| <= {float(f.half_width):.6g}: minimax {float(f.minimax_error):.4e}, "
            f"float32 {float(f.error):.4e} */"
        )
        out.append(f"#define {_poly_name(table_bits, degree)} {{{_c_list(f.coefficients, 5, '')}}}")
    for table_bits in tables:
        n = 1 << table_bits
        out += [
            "",
            f"/* 2^(j/{n}), j = 0..{n - 1}, rounded to float32. */",
            f"static const float exp2_k_over_{n}[{n}] = {{",
            f"    {_c_list(table(table_bits))}}};",
            f"/* The same with j << {23 - table_bits} subtracted from each one's bits. */",
            f"static const float exp2_k_over_{n}_minus_j[{n}] = {{",
            f"    {_c_list(table_minus_j(table_bits))}}};",
        ]
    out += ["", "/* The exponentials of kernels/registry.py EXPS (see exp_family.h). */"]
    for e in exps:
        n = 1 << e.table_bits
        coefficients = "{EXP_C1, EXP_C2, EXP_C3, EXP_C4, EXP_C5}" if e.coefficients == "paper" else (
            _poly_name(e.table_bits, e.degree)
        )
        tables_c = f"exp2_k_over_{n}, exp2_k_over_{n}_minus_j" if e.table_bits else "NULL, NULL"
        out.append(
            f"static const exp_spec_t exp_{e.name} = "
            f"{{{int(e.coefficients == 'paper')}, {e.reductions}, {e.table_bits}, {e.degree}, "
            f"{coefficients}, {tables_c}}};"
        )
    out += ["", "#endif /* SOFTMAX_EXP_COEFFICIENTS_H */", ""]
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kernels.remez", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the checked-in header; write nothing")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        same = HEADER.exists() and HEADER.read_text() == text
        print(f"{HEADER}: {'up to date' if same else 'differs from a fresh fit'}")
        return 0 if same else 1
    HEADER.write_text(text)
    print(f"wrote {HEADER}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
