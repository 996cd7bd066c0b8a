"""Roofs that are roofs: each traffic pattern's roof is the best of its
bandwidth kernels in the same run, named; an efficiency above 1 fails the
analysis and the report; the threaded bandwidth kernels compute what the
one-thread ones do.  Small sizes; no test asserts a speed."""

import numpy as np
import pandas as pd
import pytest

import kernels
from kernels import build, registry
from kernels.bench import analysis, machine, report, traffic
from kernels.bench.sweep import Run, SweepConfig, bandwidth_cases, bandwidth_kernels
from kernels.bench.timing import Buffers, measure

BEST = kernels.available_isas()[-1]


# ------------------------------------------------------------ the model


def test_bytes_and_bounding_patterns_follow_the_rfo_finding():
    assert traffic.pattern_bytes(traffic.READ) == 4
    assert traffic.pattern_bytes(traffic.READ_WRITE, write_allocate=True) == 12
    assert traffic.pattern_bytes(traffic.READ_WRITE, write_allocate=False) == 8
    assert traffic.pattern_bytes(traffic.READ_WRITE_STREAMING, write_allocate=True) == 8
    assert traffic.pattern_bytes(traffic.IN_PLACE, write_allocate=True) == 8
    assert traffic.pattern_bytes(traffic.WRITE, write_allocate=True) == 8
    # With a read for ownership plain and streaming stores move different bytes; without, the same.
    assert traffic.bounding_patterns(traffic.READ_WRITE, True) == (traffic.READ_WRITE,)
    assert set(traffic.bounding_patterns(traffic.READ_WRITE_STREAMING, False)) == {
        traffic.READ_WRITE, traffic.READ_WRITE_STREAMING}
    assert traffic.bounding_patterns(traffic.READ, False) == (traffic.READ,)


@pytest.mark.parametrize("fill, copy, rfo", [(0.31 / 0.18, 0.50 / 0.41, True), (1.02, 0.99, False),
                                             (1.8, 1.05, False)])
def test_rfo_finding(fill, copy, rfo):
    ns = {"fill": fill, "fill (streaming)": 1.0, "copy": copy, "copy (streaming)": 1.0}
    found = traffic.rfo_finding(ns)
    assert found["plain_stores_rfo"] is rfo
    assert traffic.write_allocate({"bandwidth": {"rfo": found}}) is rfo
    assert traffic.write_allocate({}) is True  # unmeasured: the paper's model


def test_every_pattern_has_a_family_of_candidates():
    kernels_ = bandwidth_kernels(BEST, threads=2)
    for pattern in traffic.ROOF_PATTERNS:
        one = [k for k in kernels_ if k.pattern == pattern and k.threads == 1]
        assert len({k.variant.unroll for k in one}) >= 2, pattern
        assert any(k.variant.prefetch for k in one) and any(not k.variant.prefetch for k in one), pattern
        assert any(k.threads == 2 for k in kernels_ if k.pattern == pattern), pattern
        if BEST != "avx2" and "avx2" in kernels.available_isas():
            assert {k.variant.isa for k in one} == {BEST, "avx2"}, pattern  # two load widths
    reads = [k for k in kernels_ if k.pattern == traffic.READ]
    assert {k.variant.family for k in reads} == {"rmax"}  # no widening sum among the read roofs
    assert len({k.variant.accumulators for k in reads}) >= 2
    assert len({k.label for k in kernels_}) == len(kernels_)


# ------------------------------------------------------- roof selection


def samples_with(times: dict[tuple, list[float]], n: int = 1000) -> pd.DataFrame:
    """Samples from {(case, group, pattern, kernel, family, threads): [ns per element per round]}."""
    rows = []
    for (case, group, pattern, kernel, family, threads), per_round in times.items():
        for rep, t in enumerate(per_round):
            rows.append({"case": case, "group": group, "pattern": pattern, "kernel": kernel, "family": family,
                         "variant": kernel, "isa": "avx2", "streaming": "", "threads": str(threads), "rep": rep,
                         "ns_per_call": t * n, "mode": "warm", "n": n})
    return pd.DataFrame(rows)


def bw(kernel, pattern, threads=1):
    return (f"bandwidth: {kernel}", "bandwidth", pattern, kernel, "", threads)


