"""ISA dispatch: the widest available by default, forced by argument or by
$SOFTMAX_ISA, and a clear error (never SIGILL) for an ISA the CPU lacks;
the decision map "auto" follows (measured by `tune`, looked up at the
nearest point) and the calls softmax remembers in C."""

import dataclasses
import json

import numpy as np
import pytest
from conftest import ISA_PARAMS

import kernels
from kernels import api, registry, tuning
from kernels.bench import cli, tune, tune_dispatch


def test_available_isas_are_ordered_and_include_scalar():
    isas = kernels.available_isas()
    assert isas[0] == "scalar"
    assert list(isas) == [i for i in registry.ISAS if i in isas]


@pytest.fixture(autouse=True)
def fresh_plans():
    """$SOFTMAX_ISA is read once; tests that change it start and end afresh."""
    api.forget_plans()
    yield
    api.forget_plans()


def test_default_is_widest(monkeypatch):
    monkeypatch.delenv(api.ISA_ENV, raising=False)
    assert kernels.resolve_isa() == kernels.available_isas()[-1]


def test_environment_variable_forces_isa(monkeypatch):
    monkeypatch.setenv(api.ISA_ENV, "scalar")
    assert kernels.resolve_isa() == "scalar"
    assert kernels.api.plan_for("two-pass", None, 100).isa == "scalar"
    assert kernels.Plan("two-pass").isa == "scalar"
    assert kernels.softmax(np.ones(3, np.float32)).sum() == pytest.approx(1.0)


@pytest.mark.parametrize("isa", ISA_PARAMS)
def test_every_available_isa_can_be_forced(isa, monkeypatch):
    """By argument, and by $SOFTMAX_ISA, each runnable ISA is the one the plan uses."""
    assert kernels.resolve_isa(isa) == isa
    assert kernels.Plan("two-pass", isa).passes[0].isa == isa
    monkeypatch.setenv(api.ISA_ENV, isa)
    api.forget_plans()
    assert kernels.api.plan_for("online", None, 5000).isa == isa


def test_argument_beats_environment(monkeypatch):
    monkeypatch.setenv(api.ISA_ENV, "scalar")
    api.forget_plans()
    widest = kernels.available_isas()[-1]
    assert kernels.resolve_isa(widest) == widest


def test_missing_isa_is_a_clear_error(monkeypatch):
    """Simulate a CPU without AVX-512 (or AVX2): asking for it raises."""
    monkeypatch.setattr(api, "available_isas", lambda: ("scalar",))
    api.forget_plans()
    for isa in ("avx2", "avx512f"):
        with pytest.raises(kernels.UnsupportedISAError, match="cannot run"):
            kernels.softmax(np.ones(3, np.float32), isa=isa)
        with pytest.raises(kernels.UnsupportedISAError, match="cannot run"):
            kernels.get_kernel(registry.default_variant("rmax", isa))
    monkeypatch.setenv(api.ISA_ENV, "avx512f")
    api.forget_plans()
    with pytest.raises(kernels.UnsupportedISAError):
        kernels.softmax(np.ones(3, np.float32))
    api.forget_plans()  # no plan resolved under the pretence may outlive it


def test_plan_rejects_foreign_variants():
    isa = kernels.available_isas()[-1]
    other = "scalar" if isa != "scalar" else None
    if other:
        with pytest.raises(ValueError, match=f"not an {isa} kernel"):
            kernels.Plan("two-pass", isa, {"raddextexp": registry.default_variant("raddextexp", other)})
    with pytest.raises(ValueError, match="not a raddextexp kernel"):
        kernels.Plan("two-pass", isa, {"raddextexp": registry.default_variant("rmax", isa)})


def test_plan_with_explicit_variants_matches_default(rng):
    isa = kernels.available_isas()[-1]
    x = rng.normal(0, 5, 5000).astype(np.float32)
    for variant in registry.variants("raddextexp", isa):
        plan = kernels.Plan("two-pass", isa, {"raddextexp": variant})
        assert plan.passes[0] == variant
        np.testing.assert_allclose(plan(x), kernels.softmax(x, algorithm="two-pass", isa=isa), rtol=2e-6)


# ------------------------------------------- the decision map "auto" follows


@pytest.fixture
def dispatch_file(tmp_path, monkeypatch):
    """A dispatch file of this test's own (the machine's stays untouched)."""
    path = tmp_path / "dispatch.json"
    monkeypatch.setattr(tuning, "dispatch_path", lambda: path)
    tuning.forget_cached_choices()
    yield path
    tuning.forget_cached_choices()


FUNCTIONS = {"softmax": kernels.softmax, "log_softmax": kernels.log_softmax}


