"""Shared fixtures: which ISAs run here, float64 references, the accuracy contract.

ISAs this CPU cannot run are skipped with the reason, and the run's summary
says so in one visible line per ISA ("AVX-512 kernels compiled but not
executed on this CPU"), with the last full pass recorded in
verification/avx512.json (`make verify-avx512`).

Environment variables honoured by the test process only (not by the notebooks
or command-line runs that some tests start in subprocesses):
  SOFTMAX_TEST_HIDE_ISAS=avx512f[,avx2]  behave as on a CPU without those ISAs:
      kernels.available_isas() leaves them out, and so does everything that
      asks it (dispatch, benchmarks, the skips); tests that line above.
  SOFTMAX_TEST_ERROR_LOG=path.json       record the worst error of every
      algorithm (and ISA, when the test names one) against its bound in
      assert_softmax_close, to re-derive ERROR_BOUNDS (run with -n 0).
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest

import kernels
from kernels import api, build, contracts, registry, tuning

HIDE_ENV = "SOFTMAX_TEST_HIDE_ISAS"
ERROR_LOG_ENV = "SOFTMAX_TEST_ERROR_LOG"
ROOT = Path(__file__).resolve().parents[1]
AVX512_RECORD = ROOT / "verification" / "avx512.json"
ISA_TITLES = {"scalar": "Scalar", "avx2": "AVX2", "avx512f": "AVX-512"}


def _hide_isas() -> set[str]:
    hidden = {isa.strip() for isa in os.environ.get(HIDE_ENV, "").split(",") if isa.strip()}
    unknown = hidden - set(registry.ISAS) or hidden & {"scalar"}
    if unknown:
        raise pytest.UsageError(f"{HIDE_ENV}: cannot hide {', '.join(sorted(unknown))}")
    if hidden:
        shown = tuple(isa for isa in api.available_isas() if isa not in hidden)
        api.available_isas = kernels.available_isas = lambda: shown
        api.forget_plans()
    return hidden


HIDDEN = _hide_isas()


def _untuned() -> None:
    """The suite runs the registry's defaults, whatever `make book` (or
    `tune`) stored for this CPU, so that a call and the plan a test builds
    for it run the same kernels; the tests that tune monkeypatch these paths
    themselves, and tests/test_exp_family.py runs every exponential the tuner
    may pick (and every pairing of the two-pass passes)."""
    import atexit
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="softmax-tests-untuned-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    tuning.choices_path = lambda: folder / "tuned.json"
    tuning.dispatch_path = lambda: folder / "tuned.dispatch.json"
    tuning.forget_cached_choices()


_untuned()
RUNNABLE = kernels.available_isas()
NOT_EXECUTED = [isa for isa in build.compiled_isas() if isa not in RUNNABLE]


def isa_param(isa):
    """A pytest param for an ISA, skipped with a reason where this CPU lacks it."""
    return pytest.param(
        isa,
        id=isa,
        marks=pytest.mark.skipif(isa not in RUNNABLE, reason=f"this CPU cannot run {isa} kernels"),
    )


ISA_PARAMS = [isa_param(isa) for isa in registry.ISAS]


@pytest.fixture(params=registry.ALGORITHMS)
def algorithm(request):
    """Every algorithm, for the tests that take `algorithm` unparametrized."""
    return request.param


@pytest.fixture(params=ISA_PARAMS)
def isa(request):
    """Every ISA (skipped where this CPU lacks it)."""
    return request.param


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


def last_verification(isa: str) -> str:
    """Where and when the ISA's tests last passed in full (AVX-512 only)."""
    if isa != "avx512f":
        return ""
    if not AVX512_RECORD.exists():
        return "no full AVX-512 pass is recorded (make verify-avx512 on a CPU with AVX-512)"
    record = json.loads(AVX512_RECORD.read_text())
    return f"last full pass: commit {record['commit'][:12]} on {record['cpu']} ({record['date']})"


def pytest_terminal_summary(terminalreporter):
    for isa in NOT_EXECUTED:
        cause = f" (hidden by {HIDE_ENV})" if isa in HIDDEN else ""
        where = last_verification(isa)
        terminalreporter.write_line(
            f"{ISA_TITLES[isa]} kernels compiled but not executed on this CPU{cause}: their tests were skipped"
            + (f"; {where}" if where else ""),
            yellow=True, bold=True)


# ------------------------------------------------------------- references


