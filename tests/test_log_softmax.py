"""kernels.log_softmax: every algorithm on every runnable ISA, on 1 and 2
threads, rows and columns, against float64; non-finite rows; errors.

The bound.  With L = log sum_i e^(x_i) and y = x - L, the kernels compute
L in double from the reductions (max + log(sum), or ln m + e ln 2), round it
once to a float pair hi + lo, and write fl(fl(x - hi) - lo).  Against
y64 = x - L64 (float64, from the same float32 x):
  - the sum: each term e^(x - max) (or ExtExp(x)) within E = 2 ULP, i.e.
    2E * 2^-24 relative, plus the float pairwise sum of one register tile
    (at most 16 vectors: 4 roundings of 2^-24); the double accumulation
    and the double log add ~2^-50.  log turns the sum's relative error into
    the same absolute error on L: at most (2E + 4) * 2^-24 = 8 * 2^-24;
    online also rescales partial sums by exps of a rounded max difference
    (a few 2^-24 more where maxima straddle 0): ABSOLUTE_TERM = 12 * 2^-24;
  - hi + lo is L to 2^-48 |L|: negligible against the terms here;
  - fl(x - hi): 2^-24 |x - hi| <= 2^-24 (|x - max| + |L - max|) (exact
    when x is within a factor 2 of hi);
  - fl(. - lo): 2^-24 |y|, again <= 2^-24 (|x - max| + |L - max|).
So |y - y64| <= 2 * 2^-24 * (|x - max| + |L - max|) + 12 * 2^-24, with
|L - max| = log sum e^(x - max) >= 0: RELATIVE_TERM c = 2.  One float32 ULP
on L (about 4e-6 for the N(0, 10) rows, L ~ 30) is over 3 times the bound
near the max, so an off-by-one-ulp constant fails (checked by hand).
"""

import re

import numpy as np
import pytest
from conftest import ISA_PARAMS, RUNNABLE, reference_softmax
from test_softmax import BACKGROUNDS, NON_FINITE_ROWS

import kernels
from kernels import contracts, logsoftmax, registry, tuning
from kernels.bench import log_softmax as log_bench
from kernels.bench.timing import BenchmarkError, Buffers, Case, measure, python_runner

ALGORITHMS = registry.ALGORITHMS
RELATIVE_TERM = 2.0
ABSOLUTE_TERM = 12.0 * 2.0**-24
ANY_SIZE = tuning.ThreadPolicy(min_elements_per_thread=0, min_split_chunk=0)


def log_plan(algorithm, isa, threads):
    """A softmax plan that splits even small rows across `threads`, for
    `run_log`."""
    return kernels.Plan(algorithm, isa, threads=threads, policy=ANY_SIZE)


def run_log(plan, x, axis=-1):
    """log_softmax of x along axis with plan's log twin (any size threads)."""
    x = np.ascontiguousarray(x, np.float32)
    y = np.empty_like(x)
    axis %= x.ndim
    outer, n, inner = int(np.prod(x.shape[:axis])), x.shape[axis], int(np.prod(x.shape[axis + 1:]))
    logsoftmax.log_plan(plan).run(x.reshape(-1), y.reshape(-1), outer, n, inner)
    return y


def reference(x, axis=-1):
    """float64 x - max - log sum e^(x - max): log(softmax) on every row,
    the non-finite ones included (NaN rows give NaN, -inf gives -inf)."""
    x = np.asarray(x, np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        m = np.max(x, axis=axis, keepdims=True)
        z = x - m
        log_sum = np.log(np.sum(np.exp(z), axis=axis, keepdims=True))
        return z - log_sum, np.abs(z) + log_sum


def assert_log_close(y, x, axis=-1, what="", rtol=contracts.DEFAULT_RTOL):
    """NaN exactly where log(softmax) is NaN, -inf exactly at its zeros (the
    -inf inputs), the bound elsewhere (plus rtol under a looser contract)."""
    ref, scale = reference(x, axis)
    y = np.asarray(y, np.float64)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref), err_msg=f"{what}: NaN pattern differs")
    np.testing.assert_array_equal(np.isneginf(y), np.isneginf(ref), err_msg=f"{what}: -inf pattern differs")
    finite = np.isfinite(ref)
    error = np.abs(y[finite] - ref[finite])
    bound = RELATIVE_TERM * 2.0**-24 * scale[finite] + ABSOLUTE_TERM
    if rtol != contracts.DEFAULT_RTOL:
        bound = bound + rtol
    if error.size:
        worst = np.argmax(error - bound)
        assert np.all(error <= bound), (
            f"{what}: error {error[worst]:.3g} > bound {bound[worst]:.3g} "
            f"(x={np.asarray(x, np.float64)[finite][worst]!r}, y={y[finite][worst]!r}, ref={ref[finite][worst]!r})")


