"""kernels.softmax: every algorithm on every runnable ISA, for good and bad inputs."""

import numpy as np
import pytest
from conftest import assert_softmax_close, error_bound, reference_softmax
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import kernels
from kernels import registry

ALGORITHMS = registry.ALGORITHMS
FLT_MAX = float(np.finfo(np.float32).max)


def tiles(algorithm, isa):
    return sorted({v.tile for v in kernels.Plan(algorithm, isa).variants.values()})


def test_sizes_around_every_tile(algorithm, isa, rng):
    """0 ... 3*tile+1 and tile multiples for every kernel the plan runs."""
    biggest = max(tiles(algorithm, isa))
    for n in sorted(set(range(0, 3 * biggest + 2)) | {biggest * k for k in (4, 8, 33)}):
        x = rng.normal(0, 10, n).astype(np.float32)
        assert_softmax_close(kernels.softmax(x, algorithm=algorithm, isa=isa), x, algorithm)


@pytest.mark.parametrize(
    "low, high",
    [(-1000, 1000), (90, 100), (-100, -90), (1e4, 1e4 + 50), (-3e4, -3e4 + 80), (0, 0)],
    ids=["pm1000", "90-100", "negative", "1e4", "-3e4", "constant"],
)
def test_spreads_where_plain_exp_overflows(algorithm, isa, low, high, rng):
    x = rng.uniform(low, high, (3, 1001)).astype(np.float32)
    assert_softmax_close(kernels.softmax(x, algorithm=algorithm, isa=isa), x, algorithm)


@pytest.mark.parametrize("magnitude", [6.5e4, 1e5, 1e7, 1e20, 1e30, FLT_MAX])
def test_huge_magnitudes(algorithm, isa, magnitude, rng):
    """Finite inputs up to float32's max, beyond ExtExp's accurate range: the
    two-pass path falls back to its guarded form and stays exact."""
    for sign in (1, -1):
        top = np.float32(sign * magnitude)
        # Neighbours of top, a few float steps or up to 60 away toward zero.
        step = max(magnitude * 2.0**-23, 0.5)
        near = sign * (magnitude - rng.integers(0, 120, 200) * step)
        x = np.concatenate([near, rng.normal(0, 1, 50), [top]]).astype(np.float32)
        rng.shuffle(x)
        assert_softmax_close(kernels.softmax(x, algorithm=algorithm, isa=isa), x, algorithm)
    extremes = np.array([FLT_MAX, -FLT_MAX, 0.0, FLT_MAX, -1.0], np.float32)
    assert_softmax_close(kernels.softmax(extremes, algorithm=algorithm, isa=isa), extremes, algorithm)