def reference_softmax(x):
    """float64 softmax over the last axis with scipy's non-finite rule."""
    from scipy.special import softmax

    x = np.asarray(x, np.float64)
    if x.size == 0:
        return x.copy()  # scipy raises on empty input
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf in NaN rows is the rule
        return softmax(x, axis=-1)


# The accuracy contract: the largest relative error of any output >= tiny, per
# algorithm.  The worst errors over this suite's inputs (every size up to 2^26,
# distribution and ISA; SOFTMAX_TEST_ERROR_LOG, Ice Lake, gcc 12) were, beyond
# the spread term: two-pass 3.4e-7 (scalar; 3.2e-7 AVX2, 3.0e-7 AVX-512),
# recompute 2.4e-7, reload 2.4e-7, online 2.4e-7.  The rounding budget allows
# a little more: an exp within 2 ULP (2.4e-7 relative at worst), the scale
# 1/sum rounded to float (6e-8) and, where it is not folded into the
# polynomial, the final product (6e-8).  So each bound is that budget, rounded
# up: 1.2 to 1.7 times the measured worst, and tight enough that an exp a few
# ULP off (EXP_C4 0.1 % off) fails it.  Three-pass and online add
# |x_i - max| * 2^-24: they round x - max to float32.
ERROR_BOUNDS = {
    "two-pass": 4e-7,
    "three-pass-recompute": 3.5e-7,
    "three-pass-reload": 4e-7,
    "online": 4e-7,
}
SPREAD_TERM = {a: contracts.SUBTRACTION_ROUNDING if contracts.rounds_x_minus_max(a) else 0.0 for a in ERROR_BOUNDS}


def error_bound(x, algorithm, xmax=None, rtol=None):
    """The bound of each element's relative error (x's shape): ERROR_BOUNDS,
    or a library contract's rtol (kernels.contracts) for the cheaper
    exponentials; xmax: the rows' maxima when x is a piece of them."""
    x = np.asarray(x, np.float64)
    bound = np.full(x.shape, ERROR_BOUNDS[algorithm] if rtol is None else rtol)
    if SPREAD_TERM[algorithm]:
        if xmax is None:
            xmax = np.max(x, axis=-1, keepdims=True, initial=-np.inf)
        with np.errstate(invalid="ignore"):
            spread = np.abs(x - xmax)
        bound += np.where(np.isfinite(spread), spread, 0.0) * SPREAD_TERM[algorithm]
    return bound


def assert_softmax_close(y, x, algorithm, *, tiny=1e-30, ref=None, xmax=None, rtol=None):
    """The accuracy contract (ERROR_BOUNDS, or rtol's), per output >= tiny; outputs below
    tiny must stay below 2 * tiny; NaN exactly where the reference has NaN.
    ref (and xmax): the float64 reference (and the rows' maxima) when the
    caller has them, e.g. to check a long row piece by piece."""
    ref = reference_softmax(x) if ref is None else ref
    y = np.asarray(y, np.float64)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref), err_msg="NaN pattern differs")
    finite = ~np.isnan(ref)
    big = finite & (ref >= tiny)
    bound = error_bound(x, algorithm, xmax, rtol)
    rel = np.zeros(ref.shape)
    rel[big] = np.abs(y[big] - ref[big]) / ref[big]
    _log_error(algorithm, rel[big], bound[big])
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


# ------------------------------------------------- error log (opt-in)

_worst_errors: dict[str, float] = {}
_current_test = {"isa": "any"}


@pytest.fixture(autouse=True)
def _note_isa(request):
    """The ISA a test names in its parameters, for the error log."""
    if os.environ.get(ERROR_LOG_ENV):
        names = request.node.name.replace("[", "-").replace("]", "-").split("-")
        _current_test["isa"] = next((isa for isa in registry.ISAS if isa in names), "any")


def _log_error(algorithm, rel, bound):
    """Worst error beyond the spread term (rel - (bound - ERROR_BOUNDS)), when logging."""
    if not os.environ.get(ERROR_LOG_ENV) or not rel.size:
        return
    key = f"{algorithm} [{_current_test['isa']}]"
    beyond_spread = float(np.max(rel - (bound - ERROR_BOUNDS[algorithm])))
    _worst_errors[key] = max(_worst_errors.get(key, 0.0), beyond_spread)


def pytest_sessionfinish(session):
    path = os.environ.get(ERROR_LOG_ENV)
    if path and _worst_errors:
        Path(path).write_text(json.dumps(dict(sorted(_worst_errors.items())), indent=2))