def test_quick_tuner_writes_maps_that_auto_follows(dispatch_file, rng):
    """`tune --dispatch-only --quick` stores a thread policy and a decision
    map per operation (softmax, log_softmax); "auto" of each then picks the
    stored algorithm at every measured point and returns exactly what that
    algorithm returns."""
    isa = kernels.available_isas()[-1]
    assert cli.main(["tune", "--dispatch-only", "--quick", "--isas", isa]) == 0
    stored = json.loads(dispatch_file.read_text())
    assert tuning.thread_policy(isa) == tuning.ThreadPolicy(**stored["threads"][isa])
    for operation, key in tuning.DECISION_KEYS.items():
        function, checked = FUNCTIONS[operation], 0
        for layout, by_threads in stored[key][isa].items():
            for threads, grid in by_threads.items():
                for i, n in enumerate(grid["n"]):
                    for j, rows in enumerate(grid["rows"]):
                        algorithm = grid["algorithm"][i][j]
                        if algorithm is None:
                            continue
                        assert algorithm in tuning.candidates(operation)
                        shape, axis = tune_dispatch.shape_of(layout, n, rows)
                        call = dict(axis=axis, threads=int(threads))
                        assert kernels.choose_algorithm(shape, operation=operation, **call) == algorithm
                        x = rng.normal(0, 5, shape).astype(np.float32)
                        np.testing.assert_array_equal(function(x, **call), function(x, algorithm=algorithm, **call))
                        checked += 1
        assert checked >= len(tune_dispatch.QUICK.n["rows"]), operation  # at least the 1-thread rows grid


def test_tune_if_missing_tunes_only_the_missing_part(dispatch_file, tmp_path, monkeypatch):
    """`make book` runs `tune --if-missing`: with variants stored, only the
    dispatch part runs; with both stored, nothing."""
    variants = tmp_path / "tuned.json"
    variants.write_text('{"meta": {}, "choices": {}}')
    monkeypatch.setattr(tuning, "choices_path", lambda: variants)

    def must_not_run(*args, **kwargs):
        raise AssertionError("tuned again although stored")

    monkeypatch.setattr(tune, "tune", must_not_run)
    isa = kernels.available_isas()[-1]
    assert cli.main(["tune", "--if-missing", "--quick", "--isas", isa]) == 0
    assert isa in json.loads(dispatch_file.read_text())["decisions"]
    monkeypatch.setattr(tune_dispatch, "tune_dispatch", must_not_run)
    assert cli.main(["tune", "--if-missing", "--quick", "--isas", isa]) == 0


def samples(medians: dict[str, float], rounds: int = 11) -> dict[str, list[float]]:
    """Rounds that drift alike for every case (as on a shared machine)."""
    drift = [1.0 + 0.02 * ((3 * r) % 5) for r in range(rounds)]
    return {label: [m * d for d in drift] for label, m in medians.items()}


def with_aa(medians: dict[str, float], default: str) -> dict[str, list[float]]:
    return samples({**medians, default + tune.AA_SUFFIX: medians[default]})


def test_a_clear_winner_is_stored_with_its_margin():
    default = "three-pass-reload"
    times = {"three-pass-recompute": 130.0, "three-pass-reload": 120.0, "two-pass": 100.0, "online": 125.0}
    decision = tune_dispatch.decide(with_aa(times, default), default)
    assert (decision.algorithm, decision.runner_up, decision.tie) == ("two-pass", "three-pass-reload", False)
    assert decision.margin == pytest.approx(1.2)


def test_a_tie_keeps_the_default():
    """The winner within noise of the runner-up: the documented default stays."""
    default = "two-pass"
    times = {"three-pass-recompute": 130.0, "three-pass-reload": 99.0, "two-pass": 100.0, "online": 125.0}
    decision = tune_dispatch.decide(with_aa(times, default), default)
    assert (decision.algorithm, decision.winner, decision.tie) == ("two-pass", "three-pass-reload", True)


def test_a_tie_between_two_that_both_beat_the_default_keeps_the_winner():
    default = "three-pass-recompute"
    times = {"three-pass-recompute": 150.0, "three-pass-reload": 101.0, "two-pass": 100.0, "online": 125.0}
    decision = tune_dispatch.decide(with_aa(times, default), default)
    assert (decision.algorithm, decision.tie) == ("two-pass", True)


def test_thread_threshold_is_where_the_threads_keep_winning():
    sizes = [1 << k for k in range(12, 17)]
    assert tune_dispatch.wins_from(sizes, [False, True, False, True, True]) == 1 << 15
    assert tune_dispatch.wins_from(sizes, [True] * 5) == 1 << 12
    assert tune_dispatch.wins_from(sizes, [True, True, True, True, False]) is None


