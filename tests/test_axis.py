"""softmax along any axis: every algorithm on every runnable ISA, the column
kernels at lane counts around their vector and block sizes, threads,
non-contiguous views, out= and in place, non-finite columns, bad axes."""

import numpy as np
import pytest
from conftest import assert_softmax_close

import kernels
from kernels import build, registry, tuning

COLUMN_BLOCK = build.load().COLUMN_BLOCK
ANY_SIZE = tuning.ThreadPolicy(0, 0)


def assert_close_along(y, x, axis, algorithm):
    assert_softmax_close(np.moveaxis(y, axis, -1), np.moveaxis(x, axis, -1), algorithm)


def plan(algorithm, isa, threads, axis):
    return kernels.Plan(algorithm, isa, threads=threads, axis=axis, policy=ANY_SIZE)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_every_axis_of_a_3d_input(algorithm, isa, axis, rng):
    x = rng.normal(0, 10, (5, 7, 33)).astype(np.float32)
    y = kernels.softmax(x, axis=axis, algorithm=algorithm, isa=isa)
    assert_close_along(y, x, axis, algorithm)
    for threads in (2, 3, 7):
        np.testing.assert_array_equal(plan(algorithm, isa, threads, axis)(x), y,
                                      err_msg="columns are independent: any thread count gives the same bits")


@pytest.mark.parametrize("inner", [2, 15, 16, 17, 33, COLUMN_BLOCK - 1, COLUMN_BLOCK + 17, 2 * COLUMN_BLOCK + 5])
def test_lane_counts_around_vectors_and_blocks(algorithm, isa, inner, rng):
    for n in (1, 3, 40):
        x = rng.normal(0, 10, (2, n, inner)).astype(np.float32)
        y = kernels.softmax(x, axis=1, algorithm=algorithm, isa=isa, threads=1)
        assert_close_along(y, x, 1, algorithm)
        np.testing.assert_array_equal(plan(algorithm, isa, 3, 1)(x), y)


@pytest.mark.parametrize("threads", [1, 2, 7])
def test_columns_spread_across_threads(algorithm, threads, rng):
    x = rng.normal(0, 10, (3, 200, 300)).astype(np.float32)
    p = plan(algorithm, None, threads, 1)
    assert p.schedule(x.shape) == ((threads, "spread columns") if threads > 1 else (1, "one thread"))
    assert_close_along(p(x), x, 1, algorithm)
    single = plan(algorithm, None, threads, 0)  # outer == 1: lanes are split into blocks for the threads
    assert single.schedule((64, 40))[0] == min(threads, 3)
    z = rng.normal(0, 10, (64, 40)).astype(np.float32)
    assert_close_along(single(z), z, 0, algorithm)


def test_non_contiguous_views_with_an_axis(algorithm, isa, rng):
    base = rng.normal(0, 10, (8, 30, 50)).astype(np.float32)
    for view in (base[::2], base[:, 1:], base.transpose(2, 0, 1), base[..., ::3]):
        for axis in (0, 1, -1):
            y = kernels.softmax(view, axis=axis, algorithm=algorithm, isa=isa)
            assert y.flags.c_contiguous
            assert_close_along(y, view, axis, algorithm)


def test_out_and_in_place_with_an_axis(algorithm, isa, rng):
    x = rng.normal(0, 10, (40, 6, 70)).astype(np.float32)
    for axis in (0, 1):
        for threads in (1, 2):
            expected = plan(algorithm, isa, threads, axis)(x)
            out = np.empty_like(x)
            assert kernels.softmax(x, axis=axis, algorithm=algorithm, isa=isa, threads=threads, out=out) is out
            np.testing.assert_array_equal(out, expected)
            inplace = x.copy()
            assert plan(algorithm, isa, threads, axis)(inplace, inplace) is inplace
            np.testing.assert_array_equal(inplace, expected)


SPECIAL = [np.nan, np.inf, -np.inf, 1e5, -1e30, 3e38]


@pytest.mark.parametrize("threads", [1, 2])
def test_non_finite_columns_match_the_rows_they_transpose(algorithm, isa, threads, rng):
    """A column with a special value gets what the row algorithm gives it as a
    row: a column taking a guarded path gets exactly those bits, the others
    stay within the bound; NaN, zeros and the guarded count agree."""
    n, lanes = 50, 40
    x = rng.normal(0, 3, (n, lanes)).astype(np.float32)
    for j, special in enumerate(SPECIAL):
        x[(7 * j) % n, 3 * j + 1] = special
    x[:, 30] = -np.inf  # a column of only -inf
    x[5, 31], x[9, 31] = np.inf, -np.inf
    p = plan(algorithm, isa, threads, 0)
    y = p(x)
    rows = kernels.Plan(algorithm, isa, threads=1)
    y_rows = rows(np.ascontiguousarray(x.T)).T
    assert p.last_guarded_rows == rows.last_guarded_rows > 0
    np.testing.assert_array_equal(np.isnan(y), np.isnan(y_rows))
    np.testing.assert_array_equal(y[np.isneginf(x) & ~np.isnan(y)], 0.0)
    for j in range(lanes):
        rows(np.ascontiguousarray(x[:, j]))
        if rows.last_guarded_rows:
            np.testing.assert_array_equal(y[:, j], y_rows[:, j], err_msg=f"guarded column {j} differs from its row")
    assert_close_along(y, x, 0, algorithm)


@pytest.mark.parametrize(
    "axis, error, words",
    [(3, ValueError, "axis 3 is out of bounds"), (-4, ValueError, "axis -4"), (1.0, TypeError, "axis"),
     ("0", TypeError, "axis"), (None, TypeError, "axis"), (True, TypeError, "axis")],
)
def test_bad_axis_is_a_clear_error(axis, error, words):
    x = np.ones((2, 3, 4), np.float32)
    kernels.softmax(x, axis=1)  # a cached entry for 1 must not answer for 1.0 or True
    with pytest.raises(error, match=words):
        kernels.softmax(x, axis=axis)
    with pytest.raises(error, match=words):
        kernels.Plan("two-pass", axis=axis)(x)


def test_axis_of_a_1d_input_and_numpy_integers(rng):
    x = rng.normal(0, 5, 100).astype(np.float32)
    np.testing.assert_array_equal(kernels.softmax(x, axis=0), kernels.softmax(x))
    np.testing.assert_array_equal(kernels.softmax(x, axis=np.int64(-1)), kernels.softmax(x))