def log_tiles(algorithm, isa):
    """Tiles (elements per main-loop iteration) of the log twin's row kernels."""
    names = logsoftmax._log_kernels(kernels.Plan(algorithm, isa)).values()
    return sorted({registry.lookup(name).tile for name in names if name in registry.BY_NAME})


@pytest.mark.parametrize("isa", [p for p in ISA_PARAMS if p.values[0] in registry.WIDE_TILE_VECTORS])
def test_the_log_twin_runs_p5_in_the_softmax_plans_tile(isa):
    """A softmax plan whose reduction runs another exponential in the wide
    tile: under the default contract its log twin runs p5, in that tile."""
    other = next(e for e in registry.EXPS if e != registry.DEFAULT_EXP)
    wide = registry.wide_variant("raddextexp", isa, other)
    twin = logsoftmax._log_kernels(kernels.Plan("two-pass", isa, {"raddextexp": wide}))
    assert twin["raddextexp"] == registry.wide_variant("raddextexp", isa).name


# ------------------------------------------------------------ accuracy

DISTRIBUTIONS = log_bench.ROWS  # tiny outputs, wide spreads, near ties around 10^4, N(0, 10)


def sizes(algorithm, isa):
    tile = max(log_tiles(algorithm, isa))
    return [1, 2, tile - 1, tile, tile + 1, 3 * tile + 5, 1000]


@pytest.mark.parametrize("distribution", DISTRIBUTIONS.values(), ids=DISTRIBUTIONS.keys())
def test_accuracy_rows(algorithm, isa, distribution, rng):
    """Lengths 1, tile - 1, tile + 1, ... in 3 rows, 1 and 2 threads (split
    and spread rows), and the public function with its own plans."""
    for n in sizes(algorithm, isa):
        x = distribution(rng, 3 * n).astype(np.float32).reshape(3, n)
        assert_log_close(kernels.log_softmax(x, algorithm=algorithm, isa=isa), x, what=f"n={n}")
        for threads in (1, 2):
            plan = log_plan(algorithm, isa, threads)
            assert_log_close(run_log(plan, x), x, what=f"n={n}, {threads} threads")
            assert_log_close(run_log(plan, x[:1]), x[:1], what=f"n={n}, one row, {threads} threads")


@pytest.mark.parametrize("distribution", DISTRIBUTIONS.values(), ids=DISTRIBUTIONS.keys())
def test_accuracy_large_row(distribution, rng):
    """One row of 2^20 for every algorithm x ISA x {1, 2} threads."""
    x = distribution(rng, 1 << 20).astype(np.float32)
    for algorithm in ALGORITHMS:
        for isa in RUNNABLE:
            for threads in (1, 2):
                y = run_log(log_plan(algorithm, isa, threads), x)
                assert_log_close(y, x, what=f"{algorithm}, {isa}, {threads} threads")


