"""Threads: rows spread across threads, one row split across threads, every
algorithm on every runnable ISA, the non-finite rule at the row level,
determinism, the thread policy, `threads` validation and torch in the same
process.  Plans use ThreadPolicy(0, 0) so that small test shapes really run
threaded (each test asserts the schedule it means to exercise)."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import assert_softmax_close, reference_softmax

import kernels
from kernels import api, build, registry, tuning

ANY_SIZE = tuning.ThreadPolicy(min_elements_per_thread=0, min_split_chunk=0)
THREADS = (1, 2, 3, 7)  # 3 and 7: more threads than this machine's cores
FLT_MAX = float(np.finfo(np.float32).max)
needs_openmp = pytest.mark.skipif(not build.load().openmp(), reason="kernels built without OpenMP")


@pytest.fixture
def fresh_plans():
    api.forget_plans()
    yield
    api.forget_plans()


def plan(algorithm, isa, threads, **kw):
    return kernels.Plan(algorithm, isa, threads=threads, policy=ANY_SIZE, **kw)


# shapes: rows fewer than threads, one row shorter than a tile, rows of length
# 1, n not a multiple of any tile, empty rows, more rows than threads
SHAPES = [(1, 5000), (2, 1000), (1, 5), (9, 1), (5, 1001), (3, 0), (0, 7), (50, 130), (6, 4099), (3, 20000)]


@pytest.mark.parametrize("threads", THREADS)
def test_every_shape_within_bounds_and_deterministic(algorithm, isa, threads, rng):
    p = plan(algorithm, isa, threads)
    alone = plan(algorithm, isa, 1)
    for shape in SHAPES:
        x = rng.normal(0, 10, shape).astype(np.float32)
        y = p(x)
        assert_softmax_close(y, x, algorithm)
        np.testing.assert_array_equal(p(x), y, err_msg=f"{shape}: two calls differ")
        if p.schedule(shape)[1] != "split rows":  # whole rows are computed exactly as on one thread
            np.testing.assert_array_equal(y, alone(x), err_msg=f"{shape}: spread rows differ from one thread")


SCHEDULES = {  # threads: {shape: (threads used, mode)}
    2: {(1, 5000): (2, "split rows"), (2, 1000): (2, "spread rows"), (3, 20000): (2, "split rows"),
        (50, 130): (2, "spread rows"), (1, 5): (1, "one thread"), (9, 1): (2, "spread rows")},
    3: {(1, 5000): (3, "split rows"), (2, 1000): (3, "split rows"), (3, 20000): (3, "spread rows"),
        (6, 4099): (3, "spread rows")},
    7: {(1, 5000): (7, "split rows"), (2, 1000): (7, "split rows"), (50, 130): (7, "spread rows"),
        (6, 4099): (6, "spread rows"), (9, 1): (7, "spread rows")},
}


@needs_openmp
@pytest.mark.parametrize("threads", SCHEDULES)
def test_shapes_cover_every_schedule(algorithm, threads):
    """Rows split when they would share threads unevenly (under 80% busy)
    and are long enough; whole rows per thread otherwise."""
    p = plan(algorithm, None, threads)
    for shape, schedule in SCHEDULES[threads].items():
        assert p.schedule(shape) == schedule, shape


@needs_openmp
def test_output_does_not_depend_on_output_placement(algorithm, isa, rng):
    """The partition depends on the shape only, never on addresses."""
    x = rng.normal(0, 10, (1, 20_011)).astype(np.float32)
    p = plan(algorithm, isa, 3)
    assert p.schedule(x.shape)[1] == "split rows"
    expected = p(x)
    raw = np.empty(x.size + 64, np.float32)
    for shift in (1, 5, 16, 37):
        out = raw[shift : shift + x.size].reshape(x.shape)
        np.testing.assert_array_equal(p(x, out), expected)


@pytest.mark.parametrize("threads", (2, 3, 7))
def test_in_place(algorithm, isa, threads, rng):
    for shape in ((1, 9000), (40, 300)):
        x = rng.normal(0, 10, shape).astype(np.float32)
        expected = plan(algorithm, isa, threads)(x)
        assert plan(algorithm, isa, threads)(x, x) is x
        np.testing.assert_array_equal(x, expected)


SPECIAL = {"nan": np.nan, "pos-inf": np.inf, "neg-inf": -np.inf, "huge": 1e5, "minus-huge": -1e30,
           "flt-max": FLT_MAX}


@needs_openmp
@pytest.mark.parametrize("special", SPECIAL.values(), ids=SPECIAL.keys())
@pytest.mark.parametrize("threads", (2, 3, 7))
def test_split_row_whose_chunks_take_different_paths(algorithm, isa, special, threads, rng):
    """One chunk holds a value that sends the row down a guarded path (or
    none): the whole row takes the path it takes on one thread."""
    n = 4000
    for where in (10, n // 2 + 3, n - 1):  # first, middle and last chunk
        x = rng.normal(0, 3, (1, n)).astype(np.float32)
        x[0, where] = special
        p, alone = plan(algorithm, isa, threads), plan(algorithm, isa, 1)
        assert p.schedule(x.shape)[1] == "split rows"
        y, y1 = p(x), alone(x)
        assert p.last_guarded_rows == alone.last_guarded_rows, "the row took another path than on one thread"
        np.testing.assert_array_equal(np.isnan(y), np.isnan(y1))
        np.testing.assert_array_equal(y[np.isneginf(x)], 0.0)
        if np.isnan(reference_softmax(x)).any():
            assert np.isnan(y).all()
        else:
            assert_softmax_close(y, x, algorithm)


NON_FINITE_ROWS = [[1.0, np.nan, 2.0], [1.0, np.inf, 2.0], [np.inf, np.inf], [1.0, -np.inf, 2.0],
                   [-np.inf] * 3, [np.inf, -np.inf, 0.0], [np.nan, np.inf, -np.inf], [3e38, -np.inf, 2.9e38],
                   [7e4, 6.9e4]]


@pytest.mark.parametrize("threads", (2, 3, 7))
def test_mixed_non_finite_rows_in_a_threaded_batch(algorithm, isa, threads, rng):
    """Spread rows: every row exactly as on one thread.  Split rows (a few
    long ones): the same NaN pattern, zeros and guarded-row count."""
    for rows, n in ((23, 700), (2, 9000)):
        x = rng.normal(0, 3, (rows, n)).astype(np.float32)
        for i, special in enumerate(NON_FINITE_ROWS):
            r = (5 * i + 1) % rows
            x[r, 50 + 3 * i : 50 + 3 * i + len(special)] = special
        p, alone = plan(algorithm, isa, threads), plan(algorithm, isa, 1)
        y, y1 = p(x), alone(x)
        assert p.last_guarded_rows == alone.last_guarded_rows
        if p.schedule(x.shape)[1] == "spread rows":
            np.testing.assert_array_equal(y, y1)
        else:
            np.testing.assert_array_equal(np.isnan(y), np.isnan(y1))
            np.testing.assert_array_equal(y[np.isneginf(x)], y1[np.isneginf(x)])
        assert_softmax_close(y, x, algorithm)


@pytest.mark.slow
def test_large_row_on_two_threads(algorithm, rng):
    """One row of 2^22, split: within the accuracy bound, like one thread."""
    x = rng.normal(0, 10, 1 << 22).astype(np.float32)
    assert_softmax_close(kernels.softmax(x, algorithm=algorithm, threads=2), x, algorithm)


# ------------------------------------------------------------- thread policy


def test_small_work_runs_on_one_thread():
    p = kernels.Plan("two-pass", threads=2)
    policy = tuning.thread_policy(p.isa)
    assert p.schedule((1, 128)) == (1, "one thread")
    assert p.schedule((1, 2 * policy.min_elements_per_thread - 1)) == (1, "one thread")
    if build.load().openmp():
        assert p.schedule((64, 2 * policy.min_elements_per_thread // 64)) == (2, "spread rows")
        assert p.schedule((1, 4 * policy.min_split_chunk)) == (2, "split rows")


def test_stored_thread_policy_and_decision_map(tmp_path, monkeypatch, fresh_plans):
    monkeypatch.setattr(tuning, "dispatch_path", lambda: tmp_path / "dispatch.json")
    isa = api.resolve_isa()
    decisions = {isa: {"rows": {
        "1": {"n": [1, 1000], "rows": [1, 10], "algorithm": [["online", "three-pass-recompute"],
                                                             ["two-pass", "three-pass-reload"]]},
        "2": {"n": [1], "rows": [1], "algorithm": [["online"]]},
    }}}
    tuning.save_dispatch(decisions, {isa: {"min_elements_per_thread": 10**9, "min_split_chunk": 1}}, {"by": "test"})
    try:
        assert tuning.thread_policy(isa) == tuning.ThreadPolicy(10**9, 1)
        assert kernels.Plan("two-pass", threads=2).schedule((64, 1 << 16)) == (1, "one thread")
        assert api.plan_for("two-pass", None, 1 << 16, threads=2).schedule((64, 1 << 16)) == (1, "one thread")
        expect = {(1, 5): "online", (10, 5): "three-pass-recompute", (1, 1000): "two-pass",
                  (500, 4000): "three-pass-reload"}
        for (rows, n), algorithm in expect.items():
            assert tuning.choose_algorithm(isa, "rows", n, rows, 1) == algorithm
            assert kernels.choose_algorithm((rows, n), threads=1) == algorithm
        assert tuning.choose_algorithm(isa, "rows", 4000, 500, 7) == "online"  # the largest stored count <= 7
        assert tuning.choose_algorithm(isa, "columns", 5, 5, 1) == tuning.default_algorithm(isa, "columns", 5, 5, 1)
    finally:
        tuning.forget_cached_choices()


def test_auto_returns_what_the_algorithm_it_picked_returns(rng, fresh_plans):
    for shape, axis in (((1, 128), -1), ((4, 32000), -1), ((3, 1 << 18), -1), ((64, 20, 9), 1), ((300,), 0)):
        x = rng.normal(0, 5, shape).astype(np.float32)
        for threads in (1, 2):
            picked = kernels.choose_algorithm(shape, axis=axis, threads=threads)
            assert picked in registry.ALGORITHMS
            assert kernels.Plan(threads=threads, axis=axis).algorithm_for(shape) == picked
            auto = kernels.softmax(x, axis=axis, threads=threads)
            np.testing.assert_array_equal(auto, kernels.softmax(x, axis=axis, algorithm=picked, threads=threads))
            np.testing.assert_array_equal(kernels.Plan(threads=threads, axis=axis)(x), auto)


def test_default_auto_follows_row_length_and_batch_size(tmp_path, monkeypatch, fresh_plans):
    """Without stored choices: reload for short rows and for batches streaming
    from memory, two-pass for long rows and for cached batches of mid rows."""
    monkeypatch.setattr(tuning, "dispatch_path", lambda: tmp_path / "none.json")
    tuning.forget_cached_choices()
    assert kernels.choose_algorithm((64, 128)) == "three-pass-reload"
    assert kernels.choose_algorithm((1, 1 << 24)) == "two-pass"
    assert kernels.choose_algorithm((4, 8192)) == "two-pass"
    assert kernels.choose_algorithm((8192, 8192)) == "three-pass-reload"


@pytest.mark.parametrize("threads", THREADS)
def test_softmax_is_deterministic_call_after_call(threads, rng):
    """Through kernels.softmax (its first call checked in Python, the later
    ones remembered in C): bit-identical results, run after run."""
    for shape in ((1, 100_000), (64, 3000), (3, 40_000)):
        x = rng.normal(0, 5, shape).astype(np.float32)
        first = kernels.softmax(x, threads=threads)
        for _ in range(3):
            np.testing.assert_array_equal(kernels.softmax(x, threads=threads), first)


# ----------------------------------------------------------- the argument


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), (1.0, TypeError), (1.5, TypeError),
                                        (2.5, TypeError),
                                        ("2", TypeError), (True, TypeError), ([2], TypeError)])
def test_bad_threads_are_clear_errors(bad, error):
    x = np.ones((2, 8), np.float32)
    kernels.softmax(x, threads=1)  # a cached entry for 1 must not answer for 1.0 or True
    with pytest.raises(error, match="threads"):
        kernels.softmax(x, threads=bad)
    with pytest.raises(error, match="threads"):
        kernels.Plan("two-pass", threads=bad)


def test_numpy_integers_are_thread_counts(rng):
    x = rng.normal(0, 5, (4, 100)).astype(np.float32)
    np.testing.assert_array_equal(kernels.softmax(x, threads=np.int64(2)), kernels.softmax(x, threads=2))


def test_threads_none_is_every_core_this_process_may_use(monkeypatch, fresh_plans):
    monkeypatch.delenv(api.THREADS_ENV, raising=False)
    api.forget_plans()
    assert kernels.default_threads() == len(os.sched_getaffinity(0))
    assert kernels.Plan("two-pass").threads == kernels.default_threads()
    monkeypatch.setenv(api.THREADS_ENV, "3")
    api.forget_plans()
    assert kernels.default_threads() == 3 and kernels.Plan("online").threads == 3


@pytest.mark.parametrize("garbage", ["two", "0", "-2", "1.5", "4 threads"])
def test_garbage_in_softmax_threads_fails_at_the_first_call(garbage, monkeypatch, fresh_plans):
    monkeypatch.setenv(api.THREADS_ENV, garbage)
    api.forget_plans()
    with pytest.raises(ValueError, match=api.THREADS_ENV):
        kernels.softmax(np.ones(4, np.float32))
    kernels.softmax(np.ones(4, np.float32), threads=1)  # an explicit count does not read it


# ---------------------------------------------------- alongside torch's OpenMP


@needs_openmp
def test_alongside_torch_threads(rng):
    """torch's own OpenMP runtime and ours, alternately in one process."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(2)
    for shape in ((64, 3000), (1, 200_000), (3, 40_000)):
        x = rng.normal(0, 5, shape).astype(np.float32)
        ref = reference_softmax(x)
        for algorithm in registry.ALGORITHMS:
            p = kernels.Plan(algorithm, threads=2, policy=ANY_SIZE)
            for _ in range(3):
                yt = torch.softmax(torch.from_numpy(x), -1).numpy()
                np.testing.assert_allclose(yt, ref, rtol=1e-4, atol=1e-12)
                assert_softmax_close(p(x), x, algorithm)