@pytest.mark.parametrize("n", [46, 1000, 1 << 20])
def test_many_identical_small_terms(algorithm, isa, n):
    """One large term and many identical small ones: float sums that add the
    small terms to the large partial sum one at a time round the same way
    every time (hypothesis found [7, 0 x 45] at 1.02e-6 with such sums)."""
    for big in (7.0, 20.0):
        x = np.zeros(n, np.float32)
        x[n // 3] = big
        assert_softmax_close(kernels.softmax(x, algorithm=algorithm, isa=isa), x, algorithm)


def test_sums_to_one(algorithm, isa, rng):
    """Each row sums to 1 within the reference-weighted mean of its elements' bounds."""
    x = rng.normal(0, 10, (7, 4099)).astype(np.float32)
    y = kernels.softmax(x, algorithm=algorithm, isa=isa)
    tolerance = np.sum(reference_softmax(x) * error_bound(x, algorithm), axis=-1)
    assert np.all(np.abs(y.astype(np.float64).sum(axis=-1) - 1.0) <= tolerance)


NON_FINITE_ROWS = {
    "nan": [1.0, np.nan, 2.0],
    "pos-inf": [1.0, np.inf, 2.0],
    "two-pos-inf": [np.inf, np.inf],
    "neg-inf": [1.0, -np.inf, 2.0],
    "all-neg-inf": [-np.inf, -np.inf, -np.inf],
    "pos-and-neg-inf": [np.inf, -np.inf, 0.0],
    "nan-and-inf": [np.nan, np.inf, -np.inf],
    "single-neg-inf": [-np.inf],
    "single-nan": [np.nan],
    "huge-and-neg-inf": [3e38, -np.inf, 2.9e38],
}


BACKGROUNDS = {
    "normal(0,3)": lambda rng, n: rng.normal(0, 3, n),
    "normal(0,10)": lambda rng, n: rng.normal(0, 10, n),
    "uniform(-1000,1000)": lambda rng, n: rng.uniform(-1000, 1000, n),
}


@pytest.mark.parametrize("background", BACKGROUNDS.values(), ids=BACKGROUNDS.keys())
@pytest.mark.parametrize("row", NON_FINITE_ROWS.values(), ids=NON_FINITE_ROWS.keys())
def test_non_finite_rule_matches_scipy(algorithm, isa, row, background, rng):
    """A row with NaN or +inf, or only -inf, is all NaN; -inf elsewhere gives 0.
    Checked in short rows and embedded in long ones of each spread (to reach
    every SIMD path, and the guarded two-pass path with wide-ranging values)."""
    short = np.array(row, np.float32)
    long = np.insert(background(rng, 517).astype(np.float32), 200, short)
    for x in (short, long):
        y = kernels.softmax(x, algorithm=algorithm, isa=isa)
        ref = reference_softmax(x)
        np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
        np.testing.assert_array_equal(y[np.isneginf(x) & ~np.isnan(ref)], 0.0)
        assert_softmax_close(y, x, algorithm)


@pytest.mark.parametrize("spread", [3.0, 10.0, 30.0])
def test_attention_masks(algorithm, isa, spread, rng):
    """Attention-like scores: a causal mask (-inf above the diagonal) and
    padding (the last columns -inf), rows of 1 ... 300 live elements, keep
    the algorithm's accuracy.  Two-pass rows with -inf take the guarded path,
    except with AVX-512, whose fast path already gives e^-inf = 0 exactly
    (VSCALEFPS scales ExtExp's NaN mantissa by 2^-inf to 0)."""
    rows, n = 300, 320
    x = rng.normal(0, spread, (rows, n)).astype(np.float32)
    x[np.arange(n)[None, :] > np.arange(rows)[:, None]] = -np.inf
    x[:, n - 7:] = -np.inf
    plan = kernels.Plan(algorithm, isa)
    y = plan(x)
    np.testing.assert_array_equal(y[np.isneginf(x)], 0.0)
    assert_softmax_close(y, x, algorithm)
    if algorithm == "two-pass":
        assert plan.last_guarded_rows == (0 if isa == "avx512f" else rows)


def test_non_finite_rows_identical_across_algorithms_and_isas(rng):
    x = rng.normal(0, 3, (len(NON_FINITE_ROWS), 40)).astype(np.float32)
    for i, row in enumerate(NON_FINITE_ROWS.values()):
        x[i, 3 : 3 + len(row)] = row
    special = ~np.isfinite(reference_softmax(x)) | np.isneginf(x)
    results = [
        kernels.softmax(x, algorithm=a, isa=i)[special]
        for a in ALGORITHMS
        for i in kernels.available_isas()
    ]
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def test_rows_are_independent(algorithm, isa, rng):
    x = rng.normal(0, 5, (5, 333)).astype(np.float32)
    x[2, 7] = np.nan
    y = kernels.softmax(x, algorithm=algorithm, isa=isa)
    for r in range(5):
        np.testing.assert_array_equal(y[r], kernels.softmax(x[r], algorithm=algorithm, isa=isa))


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 5), (2, 0, 4), (1,), (2, 3, 4, 5)])
def test_shapes_including_empty(algorithm, isa, shape, rng):
    x = rng.normal(0, 5, shape).astype(np.float32)
    y = kernels.softmax(x, algorithm=algorithm, isa=isa)
    assert y.shape == x.shape and y.dtype == np.float32
    assert_softmax_close(y, x, algorithm)


def test_in_place(algorithm, isa, rng):
    x = rng.normal(0, 10, (4, 1000)).astype(np.float32)
    expected = kernels.softmax(x, algorithm=algorithm, isa=isa)
    out = kernels.softmax(x, algorithm=algorithm, isa=isa, out=x)
    assert out is x
    np.testing.assert_array_equal(x, expected)


def test_out_argument(algorithm, isa, rng):
    x = rng.normal(0, 10, (3, 257)).astype(np.float32)
    out = np.empty_like(x)
    assert kernels.softmax(x, algorithm=algorithm, isa=isa, out=out) is out
    np.testing.assert_array_equal(out, kernels.softmax(x, algorithm=algorithm, isa=isa))


def test_non_contiguous_and_read_only_inputs(algorithm, isa, rng):
    base = rng.normal(0, 10, (6, 400)).astype(np.float32)
    for x in (base[::2], base[:, ::3], base.T, base[:, 1:]):
        assert_softmax_close(kernels.softmax(x, algorithm=algorithm, isa=isa), x, algorithm)
    frozen = base.copy()
    frozen.flags.writeable = False
    assert_softmax_close(kernels.softmax(frozen, algorithm=algorithm, isa=isa), frozen, algorithm)