@pytest.mark.parametrize("rtol", contracts.CONTRACTS[1:])
def test_a_looser_contract(algorithm, isa, rtol, rng):
    """log_softmax(rtol=r) runs its reductions with exponentials whose own
    error keeps r, and stays within the bound plus r: a relative error on
    the sum is an absolute one on every log-probability.  The near ties
    around 10^4 catch ExtExp with one ln 2 constant (2.8e-5 there)."""
    twin = logsoftmax._log_kernels(kernels.Plan(algorithm, isa, rtol=rtol))
    reductions = [registry.lookup(name) for family, name in twin.items() if family in registry.EXP_FAMILIES]
    assert reductions
    for v in reductions:
        assert v.exp == registry.log_contract_exp(v.family, rtol)
        assert registry.EXPS[v.exp].max_ulp[registry.pass_kind(v.family)] * registry.ULP_RELATIVE <= rtol
    assert any(v.exp != registry.DEFAULT_EXP for v in reductions), "no cheaper exponential under a looser contract"
    for name, distribution in DISTRIBUTIONS.items():
        for shape in ((3, 1000), (1, 1 << 15)):
            x = distribution(rng, int(np.prod(shape))).astype(np.float32).reshape(shape)
            y = kernels.log_softmax(x, algorithm=algorithm, isa=isa, rtol=rtol)
            assert_log_close(y, x, what=f"{name}, {shape}, rtol={rtol}", rtol=rtol)


def test_a_contract_is_checked():
    with pytest.raises(ValueError, match="choose one of"):
        kernels.log_softmax(np.zeros(8, np.float32), rtol=2e-6)


def test_public_function_threads(algorithm, isa, rng):
    x = rng.normal(0, 10, (4, 50_000)).astype(np.float32)
    for threads in (1, 2):
        y = kernels.log_softmax(x, algorithm=algorithm, isa=isa, threads=threads)
        assert_log_close(y, x, what=f"{threads} threads")


@pytest.mark.parametrize("shape, axis", [((1000, 37), 0), ((3, 257, 20), 1), ((5, 300, 2), -2), ((64, 1), 0)])
def test_columns(algorithm, isa, shape, axis, rng):
    """A non-last axis runs the column kernels (1 and 2 threads)."""
    for distribution in DISTRIBUTIONS.values():
        x = distribution(rng, int(np.prod(shape))).astype(np.float32).reshape(shape)
        assert_log_close(kernels.log_softmax(x, axis=axis, algorithm=algorithm, isa=isa), x, axis)
        for threads in (1, 2):
            assert_log_close(run_log(log_plan(algorithm, isa, threads), x, axis), x, axis, f"{threads} threads")


@pytest.mark.parametrize("magnitude", [6.5e4, 1e7, 1e30])
def test_huge_magnitudes_take_the_guarded_path(algorithm, isa, magnitude, rng):
    """Beyond ExtExp's range two-pass takes its guarded path: still within the bound."""
    for sign in (1, -1):
        x = (sign * magnitude + rng.normal(0, 20, 500)).astype(np.float32)
        assert_log_close(kernels.log_softmax(x, algorithm=algorithm, isa=isa), x)
        assert_log_close(kernels.log_softmax(np.stack([x, x], 1), axis=0, algorithm=algorithm, isa=isa),
                         np.stack([x, x], 1), axis=0)


# --------------------------------------------------------- non-finite


@pytest.mark.parametrize("background", BACKGROUNDS.values(), ids=BACKGROUNDS.keys())
@pytest.mark.parametrize("row", NON_FINITE_ROWS.values(), ids=NON_FINITE_ROWS.keys())
def test_non_finite_rule_is_log_of_softmax(algorithm, isa, row, background, rng):
    """log(softmax) elementwise where softmax's rule applies: NaN rows (NaN,
    +inf, only -inf) stay NaN, -inf elements give -inf; short and long
    rows, rows and columns, 1 and 2 threads."""
    short = np.array(row, np.float32)
    long = np.insert(background(rng, 517).astype(np.float32), 200, short)
    for x in (short, long):
        with np.errstate(divide="ignore"):
            log_of_softmax = np.log(reference_softmax(x))
        y = kernels.log_softmax(x, algorithm=algorithm, isa=isa)
        np.testing.assert_array_equal(np.isnan(y), np.isnan(log_of_softmax))
        # -inf exactly at softmax's exact zeros, the -inf inputs (not where its float64 underflows)
        np.testing.assert_array_equal(np.isneginf(y), np.isneginf(x) & ~np.isnan(log_of_softmax))
        assert_log_close(y, x)
        for threads in (1, 2):
            np.testing.assert_array_equal(run_log(log_plan(algorithm, isa, threads), x), y)
        column = kernels.log_softmax(np.stack([x, x, x], 1), axis=0, algorithm=algorithm, isa=isa)
        assert_log_close(column, np.stack([x, x, x], 1), axis=0)
        loose = kernels.log_softmax(x, algorithm=algorithm, isa=isa, rtol=contracts.CONTRACTS[-1])
        assert_log_close(loose, x, what="the loosest contract", rtol=contracts.CONTRACTS[-1])