def test_roof_is_the_best_round_of_the_fastest_kernel_and_names_it():
    samples = samples_with({
        bw("slow read", traffic.READ): [0.30, 0.31, 0.32],
        bw("fast read", traffic.READ): [0.25, 0.22, 0.26],
        bw("copy", traffic.READ_WRITE): [0.50, 0.52, 0.51],
        bw("copy nt", traffic.READ_WRITE_STREAMING): [0.40, 0.41, 0.42],
        bw("scale in place", traffic.IN_PLACE): [0.30, 0.29, 0.31],
        bw("fast read x2", traffic.READ, 2): [0.13, 0.12, 0.14],
        ("max", "pass", "", "max", "rmax", 1): [0.21, 0.24, 0.23],  # a data-moving pass counts
        ("sum", "pass", "", "sum", "raddexpminusmax", 1): [0.60, 0.62, 0.61],
    })
    summary = analysis.summarize(samples)
    roofs = analysis.roofs(summary).set_index(["threads", "pattern"])
    assert roofs.loc[(1, traffic.READ), "roof_ns_per_element"] == pytest.approx(0.21)
    assert roofs.loc[(1, traffic.READ), "kernel"] == "max"
    assert roofs.loc[(2, traffic.READ), "kernel"] == "fast read x2"
    assert roofs.loc[(1, traffic.READ_WRITE), "kernel"] == "copy"  # plain stores pay the RFO: no nt kernel
    assert roofs.loc[(1, traffic.READ), "gb_per_s"] == pytest.approx(4 / 0.21)
    rows = summary.set_index("case")
    assert rows.loc["sum", "roof_kernel"] == "max"
    assert rows.loc["sum", "efficiency"] == pytest.approx(0.21 / 0.61)
    assert rows.loc["max", "efficiency"] <= 1.0
    # Without the read for ownership the streaming copy moves the same bytes and bounds plain passes too.
    no_rfo = {"bandwidth": {"rfo": {"plain_stores_rfo": False}}}
    roofs = analysis.roofs(analysis.summarize(samples, no_rfo), write_allocate=False).set_index(["threads", "pattern"])
    assert roofs.loc[(1, traffic.READ_WRITE), "kernel"] == "copy nt"
    assert roofs.loc[(1, traffic.READ_WRITE), "roof_ns_per_element"] == pytest.approx(0.40)


def beating_the_roof() -> pd.DataFrame:
    """A pass that computes yet runs faster than every kernel moving its bytes."""
    return samples_with({
        bw("read", traffic.READ): [0.30, 0.30, 0.30],
        ("sum", "pass", "", "sum", "raddexpminusmax", 1): [0.20, 0.21, 0.22],
    })


def test_an_efficiency_above_one_raises():
    with pytest.raises(analysis.RoofError, match="sum"):
        analysis.summarize(beating_the_roof())
    unchecked = analysis.summarize(beating_the_roof(), check=False)
    assert unchecked.set_index("case").loc["sum", "efficiency"] > 1


def test_a_report_with_an_efficiency_above_one_fails():
    run = Run(SweepConfig(sizes=[1000]), machine.report(), beating_the_roof(), pd.DataFrame())
    with pytest.raises(analysis.RoofError):
        report.render(run)


# ----------------------------------------------------- threaded kernels


