"""The error budget (kernels.bench.error_budget): all-float64 configurations
are float64 softmax; a component alone in float32 carries the error of its
rounding and dominates; the first-order bound holds."""

import numpy as np
import pytest

from kernels.bench import error_budget as eb
from kernels.contracts import reference

U = eb.U


@pytest.fixture(scope="module")
def rows():
    return np.random.default_rng(3).normal(0, 10, (3, 1000)).astype(np.float32)


@pytest.mark.parametrize("structure", list(eb.STRUCTURES))
def test_all_float64_is_float64_softmax(structure, rows):
    y = eb.ALGORITHMS[structure](rows)
    assert eb.relative_errors(y, reference(rows)).max() < 1e-13


@pytest.mark.parametrize("structure, component", [(s, c) for s, cs in eb.STRUCTURES.items() for c in cs])
def test_a_component_alone_in_float32_carries_the_error(structure, component, rows):
    """Alone in float32, a component's rounding is the whole error: float32-sized
    (all float64 is below 1e-13) and within the first-order bound."""
    alone = eb.relative_errors(eb.ALGORITHMS[structure](rows, [component]), reference(rows)).max()
    assert 1e-2 * U < alone <= eb.first_order_bound(rows, structure).max()


def test_subtraction_dominates_three_pass_on_wide_rows(rows):
    """N(0, 10) rows span tens of units: u |x - max| outweighs every other rounding."""
    table = eb.shares(eb.budget(rows))
    three = table[table["structure"] == "three-pass"].set_index("component")
    assert three["share"].idxmax() == "subtraction"
    assert three.loc["subtraction", "alone"] > 5 * three.drop("subtraction")["alone"].max()


def test_the_float32_sum_rounds_every_addition():
    """n equal terms summed by one float32 accumulator: 1 + n 2^-24 stays 1
    (each addition of 2^-24 to 1 rounds away), the float64 sum does not."""
    terms = np.array([[1.0] + [2.0**-24] * 64])
    assert eb.accumulate(terms, in_float32=True, lanes=1)[0] == 1.0
    assert eb.accumulate(terms, in_float32=False)[0] == 1.0 + 64 * 2.0**-24
    # 16 lanes: each lane's small terms also start from 0 and add exactly
    assert eb.accumulate(terms, in_float32=True, lanes=16)[0] > 1.0


@pytest.mark.parametrize("structure", list(eb.STRUCTURES))
def test_all_float32_stays_within_the_first_order_bound(structure, rows):
    y = eb.ALGORITHMS[structure](rows, eb.STRUCTURES[structure])
    assert (eb.relative_errors(y, reference(rows)) <= eb.first_order_bound(rows, structure)).all()


def test_shares_sum_to_one_per_structure(rows):
    table = eb.shares(eb.budget(rows))
    assert np.allclose(table.groupby("structure")["share"].sum(), 1.0)