def test_non_finite_rows_identical_across_algorithms_and_isas(rng):
    x = rng.normal(0, 3, (len(NON_FINITE_ROWS), 40)).astype(np.float32)
    for i, row in enumerate(NON_FINITE_ROWS.values()):
        x[i, 3 : 3 + len(row)] = row
    ref, _ = reference(x)
    special = ~np.isfinite(ref)
    assert special.any()
    results = [kernels.log_softmax(x, algorithm=a, isa=i)[special] for a in ALGORITHMS for i in RUNNABLE]
    results += [kernels.log_softmax(x.T, axis=0, algorithm=a, isa=i).T[special] for a in ALGORITHMS for i in RUNNABLE]
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


# ----------------------------------------------------- arguments, errors


def test_out_and_in_place(algorithm, isa, rng):
    x = rng.normal(0, 10, (3, 1001)).astype(np.float32)
    expected = kernels.log_softmax(x, algorithm=algorithm, isa=isa)
    out = np.empty_like(x)
    assert kernels.log_softmax(x, algorithm=algorithm, isa=isa, out=out) is out
    np.testing.assert_array_equal(out, expected)
    assert kernels.log_softmax(x, algorithm=algorithm, isa=isa, out=x) is x
    np.testing.assert_array_equal(x, expected)


def test_general_path_inputs(algorithm, isa, rng):
    """Non-contiguous and unaligned inputs (copied first) and empty shapes."""
    base = rng.normal(0, 10, (6, 400)).astype(np.float32)
    for x in (base[::2], base[:, ::3], base.T):
        assert_log_close(kernels.log_softmax(x, algorithm=algorithm, isa=isa), x)
    raw = np.zeros(4 * 301 + 1, np.uint8)
    unaligned = raw[1:].view(np.float32)
    unaligned[:] = base[0, :301]
    assert_log_close(kernels.log_softmax(unaligned, algorithm=algorithm, isa=isa), unaligned)
    for shape in [(0,), (3, 0), (0, 5)]:
        assert kernels.log_softmax(np.zeros(shape, np.float32), algorithm=algorithm, isa=isa).shape == shape


def _frozen():
    a = np.empty((2, 8), np.float32)
    a.flags.writeable = False
    return a


BAD_CALLS = {
    "list": lambda: ([1.0, 2.0], {}),
    "float64": lambda: (np.ones(4, np.float64), {}),
    "int32": lambda: (np.ones(4, np.int32), {}),
    "scalar": lambda: (np.float32(1.0), {}),
    "0-d": lambda: (np.array(1.0, np.float32), {}),
    "big-endian": lambda: (np.ones(4, ">f4"), {}),
    "axis": lambda: (np.ones((2, 8), np.float32), {"axis": 2}),
    "axis-float": lambda: (np.ones((2, 8), np.float32), {"axis": 1.0}),
    "algorithm": lambda: (np.ones(8, np.float32), {"algorithm": "four-pass"}),
    "isa": lambda: (np.ones(8, np.float32), {"isa": "neon"}),
    "threads": lambda: (np.ones(8, np.float32), {"threads": 0}),
    "out-list": lambda: (np.ones((2, 8), np.float32), {"out": [0.0] * 16}),
    "out-float64": lambda: (np.ones((2, 8), np.float32), {"out": np.empty((2, 8), np.float64)}),
    "out-shape": lambda: (np.ones((2, 8), np.float32), {"out": np.empty((2, 9), np.float32)}),
    "out-strided": lambda: (np.ones((2, 8), np.float32), {"out": np.empty((8, 2), np.float32).T}),
    "out-read-only": lambda: (np.ones((2, 8), np.float32), {"out": _frozen()}),
}