def run_task(name, x, y, threads, a=0.0, sentinel=float("nan")):
    core = build.load()
    task = core.Task(name, a=a, threads=threads, sentinel=sentinel)
    _, value, _ = core.time_batch(task, [x], [y], x.size, 1)
    return value


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("n", [1, 15, 47, 1000, 4099])
def test_threaded_bandwidth_kernels_compute_what_one_thread_does(threads, n, rng):
    x = rng.uniform(-10, 10, n).astype(np.float32)
    x[n // 2] = 11.5  # the known maximum
    x[-1] = x[0]  # in place, the timer's sentinel goes to both ends: the same value there
    for k in bandwidth_kernels(BEST, threads=threads):
        name = k.variant.name
        y = np.zeros_like(x)
        if k.variant.family == "rmax":
            assert run_task(name, x, y, k.threads) == 11.5, k.name
        elif k.variant.family in ("vcopy", "vcopy_paced"):
            run_task(name, x, y, k.threads)
            np.testing.assert_array_equal(y, x, err_msg=k.name)
        elif k.variant.family == "vfill":
            run_task(name, x, y, k.threads, a=0.5)
            assert (y == 0.5).all(), k.name
        else:  # vscale in place
            y[:] = x
            run_task(name, y, y, k.threads, a=-1.0, sentinel=float(x[0]))
            np.testing.assert_array_equal(y, -x, err_msg=k.name)


def test_threaded_roofs_try_every_kind_of_kernel_the_one_thread_roofs_try():
    """A kind missing from the threaded candidates (the paced copy once was)
    lets a threaded pass beat its threaded roof."""
    one = {(k.pattern, k.variant.family) for k in bandwidth_kernels(BEST)}
    many = {(k.pattern, k.variant.family) for k in bandwidth_kernels(BEST, threads=2) if k.threads == 2}
    assert many == one


def test_only_bandwidth_kernels_split_across_threads():
    core = build.load()
    with pytest.raises(ValueError, match="threads"):
        core.Task(registry.default_variant("raddexpminusmax", BEST).name, threads=2)


def test_threaded_roof_cases_pass_their_checks(rng):
    x = rng.uniform(-10, 10, 3001).astype(np.float32)
    cases = bandwidth_cases(x, BEST, threads=2)
    assert {c.meta["threads"] for c in cases} == {"1", "2"}
    measure(cases, Buffers(x, "warm", None), reps=2, target_ns=2e4, rng=rng)


def test_an_algorithm_is_bounded_by_its_movement_sequence_where_that_is_faster():
    """Passes hand data to each other through the caches: the sequence of their
    bandwidth kernels, back to back, bounds the algorithm where the sum of the
    passes' roofs (each timed alone) does not."""
    samples = samples_with({bw("read", traffic.READ): [0.3] * 3, bw("copy", traffic.READ_WRITE): [0.5] * 3,
                            ("two-pass", "algorithm", "", "", "", 1): [0.7] * 3,
                            ("roof sequence: two-pass", "bandwidth", "", "two-pass", "", 1): [0.6, 0.65, 0.7]})
    samples["algorithm"] = np.where(samples["case"].str.contains("two-pass"), "two-pass", "")
    row = analysis.summarize(samples).set_index("case").loc["two-pass"]
    assert row["roof_ns_per_element"] == pytest.approx(0.6)
    assert row["roof_kernel"].startswith("sequence")
    without_sequence = samples[~samples["case"].str.startswith("roof sequence")]
    with pytest.raises(analysis.RoofError, match="two-pass"):  # the sum of the passes' roofs, 0.8, is no bound
        analysis.summarize(without_sequence)


def test_the_fastest_movement_sequence_bounds_the_algorithm():
    """Where the algorithm runs at its movement's speed, one sequence's best
    round need not stay below its median; the fastest of several does."""
    samples = samples_with({("two-pass", "algorithm", "", "", "", 1): [0.62, 0.6, 0.64],
                            ("roof sequence: two-pass [a]", "bandwidth", "", "seq a", "", 1): [0.63, 0.65, 0.7],
                            ("roof sequence: two-pass [b]", "bandwidth", "", "seq b", "", 1): [0.66, 0.59, 0.7]})
    samples["algorithm"] = np.where(samples["case"].str.contains("two-pass"), "two-pass", "")
    row = analysis.summarize(samples).set_index("case").loc["two-pass"]
    assert row["roof_ns_per_element"] == pytest.approx(0.59)
    assert row["roof_kernel"] == "sequence seq b"
    with pytest.raises(analysis.RoofError, match="two-pass"):
        analysis.summarize(samples[~samples["case"].str.endswith("[b]")])


def test_movement_sequences_pass_their_checks(rng):
    from kernels.bench.sweep import SEQUENCE_SHAPES, sequence_case

    x = rng.uniform(-10, 10, 3001).astype(np.float32)
    cases = [sequence_case(a, set(), x, BEST, shapes) for a in registry.ALGORITHMS for shapes in SEQUENCE_SHAPES]
    cases += [sequence_case("two-pass", {"vscaleextexp"}, x, BEST, shapes) for shapes in SEQUENCE_SHAPES]
    measure(cases, Buffers(x, "warm", None), reps=2, target_ns=2e4, rng=rng)
    core = build.load()
    reload = core.Task("reload", steps=[(k.variant.name, a, k.in_place) for k, a in (
        (next(k for k in bandwidth_kernels(BEST) if k.pattern == p), a)
        for p, a in ((traffic.READ, 0.0), (traffic.READ_WRITE, 0.0), (traffic.IN_PLACE, -1.0)))])
    y = np.zeros_like(x)
    _, value, _ = core.time_batch(reload, [x], [y], x.size, 1)
    assert value == x.max()  # the max step's result
    np.testing.assert_array_equal(y, -x)  # copied, then scaled by -1 in place
