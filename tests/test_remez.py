"""The Remez generator: regenerating csrc/exp_coefficients.h gives the checked-in
file byte for byte, and its pieces do what they say."""

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from kernels import registry, remez


def test_regenerating_the_header_gives_the_checked_in_file():
    assert remez.render() == remez.HEADER.read_text(), "run `python -m kernels.remez` and commit the header"


@pytest.mark.parametrize("value", [0.1, 1 / 3, 0.99999997, 1.0 + 2.0**-24, 2.0**-30 * 1.5, 123456.789])
def test_float32_rounding_is_exact_round_to_nearest(value):
    """float32() against numpy's conversion from the double (exact here: each
    value is far from a float32 tie)."""
    assert remez.float32(Decimal(value)) == Fraction(float(np.float32(value)))


def test_hex_literals_are_the_float32_values():
    for value in (Fraction(1), Fraction(3, 4), Fraction(float(np.float32(0.1)))):
        literal = remez.hex_float(value)
        assert literal.endswith("f") and float.fromhex(literal[:-1]) == value


def test_minimax_error_equioscillates():
    """The exact fit levels its error: every extremum of err is as large as
    the maximum (none left above, the definition of minimax)."""
    a = remez.ln2() / 2
    coefficients, worst = remez.remez(a, [Decimal(1)] + [None] * 4)
    # four free coefficients and the level: five alternation points
    levels = sorted(abs(e) for _, e in remez.extrema(coefficients, a))[-5:]
    assert float(levels[-1] - levels[0]) <= 1e-15 * float(worst)


@pytest.mark.parametrize("exp", [e for e in registry.EXPS.values() if e.coefficients == "remez"], ids=str)
def test_float32_coefficients_stay_close_to_minimax(exp):
    """Rounding to float32 one coefficient at a time costs at most a few
    percent over the exact minimax error (naive rounding of c1 alone can cost
    |t| 2^-25, which is 10% for degree 5)."""
    fit = remez.fit(exp.table_bits, exp.degree)
    assert fit.minimax_error <= fit.error <= fit.minimax_error * Decimal("1.03") + Decimal("1e-10")


def test_the_paper_coefficients_are_no_better_than_ours():
    paper = [Fraction(float.fromhex(h)) for h in ("0x1.FFFFF6p-1", "0x1.FFFDC6p-2", "0x1.555A80p-3",
                                                  "0x1.573A1Ap-5", "0x1.0F9F9Cp-7")]
    a = remez.ln2() / 2
    ours = remez.fit(0, 5)
    assert ours.error <= remez.max_error([Decimal(1)] + [remez._exact(c) for c in paper], a)


def test_tables_hold_rounded_powers_of_two():
    for bits in (3, 4, 5):
        n = 1 << bits
        assert [float(v) for v in remez.table(bits)] == [float(np.float32(2.0 ** (j / n))) for j in range(n)]
        adjusted = remez.table_minus_j(bits)
        for j, (plain, shifted) in enumerate(zip(remez.table(bits), adjusted)):
            assert remez.float32_bits(plain) - remez.float32_bits(shifted) == j << (23 - bits)