@pytest.mark.parametrize("call", BAD_CALLS.values(), ids=BAD_CALLS.keys())
def test_errors_are_softmax_errors(call):
    x, kw = call()
    with pytest.raises(Exception) as softmax_error:
        kernels.softmax(x, **kw)
    x, kw = call()
    with pytest.raises(type(softmax_error.value), match=re.escape(str(softmax_error.value))):
        kernels.log_softmax(x, **kw)


def test_overlapping_out_is_refused():
    overlapping = np.ones(17, np.float32)
    with pytest.raises(ValueError, match="overlaps"):
        kernels.log_softmax(overlapping[:16].reshape(2, 8), out=overlapping[1:].reshape(2, 8))
    assert (overlapping == 1).all()


def test_three_pass_variants_coincide(rng):
    """Both three-pass variants run the same log_softmax kernels, so agree
    bit for bit (see registry.LOG_ALGORITHM_PASSES)."""
    x = rng.normal(0, 10, (3, 5000)).astype(np.float32)
    for isa in RUNNABLE:
        np.testing.assert_array_equal(kernels.log_softmax(x, algorithm="three-pass-recompute", isa=isa),
                                      kernels.log_softmax(x, algorithm="three-pass-reload", isa=isa))


# ------------------------------------------------------------ the benchmark


def test_benchmark_accuracy_table(rng):
    """The benchmark's accuracy table: the kernels within the bound above (in
    its units 2^-24 (scale + 1), (2 scale + 12) / (scale + 1) <= 12), and
    log(softmax) loses the tiny outputs to -inf."""
    isa = kernels.available_isas()[-1]
    table = log_bench.accuracy([1000], isa, peers=False)
    ours = table[table["implementation"].isin([log_bench.kernel_label(a, isa) for a in log_bench.LOG_ALGORITHMS])]
    assert len(ours) == len(log_bench.ROWS) * len(log_bench.LOG_ALGORITHMS)
    assert (ours["not finite"] == 0).all() and (ours["roundings"] <= 12).all(), ours
    log_of = table[table["implementation"] == log_bench.kernel_label(log_bench.LOG_OF_SOFTMAX, isa)]
    assert log_of.set_index("row").loc["tiny (<= -100)", "not finite"] > 0


def test_benchmark_times_every_case_and_rejects_a_wrong_one(rng):
    isa = kernels.available_isas()[-1]
    samples = log_bench.measure_speed([1000, 4099], isa, reps=2, target_ms=0.1, rtols=contracts.CONTRACTS,
                                      log=lambda message: None)
    cases = log_bench.speed_cases(isa, contracts.CONTRACTS)
    assert set(samples["case"]) == {c.label for c in cases}
    times = log_bench.times_table(samples)
    assert list(times.columns) == [1000, 4099] and (times > 0).all().all()
    assert list(log_bench.contract_speedups(samples, isa).columns) == [f"rtol={r:g}" for r in contracts.CONTRACTS[:0:-1]]
    speedups = log_bench.peer_speedups(samples, isa)
    assert speedups["fastest"].isin([log_bench.kernel_label(a, isa) for a in log_bench.LOG_ALGORITHMS]).all()
    # a softmax where a log-softmax is due, and a stale output, are rejected
    x = rng.uniform(-10, 10, 2000).astype(np.float32)
    real = cases[0]
    for wrong in (lambda x, y: kernels.softmax(x, out=y), lambda x, y: y):
        bad = Case("wrong", "api", python_runner(wrong), real.check)
        with pytest.raises(BenchmarkError, match="wrong"):
            measure([real, bad], Buffers(x, "warm", 1 << 16), reps=2, target_ns=0, rng=np.random.default_rng(0))


def test_benchmark_cli(capsys):
    from kernels.bench import cli

    assert cli.main(["log-softmax", "--sizes", "2^10,1500", "--reps", "1"]) == 0
    out = capsys.readouterr().out
    for part in ("largest error, in units of 2^-24", "ns per element:", "the fastest against the peers:",
                 "each contract against the default:"):
        assert part in out
    with pytest.raises(SystemExit):
        cli.main(["log-softmax", "--sizes", "lots"])