@pytest.mark.parametrize("second, threshold", [(True, 1 << 13), (False, 1 << 16)])
def test_a_lone_loss_is_measured_again(monkeypatch, second, threshold):
    """Split rows win from 8K but lose once at 32K: that size is measured
    again, and the second measurement decides whether the threshold is 8K
    (a noisy point) or 64K (a real loss); spread rows never win, and nothing
    of theirs is measured again."""
    first = {1 << 12: False, 1 << 13: True, 1 << 14: True, 1 << 15: False, 1 << 16: True}
    calls = []

    def fake(isa, shape, mode, threads, settings):
        size = shape[0] * shape[1]
        calls.append((mode, size))
        if mode == "spread rows":
            return False, 0.9
        again = calls.count((mode, size)) > 1
        return (second if again and size == 1 << 15 else first[size]), 1.5

    monkeypatch.setattr(tune_dispatch, "threads_win", fake)
    settings = dataclasses.replace(tune_dispatch.QUICK, threshold_sizes=list(first))
    policy, _ = tune_dispatch.measure_policy("avx2", 2, settings, log=lambda m: None)
    assert policy.min_split_chunk == threshold // 2
    split = [size for mode, size in calls if mode == "split rows"]
    assert split[len(first):] == [1 << 12, 1 << 15]  # the losses below a win, measured again
    assert [size for mode, size in calls if mode == "spread rows"] == list(first)
    assert policy.min_elements_per_thread == 2 * (1 << 16) // 2  # never won: past the largest size

GRID = {"n": [128, 8192], "rows": [1, 64],
        "algorithm": [["online", "three-pass-recompute"], ["two-pass", None]]}


@pytest.mark.parametrize("n, rows, expected", [
    (128, 1, (0, 0)), (1000, 1, (0, 0)), (1100, 1, (1, 0)),  # log2 1000 is nearer 7 than 13; 1100 nearer 13
    (1024, 1, (0, 0)),  # halfway (log2 10): the smaller n
    (128, 8, (0, 0)),  # halfway between 1 and 64 rows: the fewer rows
    (128, 9, (0, 1)), (0, 0, (0, 0)),  # sizes below 1 count as 1
    (1 << 20, 1 << 12, (1, 0)),  # the nearest cell (8192, 64) is not measured: the next nearest
])
def test_nearest_point_in_log_space(n, rows, expected):
    assert tuning.nearest_point(GRID, n, rows) == expected


def test_auto_uses_the_nearest_stored_point(dispatch_file):
    isa = api.resolve_isa()
    tuning.save_dispatch({isa: {"rows": {"1": GRID}}}, {}, {"by": "test"})
    assert kernels.choose_algorithm((1, 1100), threads=1) == "two-pass"
    assert kernels.choose_algorithm((9, 128), threads=1) == "three-pass-recompute"
    assert kernels.choose_algorithm((1 << 12, 1 << 20), threads=1) == "two-pass"
    default = tuning.default_algorithm(isa, "columns", 64, 20, 1)
    assert kernels.choose_algorithm((64, 20), axis=0, threads=1) == default


LOG_GRID = {"n": [128, 8192], "rows": [1, 64], "algorithm": [["three-pass-reload", "online"], ["online", None]]}


def test_log_softmax_auto_follows_its_own_map(dispatch_file, rng):
    """log_softmax's "auto" looks up the log_softmax map, softmax's its own;
    without a log map, log_softmax's documented default decides."""
    isa = api.resolve_isa()
    tuning.save_dispatch({isa: {"rows": {"1": GRID}}}, {}, {"by": "test"})
    shape = (1, 1100)
    default = tuning.default_log_softmax_algorithm(isa, "rows", 1100, 1, 1)
    assert kernels.choose_algorithm(shape, threads=1, operation="log_softmax") == default
    tuning.save_dispatch({isa: {"rows": {"1": GRID}}}, {}, {"by": "test"}, {isa: {"rows": {"1": LOG_GRID}}})
    api.forget_plans()
    x = rng.normal(0, 5, shape).astype(np.float32)
    for _ in range(2):  # the first call resolves its plan, the second is the remembered one
        np.testing.assert_array_equal(kernels.log_softmax(x, threads=1),
                                      kernels.log_softmax(x, algorithm="online", threads=1))
        np.testing.assert_array_equal(kernels.softmax(x, threads=1), kernels.softmax(x, algorithm="two-pass", threads=1))
    api.forget_plans()
    assert kernels.choose_algorithm(shape, threads=1) == "two-pass"
    assert kernels.choose_algorithm(shape, threads=1, operation="log_softmax") == "online"
    with pytest.raises(ValueError, match="unknown operation 'logsoftmax'"):
        kernels.choose_algorithm(shape, operation="logsoftmax")


