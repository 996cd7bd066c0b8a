"""The numpy reference algorithms (kernels/reference.py): each equal to
softmax in float64, and each the oracle of its C kernels on every runnable ISA."""

import math

import numpy as np
import pytest

import kernels
from kernels import reference
from tests.conftest import RUNNABLE, assert_softmax_close, reference_softmax

ROWS = {
    "normal": lambda rng, n: rng.normal(0, 10, n),
    "wide": lambda rng, n: rng.uniform(-1000, 1000, n),
    "huge": lambda rng, n: rng.uniform(-3.4e38, 3.4e38, n),
    "ties at the maximum": lambda rng, n: np.where(rng.random(n) < 0.3, 5e4, rng.normal(0, 3, n)),
    "rising": lambda rng, n: np.linspace(-500, 500, n),
}


def row(kind, rng, n):
    return ROWS[kind](rng, n).astype(np.float32)


@pytest.mark.parametrize("algorithm", reference.ALGORITHMS)
@pytest.mark.parametrize("kind", ROWS)
@pytest.mark.parametrize("n", [1, 7, 16, 17, 1000])
def test_reference_is_softmax(algorithm, kind, n, rng):
    x = row(kind, rng, n)
    np.testing.assert_allclose(reference.ALGORITHMS[algorithm](x), reference_softmax(x), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("isa", RUNNABLE)
@pytest.mark.parametrize("algorithm", reference.ALGORITHMS)
@pytest.mark.parametrize("kind", ROWS)
def test_kernels_match_their_reference(isa, algorithm, kind, rng):
    x = row(kind, rng, 4099)  # not a multiple of any tile: the tails run too
    y = kernels.softmax(x, algorithm=algorithm, isa=isa)
    assert_softmax_close(y, x, algorithm, ref=reference.ALGORITHMS[algorithm](x))


def test_extexp_pairs():
    x = np.array([-1000.0, -1.0, 0.0, 0.3, 1.0, 89.0, 65000.0])
    m, n = reference.extexp(x)
    assert np.all((m >= 2**-0.5) & (m <= 2**0.5)) and np.array_equal(n, np.rint(n))
    np.testing.assert_allclose(np.log(m) + n * math.log(2), x, rtol=1e-13, atol=1e-13)


def test_add_pairs_is_the_sum():
    m = np.array([1.0, 1.25, 0.75]); n = np.array([3.0, -2.0, 3.0])
    total_m, total_n = reference.add_pairs(m, n)
    assert total_n == 3.0 and total_m * 2**total_n == pytest.approx(8 + 1.25 / 4 + 6)


def test_two_pass_steps_follow_the_running_exponent():
    x = np.array([0.0, 2.0, 1.0, 5.0, -3.0])
    steps = reference.two_pass_steps(x)
    assert [s["rescaled"] for s in steps] == [False, True, False, True, False]
    assert [s["N"] for s in steps] == list(np.maximum.accumulate([s["n"] for s in steps]))
    final = steps[-1]
    assert final["M"] * 2 ** final["N"] == pytest.approx(np.exp(x).sum(), rel=1e-14)


@pytest.mark.parametrize("bad", [[], [[1.0]], [1.0, math.nan], [math.inf, 0.0]])
def test_reference_rejects_what_it_does_not_define(bad):
    with pytest.raises(ValueError, match="reference takes"):
        reference.two_pass(bad)