def test_unaligned_input(algorithm, isa, rng):
    raw = np.zeros(4 * 301 + 1, np.uint8)
    x = raw[1:].view(np.float32)
    assert not x.flags.aligned
    x[:] = rng.normal(0, 10, 301)
    assert_softmax_close(kernels.softmax(x, algorithm=algorithm, isa=isa), x, algorithm)


# ---------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    "bad, error, words",
    [
        ([1.0, 2.0], TypeError, "numpy.ndarray"),
        (np.ones(4, np.float64), TypeError, "float32"),
        (np.ones(4, np.int32), TypeError, "float32"),
        (np.float32(1.0), TypeError, "numpy.ndarray"),
        (np.array(1.0, np.float32), ValueError, "at least one dimension"),
        (np.ones(4, ">f4"), TypeError, "float32"),
    ],
)
def test_bad_x(bad, error, words):
    with pytest.raises(error, match=words):
        kernels.softmax(bad)


def test_bad_out():
    x = np.ones((2, 8), np.float32)
    cases = [
        ([0.0] * 16, TypeError, "numpy.ndarray"),
        (np.empty((2, 8), np.float64), TypeError, "float32"),
        (np.empty((2, 9), np.float32), ValueError, "shape"),
        (np.empty((8, 2), np.float32).T, ValueError, "C-contiguous"),
        (np.empty(16, np.float32), ValueError, "shape"),
        (np.empty((2, 8), ">f4"), TypeError, "float32"),
    ]
    frozen = np.empty((2, 8), np.float32)
    frozen.flags.writeable = False
    cases.append((frozen, ValueError, "read-only"))
    for out, error, words in cases:
        with pytest.raises(error, match=words):
            kernels.softmax(x, out=out)
    with pytest.raises(ValueError, match="read-only"):
        kernels.softmax(frozen, out=frozen)
    overlapping = np.ones(17, np.float32)
    for x_part, out_part in ((slice(0, 16), slice(1, 17)), (slice(1, 17), slice(0, 16))):
        with pytest.raises(ValueError, match="overlaps"):
            kernels.softmax(overlapping[x_part].reshape(2, 8), out=overlapping[out_part].reshape(2, 8))
    assert (overlapping == 1).all()


def test_new_output_avoids_4k_aliasing(rng):
    """An output softmax allocates never starts just past x modulo a page,
    where loads of x would stall behind stores to it, wherever x starts."""
    raw = rng.normal(0, 10, 5000 + 1024).astype(np.float32)
    page_start = (-raw.ctypes.data % 4096) // 4
    for shift in range(0, 1024, 4):
        x = raw[page_start + shift :][:5000]
        y = kernels.softmax(x, algorithm="two-pass")
        assert not 0 < (y.ctypes.data - x.ctypes.data) % 4096 < 512
        assert_softmax_close(y, x, "two-pass")


class _Tagged(np.ndarray):
    """An ndarray subclass: softmax takes its general path, not the C fast path."""


def test_general_and_fast_paths_agree(algorithm, isa, rng):
    x = rng.normal(0, 10, (3, 517)).astype(np.float32)
    fast = kernels.softmax(x, algorithm=algorithm, isa=isa)
    general = kernels.softmax(x.view(_Tagged), algorithm=algorithm, isa=isa, out=np.empty_like(x).view(_Tagged))
    np.testing.assert_array_equal(fast, np.asarray(general))


def test_bad_algorithm_and_isa():
    x = np.ones(4, np.float32)
    with pytest.raises(ValueError, match="unknown algorithm"):
        kernels.softmax(x, algorithm="four-pass")
    with pytest.raises(kernels.UnsupportedISAError, match="unknown ISA"):
        kernels.softmax(x, isa="sse9")


# --------------------------------------------------------- property tests

finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False)
any32 = st.floats(width=32, allow_nan=True, allow_infinity=True)
moderate32 = st.floats(-200, 200, width=32)


@st.composite
def softmax_inputs(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=70))
    elements = draw(st.sampled_from([moderate32, finite32, any32]))
    return draw(hnp.arrays(np.float32, shape, elements=elements))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=softmax_inputs(), algorithm=st.sampled_from(ALGORITHMS))
def test_property_matches_reference_on_every_isa(x, algorithm):
    for isa in kernels.available_isas():
        assert_softmax_close(kernels.softmax(x, algorithm=algorithm, isa=isa), x, algorithm)
