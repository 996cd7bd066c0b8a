"""Shared fixtures: which ISAs run here, float64 references, tolerances."""

import numpy as np
import pytest

import kernels
from kernels import registry

RUNNABLE = kernels.available_isas()


def isa_param(isa):
    """A pytest param for an ISA, skipped with a reason where this CPU lacks it."""
    return pytest.param(
        isa,
        id=isa,
        marks=pytest.mark.skipif(isa not in RUNNABLE, reason=f"this CPU cannot run {isa} kernels"),
    )


ISA_PARAMS = [isa_param(isa) for isa in registry.ISAS]


def variant_params(family=None):
    """Registered variants as params, skipped (with the reason) where the ISA cannot run."""
    return [
        pytest.param(
            v,
            id=v.name,
            marks=pytest.mark.skipif(v.isa not in RUNNABLE, reason=f"this CPU cannot run {v.isa} kernels"),
        )
        for v in registry.variants(family)
    ]


def reference_softmax(x):
    """float64 softmax over the last axis with scipy's non-finite rule."""
    from scipy.special import softmax

    x = np.asarray(x, np.float64)
    if x.size == 0:
        return x.copy()  # scipy raises on empty input
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf in NaN rows is the rule
        return softmax(x, axis=-1)


def assert_softmax_close(y, x, algorithm, *, tiny=1e-30):
    """The accuracy contract, per output >= tiny:
    two-pass: relative error <= 1e-6;
    three-pass and online: <= 1e-6 + |x_i - max| * 2^-24 (x - max is rounded to float32).
    Outputs below tiny must stay below 2 * tiny; NaN exactly where the reference has NaN."""
    ref = reference_softmax(x)
    y = np.asarray(y, np.float64)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref), err_msg="NaN pattern differs")
    finite = ~np.isnan(ref)
    big = finite & (ref >= tiny)
    if algorithm == "two-pass":
        bound = np.full(ref.shape, 1e-6)
    else:
        xmax = np.max(np.asarray(x, np.float64), axis=-1, keepdims=True, initial=-np.inf)
        with np.errstate(invalid="ignore"):
            spread = np.abs(np.asarray(x, np.float64) - xmax)
        bound = 1e-6 + np.where(np.isfinite(spread), spread, 0.0) * 2.0**-24
    rel = np.zeros(ref.shape)
    rel[big] = np.abs(y[big] - ref[big]) / ref[big]
    worst = np.unravel_index(np.argmax(rel - bound), rel.shape) if rel.size else None
    assert np.all(rel[big] <= bound[big]), (
        f"{algorithm}: relative error {rel[worst]:.3g} > bound {bound[worst]:.3g} "
        f"at {worst} (x={np.asarray(x)[worst]!r}, y={y[worst]!r}, ref={ref[worst]!r})"
    )
    small = finite & ~big
    assert np.all(y[small] <= 2 * tiny), "outputs below the accuracy floor are not small"
    assert np.all(y[finite] >= 0)


def max_relative_error(y, x, floor=1e-30):
    ref = reference_softmax(x)
    mask = ref >= floor
    return float(np.max(np.abs(np.asarray(y, np.float64)[mask] - ref[mask]) / ref[mask]))


@pytest.fixture
def rng():
    return np.random.default_rng(20200113)