def test_a_thread_count_without_measured_points_looks_up_the_one_below(dispatch_file):
    isa = api.resolve_isa()
    unmeasured = {"n": [128], "rows": [1], "algorithm": [[None]]}
    tuning.save_dispatch({isa: {"rows": {"1": GRID, "2": unmeasured}}}, {}, {"by": "test"})
    assert tuning.stored_algorithm(isa, "rows", 1100, 1, 2) == "two-pass"
    assert tuning.stored_algorithm(isa, "rows", 1100, 1, 1) == "two-pass"


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"threads": {"avx2": {"min_split_chunk": 1}}}',
                                  '{"decisions": {"avx2": {"rows": {"1": {"n": [1], "rows": [1], '
                                  '"algorithm": [["fast"]]}}}}}',
                                  '{"decisions": {"avx2": {"rows": {"1": {"n": [1, 2], "rows": [1], '
                                  '"algorithm": [["online"]]}}}}}',
                                  '{"decisions": {"avx2": {"rows": {"1": {"n": ["1"], "rows": [1], '
                                  '"algorithm": [["online"]]}}}}}',
                                  '{"decisions": {"avx2": {"rows": {"one": {"n": [1], "rows": [1], '
                                  '"algorithm": [["online"]]}}}}}',
                                  # the three-pass algorithms coincide in log_softmax: reload stands for both
                                  '{"log_softmax_decisions": {"avx2": {"rows": {"1": {"n": [1], "rows": [1], '
                                  '"algorithm": [["three-pass-recompute"]]}}}}}'])
def test_an_unreadable_dispatch_file_is_ignored_with_a_warning(dispatch_file, text, rng):
    dispatch_file.write_text(text)
    isa = api.resolve_isa()
    with pytest.warns(RuntimeWarning, match="ignoring the unreadable dispatch file .*dispatch.json"):
        assert tuning.thread_policy(isa) == tuning.DEFAULT_THREAD_POLICY
    assert kernels.choose_algorithm((4, 300), threads=1) == tuning.default_algorithm(isa, "rows", 300, 4, 1)
    x = rng.normal(0, 5, (4, 300)).astype(np.float32)
    np.testing.assert_allclose(kernels.softmax(x).sum(axis=-1), 1.0, rtol=1e-5)


# --------------------------------------------- calls remembered in C


def test_remembered_calls_match_shape_and_every_argument(rng):
    """A call like an earlier one runs without the Python checks; anything
    different (shape, axis, algorithm, threads, a type that only compares
    equal) takes the checked path."""
    x = rng.normal(0, 5, (4, 8, 128)).astype(np.float32)
    for _ in range(2):  # the second round runs the remembered calls
        expected = {axis: api.Plan("two-pass", axis=axis, threads=1)(x) for axis in (-1, 0, 1)}
        for axis, same in ((-1, -1), (0, 0), (1, 1), (2, -1), (-2, 1)):
            np.testing.assert_array_equal(kernels.softmax(x, axis=axis, algorithm="two-pass", threads=1),
                                          expected[same])
        np.testing.assert_array_equal(kernels.softmax(x[:, :, :64], algorithm="two-pass", threads=1),
                                      api.Plan("two-pass", threads=1)(np.ascontiguousarray(x[:, :, :64])))
        np.testing.assert_array_equal(kernels.softmax(x, threads=np.int64(1), algorithm="two-pass"),
                                      expected[-1])
        for bad in (-1.0, True):
            with pytest.raises(TypeError, match="axis"):
                kernels.softmax(x, axis=bad)
        with pytest.raises(TypeError, match="threads"):
            kernels.softmax(x, threads=True)
        with pytest.raises(ValueError, match="out has shape"):
            kernels.softmax(x, out=np.empty((4, 8, 64), np.float32))
        with pytest.raises(TypeError, match="out must have dtype float32"):
            kernels.softmax(x, out=np.empty(x.shape, np.float64))


def test_more_shapes_than_remembered_calls(rng):
    arrays = [rng.normal(0, 5, (3, n)).astype(np.float32) for n in range(1, 40)]
    for _ in range(2):
        for x in arrays:
            np.testing.assert_array_equal(kernels.softmax(x, algorithm="online"), api.Plan("online")(x))


def test_forget_plans_forgets_remembered_calls(monkeypatch):
    x = np.ones(3, np.float32)
    kernels.softmax(x)
    kernels.softmax(x)
    monkeypatch.setattr(api, "available_isas", lambda: ("scalar",))
    monkeypatch.setenv(api.ISA_ENV, "avx512f")
    api.forget_plans()
    with pytest.raises(kernels.UnsupportedISAError):
        kernels.softmax(x)
    monkeypatch.undo()
    api.forget_plans()