# ---------------------------------------------------------- the build side


def test_cython_magic_links_openmp_like_the_library():
    args = build.cython_magic_args()
    for flag in build.openmp_args():
        assert f"--compile-args={flag}" in args and f"--link-args={flag}" in args
    assert ("-fopenmp" in build.compile_args()) == (build.openmp_unavailable() is None)


@needs_openmp
def test_threaded_cython_cell():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    build.make_cython_magic_strict(shell)
    cell = textwrap.dedent("""
        cimport openmp
        from cython.parallel import prange

        def thread_ids():
            cdef int ids[2]
            cdef int i
            for i in prange(2, nogil=True, num_threads=2, schedule="static", chunksize=1):
                ids[i] = openmp.omp_get_thread_num()
            return ids[0], ids[1]
    """)
    try:
        shell.run_cell_magic("cython", build.cython_magic_args(), cell)
        assert shell.user_ns["thread_ids"]() == (0, 1)
    finally:
        InteractiveShell.clear_instance()


@pytest.mark.slow
def test_build_without_openmp_falls_back_to_one_thread():
    """SOFTMAX_OPENMP=0 builds (once, cached beside the OpenMP build) without
    OpenMP: loading warns once, and every call runs on one thread."""
    script = textwrap.dedent("""
        import warnings, numpy as np
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import kernels
            x = np.random.default_rng(0).normal(0, 5, (3, 50000)).astype(np.float32)
            y1 = kernels.softmax(x, threads=1, algorithm="two-pass")
            y2 = kernels.softmax(x, threads=2, algorithm="two-pass")
        messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
        assert len(messages) == 1 and "without OpenMP" in messages[0], messages
        assert kernels.max_threads() == 1
        assert kernels.Plan("two-pass", threads=2).schedule(x.shape) == (1, "one thread")
        assert (y1 == y2).all()
        print("fallback ok")
    """)
    env = dict(os.environ, SOFTMAX_OPENMP="0")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fallback ok" in result.stdout
