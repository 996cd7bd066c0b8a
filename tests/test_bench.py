"""The benchmark harness: traffic model, roofs, machine report, timing checks,
result files, plots and the CLI end to end (quick mode). No test asserts a speed."""

import itertools
import json
import math
import re
import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest

import kernels
from kernels import build, contracts, logsoftmax, registry, tuning
from kernels.bench import analysis, arguments, cli, machine, peers, plots, report, results, sweep, timing, traffic, tune
from kernels.bench.sweep import (IN_PLACE_SENTINEL, Run, SweepConfig, api_label, api_partner, describe_protocol,
                                 bandwidth_cases, bandwidth_kernels, cases_at, kernel_case, peer_cases)
from kernels.bench.timing import BenchmarkError, Buffers, Case, measure, python_runner

matplotlib.use("Agg")


# ------------------------------------------------------------ traffic model


@pytest.mark.parametrize(
    "algorithm, no_wa, wa, streaming, accesses",
    [
        ("three-pass-recompute", 16, 20, 16, 4),
        ("three-pass-reload", 20, 24, 20, 5),
        ("two-pass", 12, 16, 12, 3),
        ("online", 12, 16, 12, 3),
    ],
)
def test_traffic_per_element(algorithm, no_wa, wa, streaming, accesses):
    """The paper's accounting: reads and writes per element, with and without
    the write-allocate read, and with streaming stores in the write passes."""
    assert traffic.bytes_per_element(algorithm, write_allocate=False) == no_wa
    assert traffic.bytes_per_element(algorithm, write_allocate=True) == wa
    families = set(registry.ALGORITHM_PASSES[algorithm])
    assert traffic.bytes_per_element(algorithm, True, streaming=families) == streaming
    assert traffic.accesses_per_element(algorithm) == accesses


def test_ceilings_on_the_two_pass_speedup():
    """Equal-bandwidth ceilings quoted by the book: 16/12 and 20/16 vs recompute."""
    t = {r["algorithm"]: r for r in traffic.table()}
    assert t["three-pass-recompute"]["bytes (write-allocate)"] / t["two-pass"]["bytes (write-allocate)"] == 1.25
    assert t["three-pass-reload"]["bytes (no write-allocate)"] / t["two-pass"]["bytes (no write-allocate)"] == 20 / 12


def test_roof_sums_each_pass_at_its_pattern_bandwidth():
    bw = {traffic.READ: 0.2, traffic.READ_WRITE: 0.4, traffic.READ_WRITE_STREAMING: 0.25, traffic.IN_PLACE: 0.3}
    assert traffic.roof_ns_per_element("three-pass-recompute", bw) == pytest.approx(0.2 + 0.2 + 0.4)
    assert traffic.roof_ns_per_element("three-pass-reload", bw) == pytest.approx(0.2 + 0.4 + 0.3)
    assert traffic.roof_ns_per_element("two-pass", bw, streaming={"vscaleextexp"}) == pytest.approx(0.2 + 0.25)
    assert traffic.pass_roofs("online", bw) == {"raddexponline": 0.2, "vscaleexpminusmax": 0.4}


def synthetic_samples():
    """Two sizes, known times: two-pass 10 ns/elem flat, reload 15, bandwidth kernels 1..4."""
    rows = []
    for n in (1000, 2000):
        for rep in range(5):
            noise = 1 + 0.01 * rep
            rows.append({"case": "two-pass [avx2]", "group": "algorithm", "algorithm": "two-pass", "isa": "avx2",
                         "variant": "v", "streaming": "", "rep": rep, "ns_per_call": 10 * n * noise})
            rows.append({"case": "three-pass-reload [avx2]", "group": "algorithm", "algorithm": "three-pass-reload",
                         "isa": "avx2", "variant": "v", "streaming": "", "rep": rep, "ns_per_call": 15 * n * noise})
            for k, pattern in enumerate(traffic.ROOF_PATTERNS):
                rows.append({"case": f"bandwidth: {pattern}", "group": "bandwidth", "kernel": f"k{k}", "isa": "avx2",
                             "pattern": pattern, "threads": "1", "rep": rep, "ns_per_call": (k + 1) * n})
    df = pd.DataFrame(rows)
    df["mode"] = "warm"
    df["n"] = np.repeat([1000, 2000], len(df) // 2)
    return df


def test_summary_roofs_efficiency_and_ratios():
    samples = synthetic_samples()
    summary = analysis.summarize(samples)
    two = summary[(summary["case"] == "two-pass [avx2]") & (summary["n"] == 1000)].iloc[0]
    assert two["ns_per_element"] == pytest.approx(10 * 1.02)  # the median of 1.00 ... 1.04
    assert two["roof_ns_per_element"] == pytest.approx(1 + 2)  # read + scale
    assert two["efficiency"] == pytest.approx(3 / 10.2)
    assert two["gb_per_s"] == pytest.approx(16 / 10.2)
    reload = summary[(summary["case"] == "three-pass-reload [avx2]") & (summary["n"] == 2000)].iloc[0]
    assert reload["roof_ns_per_element"] == pytest.approx(1 + 2 + 4)
    assert analysis.paired_ratio(samples, "warm", 1000, "three-pass-reload [avx2]", "two-pass [avx2]") == pytest.approx(1.5)


# ----------------------------------------------------------- machine report


def test_machine_report_on_this_machine():
    rep = machine.report()
    assert rep["cpu"]["model"]
    levels = [c["level"] for c in rep["caches"]]
    sizes = [c["size_bytes"] for c in rep["caches"]]
    assert levels == sorted(levels) and all(s and s > 0 for s in sizes)
    per_level = {lvl: max(s for l2, s in zip(levels, sizes) if l2 == lvl) for lvl in set(levels)}
    assert list(per_level.values()) == sorted(per_level.values()), "caches must grow with the level"
    assert set(rep["isas_available"]) == set(kernels.available_isas())
    assert dict(machine.describe(rep))["CPU"].startswith(rep["cpu"]["model"])
    json.dumps(rep)


@pytest.mark.parametrize("text, value", [("32K", 32768), ("1024K", 1 << 20), ("32 MiB", 32 << 20),
                                          ("335544320", 335544320), ("", None), ("lots", None)])
def test_parse_cache_size(text, value):
    assert machine.parse_size(text) == value


# ------------------------------------------------------------------ timing


def test_interleaved_measure_and_checks(rng):
    x = rng.uniform(-10, 10, 5000).astype(np.float32)
    buffers = Buffers(x, "warm", None)
    cases = bandwidth_cases(buffers.x, kernels.available_isas()[-1])
    samples = measure(cases, buffers, reps=3, target_ns=1e5, rng=rng)
    assert len(samples) == 3 * len(cases)
    assert {s["case"] for s in samples} == {c.label for c in cases}
    assert all(s["ns_per_call"] > 0 for s in samples)


class InOrder:
    """An rng whose shuffle keeps the cases in the order given."""

    def shuffle(self, cases):
        pass


def every_sweep_case(x):
    config = SweepConfig(isas=[kernels.available_isas()[-1]], passes=True, bandwidth=True, peers=True)
    return cases_at(config, x)


def do_nothing(x, y=None):
    return y


def interior_reversed(x, y):
    """A softmax whose edges and sum are right and whose other elements are in
    reverse order: only the sampled elements tell it from the real one."""
    e = np.exp(x.astype(np.float64) - x.max())
    y[:] = e / e.sum()
    y[1:-1] = y[-2:0:-1].copy()
    return y


def lazy_twin(case: Case) -> Case:
    """The case with the same check and a run that skips the work: into
    (and C-timed) cases leave the output buffer as it is; allocating ones
    return the array their first call computed, again and again."""
    if case.meta.get("output") == peers.ALLOCATING:
        real = case.run
        cached = {}

        def stale(x):
            if "y" not in cached:
                cached["y"] = real(x.size, [x], [np.empty_like(x)], 1, 0).output.copy()
            return cached["y"]

        run = python_runner(stale, into=False)
    else:
        run = python_runner(do_nothing)
    return Case(case.label + " (lazy)", case.group, run, case.check, case.in_place, case.meta)


def assert_rejected(cases, x, lazy_label):
    """Rejected in batches of one call (as at large sizes) and of several,
    with warm buffers and under the paper's protocol (calls timed one by one)."""
    for mode, target_ns in itertools.product(("warm", "paper"), (0, 2e4)):
        with pytest.raises(BenchmarkError, match=re.escape(lazy_label)):
            measure(cases, Buffers(x, mode, 1 << 16), reps=2, target_ns=target_ns, rng=InOrder())


def test_every_case_of_the_sweep_passes_its_checks(rng):
    x = rng.uniform(-10, 10, 3001).astype(np.float32)
    cases = every_sweep_case(x)
    assert {c.group for c in cases} == {"algorithm", "pass", "bandwidth", "api", "peer"}
    assert all(c.check is not None for c in cases)
    for mode in ("warm", "cold", "paper"):
        measure(cases, Buffers(x, mode, llc_bytes=1 << 16), reps=2, target_ns=2e4, rng=rng)


def test_a_lazy_case_timed_after_its_real_twin_is_rejected(rng):
    """Warm buffers hold the real case's correct output when the lazy one runs:
    only the sentinels can tell.  Every group, every output handling."""
    x = rng.uniform(-10, 10, 3001).astype(np.float32)
    for case in every_sweep_case(x):
        twin = lazy_twin(case)
        assert_rejected([case, twin], x, twin.label)


def bandwidth_label(pattern: str) -> str:
    """The label of the first bandwidth kernel of a pattern in the sweep."""
    return next(k.label for k in bandwidth_kernels(kernels.available_isas()[-1]) if k.pattern == pattern)


@pytest.mark.parametrize("real, lazy", [
    ("peer: numpy", lambda x, y: y),  # a lazy peer timed after numpy
    (bandwidth_label(traffic.IN_PLACE), None),  # a no-op copy timed after scaling in place
    (bandwidth_label(traffic.READ_WRITE), lambda x, y: y * 1.0),  # a result that is not the output
    ("peer: numpy (allocating)", lambda x: np.full(x.size, 1.0 / x.size, np.float32)),  # uniform 1/n
    ("peer: numpy", lambda x, y: interior_reversed(x, y)),  # right edges and sum, wrong elements between
])
def test_named_lazy_cases_are_rejected(real, lazy, rng):
    x = rng.uniform(-10, 10, 2000).astype(np.float32)
    cases = {c.label: c for c in every_sweep_case(x)}
    first = cases[real]
    if lazy is None:  # the copy kernel's check on a copy that does nothing
        copy = cases[bandwidth_label(traffic.READ_WRITE)]
        bad = Case("copy (no-op)", "bandwidth", python_runner(do_nothing), copy.check)
    else:
        bad = Case("lazy", first.group, python_runner(lazy, into=first.meta.get("output") != peers.ALLOCATING),
                   first.check)
    assert_rejected([first, bad], x, bad.label)


def test_the_very_first_call_of_a_lazy_peer_is_rejected(rng):
    """Before its first call a Python-timed case has no earlier result to
    poison: only the sentinel written into its output tells that it did
    nothing, where numpy's correct output still sits in the shared buffer."""
    x = rng.uniform(-10, 10, 2000).astype(np.float32)
    real = {c.label: c for c in every_sweep_case(x)}["peer: numpy"]
    buffers = Buffers(x, "warm", 1 << 16)
    real.timed(buffers, calls=1, first=0)
    lazy = Case("lazy", real.group, python_runner(lambda x, y: y), real.check)
    with pytest.raises(BenchmarkError, match="lazy"):
        lazy.timed(buffers, calls=1, first=0)


def test_peers_are_checked_on_the_calls_that_were_timed(rng):
    """A peer right on its first call and wrong after it is caught."""
    x = rng.uniform(-10, 10, 2000).astype(np.float32)
    numpy_case = next(c for c in every_sweep_case(x) if c.label == "peer: numpy")
    calls = []

    def right_once(x, y):
        calls.append(1)
        return peers.numpy_into(x, y) if len(calls) == 1 else y.fill(0.0)

    bad = Case("right once", "peer", python_runner(right_once), numpy_case.check)
    with pytest.raises(BenchmarkError, match="right once"):
        measure([bad], Buffers(x, "warm", None), reps=1, target_ns=1e5, rng=rng)


def test_timer_sentinels(rng):
    """The C timer writes the sentinel before every call: the in-place scale
    sees it as its input at both ends, whatever the buffer held; a plan that
    leaves the last element unwritten leaves NaN in the edge sum."""
    core = build.load()
    isa = kernels.available_isas()[-1]
    y = np.full(1000, 5.0, np.float32)
    scale = core.Task(registry.default_variant("vscale", isa).name, a=-1.0, sentinel=1.0)
    _, _, edges = core.time_batch(scale, [y], [y], y.size, 3)
    assert edges == 3 * 2 * -1.0
    x = rng.uniform(-10, 10, 2 * 500 + 1).astype(np.float32)
    two_rows = core.Task("two-pass", plan=kernels.Plan("two-pass", isa)._plan, rows=2)
    assert np.isnan(core.time_batch(two_rows, [x], [np.zeros_like(x)], x.size, 2)[2])
    rsum = core.Task(registry.default_variant("rsum", isa).name)
    one = core.time_batch(rsum, [x], [x], x.size, 1)[1]
    assert core.time_batch(rsum, [x], [x], x.size, 7)[1] == pytest.approx(7 * one, rel=1e-12)


def test_in_place_scale_changes_its_data(rng):
    """Scaling by 1 would make a skipped in-place call indistinguishable from a done one."""
    x = rng.uniform(-10, 10, 1000).astype(np.float32)
    case = kernel_case(registry.default_variant("vscale", kernels.available_isas()[-1]), x, "s", "pass",
                       in_place=True)
    assert case.check.edges != 2 * IN_PLACE_SENTINEL


def test_cold_buffers_exceed_twice_the_llc(rng):
    x = rng.uniform(-1, 1, 1 << 12).astype(np.float32)
    cold = Buffers(x, "cold", llc_bytes=1 << 20)
    assert len(cold.xs) * x.nbytes * 2 >= 2 * (1 << 20)
    assert all(np.array_equal(b, x) for b in cold.xs)
    assert all(b.ctypes.data % 4096 == 0 for b in cold.xs + cold.ys)


def test_paper_buffers_rotate_the_output_only(rng):
    """The paper's protocol: one input; 1 + ceil(LLC / output bytes) outputs."""
    x = rng.uniform(-1, 1, 3000).astype(np.float32)
    paper = Buffers(x, "paper", llc_bytes=1 << 16)
    assert len(paper.xs) == 1 and len(paper.ys) == 1 + math.ceil((1 << 16) / x.nbytes) == 7
    assert paper.touch and not Buffers(x, "cold", llc_bytes=1 << 16).touch
    assert "paper" in paper.describe() and "7" in paper.describe()


def test_the_touch_reads_every_cache_line_of_each_input(rng):
    """time_batch(touch=True) loads one element per 64 bytes of the call's input
    before each call, and the Python runner does the same."""
    core = build.load()
    x = rng.uniform(-1, 1, 1001).astype(np.float32)
    lines = float(x[::16].sum(dtype=np.float64)) + float(x[-1])
    task = core.Task(registry.default_variant("rmax", kernels.available_isas()[-1]).name)
    core.take_touched_sum()
    core.time_batch(task, [x], [np.zeros_like(x)], x.size, 3, 0, True)
    assert core.take_touched_sum() == pytest.approx(3 * lines, rel=1e-12)
    core.time_batch(task, [x], [np.zeros_like(x)], x.size, 3, 0, False)
    assert core.take_touched_sum() == 0.0
    seen = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timing, "touch_lines", lambda a: seen.append(a.ctypes.data))
        python_runner(lambda a, b: b.fill(1.0))(x.size, [x], [np.zeros_like(x)], 4, 0, touch=True)
    assert seen == [x.ctypes.data] * 4


def test_paper_protocol_measurements_carry_their_protocol():
    config = SweepConfig(sizes=[1024], modes=["warm", "cold"], protocols=["tuned", "paper"], paper_sizes=[1000, 3000])
    assert config.measurements() == [("tuned", 1024, "warm"), ("tuned", 1024, "cold"), ("paper", 1000, "paper"),
                                     ("paper", 3000, "paper")]
    assert sweep.PAPER_SIZES[:4] == [1000, 3000, 10_000, 30_000]
    with pytest.raises(ValueError, match="protocol"):
        SweepConfig(protocols=["xnnpack"]).measurements()


def test_plain_twins_have_no_streaming_stores():
    for variant in registry.VARIANTS:
        twin = sweep.plain_twin(variant)
        assert not twin.streaming and twin.family == variant.family and twin.isa == variant.isa


def test_the_paper_protocol_times_kernels_softmax_with_plain_stores(rng, monkeypatch):
    """Under the paper's protocol the kernels.softmax cases run the plan softmax
    would run, streaming stores replaced by plain ones (here every pass that
    has a streaming variant is given one, as a tuner may choose)."""
    isa = kernels.available_isas()[-1]
    streaming_plan = {a: kernels.Plan(a, isa, {v.family: next((w for w in registry.variants(v.family, isa)
                                                                if w.streaming), v)
                                               for v in kernels.Plan(a, isa).passes})
                      for a in registry.ALGORITHMS}
    assert any(v.streaming for p in streaming_plan.values() for v in p.passes)
    monkeypatch.setattr(sweep.api, "plan_for", lambda algorithm, isa, n: streaming_plan[algorithm])
    x = rng.uniform(-1000, 1000, 3000).astype(np.float32)
    config = SweepConfig(isas=[isa], passes=False, bandwidth=False, peers=True)
    api_cases = [c for c in cases_at(config, x, plain_stores=True) if c.group == "api"]
    assert len(api_cases) == 2 * len(config.algorithms)
    for case in api_cases:
        names = case.meta["variant"].split(": ")[1].split("+")
        assert names and not any(registry.lookup(name).streaming for name in names), case.meta
    measure(api_cases, Buffers(x, "paper", llc_bytes=1 << 16), reps=2, target_ns=0, rng=rng)


def test_case_with_its_own_outputs_at_a_page_offset(rng):
    """The 4K-aliasing experiment: a case writes to its own output buffers,
    placed at a chosen offset past a page boundary, and is checked there."""
    from kernels.bench.sweep import algorithm_case
    from kernels.bench.timing import page_offset_empty

    x = rng.uniform(-10, 10, 3000).astype(np.float32)
    buffers = Buffers(x, "warm", None)
    shifted = page_offset_empty(x.size, 64)
    assert shifted.ctypes.data % 4096 == 64 and shifted.size == x.size
    case = algorithm_case(kernels.Plan("two-pass"), "two-pass +64")
    case.outputs = [shifted]
    measure([case], buffers, reps=1, target_ns=1e4, rng=rng)
    np.testing.assert_allclose(shifted, kernels.softmax(x, algorithm="two-pass"), rtol=1e-6)
    assert not buffers.ys[0].any()  # the shared output was never written


def test_every_pass_kernel_case_checks_its_output(rng):
    x = rng.uniform(-10, 10, 4096).astype(np.float32)
    isa = kernels.available_isas()[-1]
    for algorithm in registry.ALGORITHMS:
        for v in kernels.Plan(algorithm, isa).passes:
            case = kernel_case(v, x, v.name, "pass", in_place=v.family == "vscale")
            measure([case], Buffers(x, "warm", None), reps=2, target_ns=1e4, rng=rng)


# ------------------------------------------------------- files and plots


def small_run(rng):
    samples = synthetic_samples()
    rep = machine.report()
    acc = pd.DataFrame([{"n": 1000, "distribution": "d", "implementation": "two-pass", "isa": "avx2",
                         "max_rel_error": 1e-7}])
    return Run(SweepConfig(sizes=[1000, 2000]), rep, samples, acc)


def test_results_round_trip(tmp_path, rng):
    run = small_run(rng)
    folder = results.save(run, tmp_path)
    assert results.latest(tmp_path) == folder
    back = results.load(folder)
    pd.testing.assert_frame_equal(back.samples, results.normalize(run.samples), check_dtype=False)
    assert back.machine == json.loads(json.dumps(run.machine))
    assert back.config.sizes == [1000, 2000]


def test_plots_render(rng):
    run = small_run(rng)
    summary = analysis.summarize(run.samples)
    for fig, ax in (
        plots.throughput(summary, run.machine, plots.algorithm_cases(summary, "avx2")),
        plots.speedup(run.samples, "two-pass [avx2]", ["three-pass-reload [avx2]"], report=run.machine,
                      reference_lines={"paper": 1.18}),
    ):
        fig.canvas.draw()
        assert ax.get_lines()


# ------------------------------------------------------- like with like


def test_each_peer_form_has_its_own_case_and_partner():
    forms = {name: list(peer.forms()) for name, peer in peers.peers().items()}
    assert forms["numpy"] == [peers.OUT, peers.ALLOCATING]
    assert forms["scipy"] == [peers.ALLOCATING]  # it has no out= argument
    if "torch" in forms:
        assert forms["torch"] == [peers.OUT, peers.ALLOCATING]
    for peer in peers.peers().values():
        for case in peer_cases(peer):
            allocating = case.meta["output"] == peers.ALLOCATING
            assert api_partner(case.label, "two-pass", "avx2") == api_label("two-pass", "avx2", allocating)


def test_preallocating_peers_write_into_the_output(rng):
    """The out= form computes in the given buffer, through the library's own
    array type, and the allocating form returns a new array; both agree."""
    x = rng.uniform(-10, 10, 4096).astype(np.float32)
    for peer in peers.peers().values():
        if peer.into is not None:
            y = np.zeros_like(x)
            peer.into(peer.prepare(x), peer.prepare(y))
            np.testing.assert_allclose(y, kernels.softmax(x), rtol=1e-4)
        if peer.allocating is not None:
            result = np.asarray(peer.to_numpy(peer.allocating(peer.prepare(x))))
            assert not np.shares_memory(result, x)
            np.testing.assert_allclose(result, kernels.softmax(x), rtol=1e-4)


def test_scipy_is_imported_once_not_per_call():
    from scipy.special import softmax

    assert peers.scipy_peer(1).allocating.func is softmax  # a partial: along the last axis


def like_with_like_samples():
    """Peers 2x (out=) and 3x (allocating) as slow as kernels.softmax called from
    Python, which is itself 1.5x as slow as the C-timed kernels."""
    times = {"two-pass [avx2]": 10.0, api_label("two-pass", "avx2"): 15.0, "peer: numpy": 30.0,
             api_label("two-pass", "avx2", allocating=True): 20.0, "peer: numpy (allocating)": 60.0,
             "three-pass-reload [avx2]": 12.0}
    def group(case):
        return "peer" if case.startswith("peer") else "api" if "kernels.softmax" in case else "algorithm"

    rows = [{"case": case, "group": group(case), "algorithm": case.split(" [")[0], "isa": "avx2", "streaming": "",
             "rep": rep, "ns_per_call": t * (1 + 0.01 * rep), "mode": "warm", "n": 1000}
            for case, t in times.items() for rep in range(3)]
    return pd.DataFrame(rows)


def test_speedups_over_peers_compare_like_with_like():
    samples = like_with_like_samples()
    summary = analysis.summarize(samples)
    table = analysis.speedup_table(samples, summary, "avx2").iloc[0]
    assert table["peer: numpy"] == pytest.approx(2.0)
    assert table["peer: numpy (allocating)"] == pytest.approx(3.0)
    assert table["three-pass-reload [avx2]"] == pytest.approx(1.2)
    rows = report.ratio_rows(summary, samples, "warm", 1000).set_index("algorithm")
    assert rows.loc["two-pass", "vs numpy"] == pytest.approx(2.0)
    assert rows.loc["two-pass", "vs numpy (allocating)"] == pytest.approx(3.0)
    assert rows.loc["two-pass", "allocating / out="] == pytest.approx(20 / 15)


# --------------------------------------------------------------------- CLI


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sweep", "--sizes", "12Q"], "not a size"),
        (["sweep", "--algorithms", "four-pass"], "unknown four-pass"),
        (["sweep", "--isas", "sse9"], "unknown sse9"),
        (["sweep", "--reps", "0"], "at least 1"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments_give_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_size_parsing():
    assert arguments.parse_sizes("1K..8K") == [1024, 2048, 4096, 8192]
    assert arguments.parse_sizes("1000,2^20,1.5K") == [1000, 1 << 20, 1536]


@pytest.mark.slow
def test_cli_quick_sweep_then_report(tmp_path):
    env = {"SOFTMAX_RESULTS": str(tmp_path), "PATH": "/usr/bin:/bin"}
    import os

    env = {**os.environ, **env}
    sweep = subprocess.run(
        [sys.executable, "-m", "kernels.bench", "sweep", "--quick", "--sizes", "1K,32K", "--no-progress"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert sweep.returncode == 0, sweep.stderr
    report = subprocess.run([sys.executable, "-m", "kernels.bench", "report"], capture_output=True, text=True,
                            env=env, timeout=300)
    assert report.returncode == 0, report.stderr
    text = report.stdout
    for algorithm in registry.ALGORITHMS:
        assert algorithm in text
    for needle in ("Roofs", "winning kernel", "read for ownership", "Highest efficiency", "vs numpy", "vs scipy",
                   "Max relative error", "in-place"):
        assert needle in text


# ------------------------------------------------------------------ tuning


def rounds(times: dict[str, list[float]]) -> tune.Rounds:
    """Rounds from per-round times of each case."""
    return tune.Rounds([{"rep": r, "case": c, "ns_per_call": t} for c, ts in times.items() for r, t in enumerate(ts)])


DRIFT = [1.0, 1.08, 0.95, 1.3, 1.0, 0.9, 1.12, 1.0, 1.05]  # the machine's drift, shared by a round's cases


def drifting(base: float, jitter=(0,) * 9) -> list[float]:
    return [base * d * (1 + j) for d, j in zip(DRIFT, jitter)]


def test_median_lower_bound():
    assert tune.median_lower_bound(range(9, 0, -1)) == 2  # P(Binomial(9, 1/2) <= 1) = 2 %
    assert tune.median_lower_bound(range(11)) == 2
    assert tune.median_lower_bound([1.0, 2.0, 3.0, 4.0]) == -np.inf  # too few rounds for 95 %


@pytest.mark.parametrize("candidate, aa, convincing", [
    (drifting(90.0), drifting(100.0), True),  # 11 % faster in every round
    (drifting(97.0), drifting(100.0), False),  # faster every round, but below MIN_GAIN
    (drifting(90.0), drifting(100.0, (0, 0, 0.25, 0.2, 0.2, 0.3, 0, 0.2, 0)), False),  # the A/A pair drifts 20 %
    (drifting(88.0, (0, 0, 0, 0, 0, 0, 0, 0.5, 0)), drifting(100.0), True),  # one bad round of 9: the majority rule
    (drifting(88.0, (0, 0, 0, 0.5, 0, 0, 0.5, 0.5, 0)), drifting(100.0), False),  # three bad rounds
])
def test_the_evidence_rule(candidate, aa, convincing):
    r = rounds({"default": drifting(100.0), "default" + tune.AA_SUFFIX: aa, "new": candidate})
    assert tune.beats([r], "default", "new", "default") is convincing


def test_a_candidate_must_win_at_every_size():
    fast = rounds({"default": drifting(100.0), "default" + tune.AA_SUFFIX: drifting(100.0), "new": drifting(80.0)})
    slow = rounds({"default": drifting(100.0), "default" + tune.AA_SUFFIX: drifting(100.0), "new": drifting(120.0)})
    assert tune.pick_winner(["default", "new"], [fast]) == "new"
    assert tune.pick_winner(["default", "new"], [fast, slow]) == "default"


def test_pick_winner_keeps_the_simplest_unless_clearly_beaten():
    labels = ["default", "tuned shapes", "tuned shapes + streaming stores"]
    times = {"default": drifting(100.0), "default" + tune.AA_SUFFIX: drifting(100.0),
             "tuned shapes": drifting(99.0), "tuned shapes + streaming stores": drifting(80.0)}
    assert tune.pick_winner(labels, [rounds(times)]) == "tuned shapes + streaming stores"
    times["tuned shapes + streaming stores"] = drifting(98.0)
    assert tune.pick_winner(labels, [rounds(times)]) == "default"


def test_tuning_sizes_represent_their_classes():
    """A size per class of kernels.tuning, each inside the class it tunes:
    the in-L2 row's input and output fit in half of L2, the next one's do not."""
    rep = machine.report()
    sizes = tune.tuning_sizes(rep, quick=False)
    assert list(sizes) == list(tuning.SIZE_CLASSES)
    assert 16 * max(sizes["in-l2"]) <= machine.cache_size(rep, 2) < 16 * min(sizes["in-llc"])
    for size_class, ns in sizes.items():
        assert all(tuning.size_class(n) == size_class for n in ns), (size_class, ns)


def test_size_classes_split_at_l2_and_the_last_level_cache():
    l2, llc = tuning.in_l2_row_limit(), tuning.in_cache_row_limit()
    assert 0 < l2 < llc
    assert [tuning.size_class(n) for n in (1, l2, l2 + 1, llc, llc + 1)] == [
        "in-l2", "in-l2", "in-llc", "in-llc", "out-of-cache"]


def test_a_file_stored_before_the_split_serves_both_in_cache_classes(tmp_path, monkeypatch):
    """Its one "in-cache" choice applies to both in-cache classes until the
    next tune; the out-of-cache one stays its own."""
    isa = kernels.available_isas()[-1]
    in_cache = {f: registry.default_variant(f, isa, "rr1_p5").name for f in registry.ALGORITHM_PASSES["two-pass"]}
    out = {f: registry.default_variant(f, isa).name for f in registry.ALGORITHM_PASSES["two-pass"]}
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"meta": {}, "choices": {isa: {"two-pass": {"in-cache": in_cache,
                                                                           "out-of-cache": out}}}}))
    monkeypatch.setattr(tuning, "choices_path", lambda: path)
    tuning.forget_cached_choices()
    try:
        for size_class in tuning.IN_CACHE_CLASSES:
            assert tuning.stored_variants("two-pass", isa, size_class) == in_cache
        assert tuning.stored_variants("two-pass", isa, "out-of-cache") == out
    finally:
        monkeypatch.undo()
        tuning.forget_cached_choices()


@pytest.mark.parametrize("confirmed", [True, False])
def test_the_winner_is_measured_again_before_it_is_stored(confirmed, monkeypatch):
    wins = {"default": drifting(100.0), "default" + tune.AA_SUFFIX: drifting(100.0),
            "tuned shapes + streaming stores": drifting(80.0)}
    loses = dict(wins, **{"tuned shapes + streaming stores": drifting(100.0)})
    measured = []

    def fake_measure_plans(plans, sizes, size_class, llc, reps, rng, kind="random"):
        measured.append(list(plans))
        times = wins if len(measured) == 1 or confirmed else loses
        return [rounds({label: times[label] for label in list(plans) + ["default" + tune.AA_SUFFIX]})]

    monkeypatch.setattr(tune, "measure_plans", fake_measure_plans)
    isa = kernels.available_isas()[-1]
    shapes = {f: registry.default_variant(f, isa) for f in registry.ALGORITHM_PASSES["two-pass"]}
    choice = tune.choose_plan("two-pass", isa, shapes, [1 << 12], "in-l2", None, 9, None)
    # confirmed: a third measurement, on rising rows (two-pass branches on the data), which it also wins
    assert len(measured) == (3 if confirmed else 2) and measured[1] == ["default", "tuned shapes + streaming stores"]
    assert choice.label == ("tuned shapes + streaming stores" if confirmed else "default")
    assert any(v.streaming for v in choice.plan.passes) is confirmed
    assert bool(choice.tied) is not confirmed  # an unconfirmed winner is recorded as a tie
    assert ("tie with" in choice.describe()) is not confirmed


JITTER = (0.1, -0.1, 0.08, -0.12, 0.0, 0.1, -0.09, 0.11, -0.1)


def test_a_confirmed_winner_records_the_rivals_it_could_not_be_told_from(monkeypatch):
    """Two candidates both beat the default, and the rounds cannot tell them
    apart: another run may store the other one, so this run records the tie."""
    times = {"default": drifting(100.0), "default" + tune.AA_SUFFIX: drifting(100.0), "x": drifting(80.0),
             "y": drifting(75.0, JITTER), "z": drifting(99.0)}
    isa = kernels.available_isas()[-1]
    plan = kernels.api.Plan("three-pass-recompute", isa)
    monkeypatch.setattr(tune, "candidate_plans", lambda *args, **kwargs: {k: plan for k in ("default", "x", "y", "z")})
    monkeypatch.setattr(tune, "measure_plans", lambda plans, *args, **kwargs: [
        rounds({label: times[label] for label in list(plans) + ["default" + tune.AA_SUFFIX]})])
    choice = tune.choose_plan("three-pass-recompute", isa, {}, [1 << 12], "in-l2", None, 9, None)
    assert choice.label == "x" and list(choice.tied) == ["y"]  # z is clearly slower; the default lost
    assert "tie with y" in choice.describe()


@pytest.mark.parametrize("gain, marginal", [(1.06, True), (1.10, False)])
def test_a_gain_near_the_threshold_is_recorded_as_a_tie(monkeypatch, gain, marginal):
    """6 % in every round beats the 5 % threshold, but within its marginal
    band: another run may keep the default, so the stored winner records the
    default as its rival; 10 % clears the band."""
    times = {"default": drifting(100.0), "default" + tune.AA_SUFFIX: drifting(100.0), "new": drifting(100.0 / gain)}
    r = rounds(times)
    found = tune.evidence([r], "default", "new", "default")
    assert tune.verdict(found) == "better"
    assert tune.marginal(found) is marginal
    assert (list(tune.ties(["default", "new"], "new", [r])) == ["default"]) is marginal
    isa = kernels.available_isas()[-1]
    plan = kernels.api.Plan("three-pass-recompute", isa)
    monkeypatch.setattr(tune, "candidate_plans", lambda *args, **kwargs: {"default": plan, "new": plan})
    monkeypatch.setattr(tune, "measure_plans", lambda plans, *args, **kwargs: [r])
    choice = tune.choose_plan("three-pass-recompute", isa, {}, [1 << 12], "in-l2", None, 9, None)
    assert choice.label == "new"
    assert (list(choice.tied) == ["default"]) is marginal


@pytest.mark.parametrize("candidate, expected", [
    (drifting(80.0), "better"),
    (drifting(93.0, JITTER), "tie"),  # maybe 7 % faster, maybe not: the evidence cannot tell
    (drifting(100.0), "short"),  # confidently no gain worth a change
])
def test_verdicts_and_ties(candidate, expected):
    r = rounds({"default": drifting(100.0), "default" + tune.AA_SUFFIX: drifting(100.0), "new": candidate})
    assert tune.verdict(tune.evidence([r], "default", "new", "default")) == expected
    assert (list(tune.ties(["default", "new"], "default", [r])) == ["new"]) is (expected == "tie")


def test_tune_stores_choices_that_softmax_uses(tmp_path, monkeypatch):
    monkeypatch.setattr(tuning, "choices_path", lambda: tmp_path / "tuned.json")
    monkeypatch.setattr(tune, "tuning_sizes", lambda report, quick: {
        "in-l2": [4096], "in-llc": [8192], "out-of-cache": [1 << 16]})
    tuning.forget_cached_choices()
    isa = kernels.available_isas()[-1]
    try:
        argv = ["tune", "--isas", isa, "--algorithms", "two-pass", "--reps", "1"]
        assert cli.main(argv) == 0
        stored = json.loads((tmp_path / "tuned.json").read_text())["choices"][isa]["two-pass"]
        assert set(stored) == set(tuning.SIZE_CLASSES)
        for size_class, n in (("in-l2", 1000), ("in-llc", 2 * tuning.in_l2_row_limit()),
                              ("out-of-cache", 2 * tuning.in_cache_row_limit())):
            assert tuning.size_class(n) == size_class
            plan = kernels.api.plan_for("two-pass", isa, n)
            assert {v.family: v.name for v in plan.passes} == stored[size_class]
        # every looser contract: an exponential per exponential pass, claiming
        # the contract, which the contract's plans run and keep
        stored_file = json.loads((tmp_path / "tuned.json").read_text())
        by_contract = stored_file["contract_exps"][isa]
        assert set(by_contract) == {f"{rtol:g}" for rtol in contracts.CONTRACTS[1:]}
        for rtol in contracts.CONTRACTS[1:]:
            exps = by_contract[f"{rtol:g}"]
            assert all(exp in registry.exps_keeping(family, rtol) for family, exp in exps.items())
            for algorithm in registry.ALGORITHMS:
                plan = kernels.Plan(algorithm, isa, rtol=rtol)
                assert {v.family: v.exp for v in plan.passes if v.family in registry.EXP_FAMILIES} == {
                    f: exps[f] for f in registry.ALGORITHM_PASSES[algorithm] if f in registry.EXP_FAMILIES}
                assert tune.keeps_contract(plan, rtol)
            # log_softmax's reductions: an exponential whose own bound keeps rtol, which its plans run
            log_exps = stored_file["log_contract_exps"][isa][f"{rtol:g}"]
            assert set(log_exps) == set(tune.LOG_EXP_FAMILIES)
            assert all(exp in registry.log_exps_keeping(family, rtol) for family, exp in log_exps.items())
            for algorithm in registry.ALGORITHMS:
                twin = logsoftmax._log_kernels(kernels.Plan(algorithm, isa, rtol=rtol))
                for family in registry.LOG_ALGORITHM_PASSES[algorithm]:
                    if family in log_exps:
                        assert registry.lookup(twin[family]).exp == log_exps[family]
    finally:
        tuning.forget_cached_choices()


# ------------------------------------------------------------------ memory


@pytest.mark.parametrize("algorithm", registry.ALGORITHMS)
def test_no_allocation_beyond_the_output(algorithm, rng):
    """Reload uses the output as its scratch; nothing allocates per element."""
    from kernels.bench import memory

    n = 1 << 18
    raw = rng.uniform(-10, 10, n + 1024).astype(np.float32)
    isa = kernels.available_isas()[-1]
    # x at every 64-byte offset within a page: some new outputs land where
    # they would alias x and are moved, which must not keep two alive.
    for shift in range(0, 1024, 16):
        x = raw[shift : shift + n]
        assert memory.peak_extra_bytes(algorithm, isa, x) < 64 << 10
    assert memory.peak_extra_bytes(algorithm, isa, x.copy(), in_place=True) < 64 << 10
    # The measurement would see an allocation if there were one.
    bloated = lambda a, *rest: np.exp(a)  # noqa: E731
    import tracemalloc

    tracemalloc.start()
    tracemalloc.reset_peak()
    bloated(x)
    assert tracemalloc.get_traced_memory()[1] >= x.nbytes
    tracemalloc.stop()


def test_tune_agreement_counts_the_runs_that_chose_the_same_kernels():
    import pandas as pd

    from kernels.bench import agreement

    def table(kernels, tie=""):
        return pd.DataFrame([{"isa": "avx2", "size class": "in-l2", "algorithm": "two-pass", "choice": "default",
                              "kernels": kernels, "tie": tie}])
    result = agreement.agreement([table("a + b", "tuned shapes"), table("a + b"), table("a + c")])
    row = result.iloc[0]
    assert row["runs agreeing"] == "2/3" and not row["agree"] and row["kernels"] == "a + b"
    assert row["runs recording a tie"] == "1/3"
    assert row["others"] == "a + c (1)"
    assert not row["clear runs agree"]  # a + b and a + c, both without a tie
    assert agreement.agreement([table("a"), table("a")]).iloc[0]["agree"]
    flips_in_a_toss_up = agreement.agreement([table("a + b"), table("a + c", "tuned shapes"), table("a + b")])
    assert not flips_in_a_toss_up.iloc[0]["agree"] and flips_in_a_toss_up.iloc[0]["clear runs agree"]


def test_tuner_keeps_the_default_when_the_winner_loses_on_rising_rows(monkeypatch):
    """A candidate confirmed on random rows but convincingly slower on rising
    rows (the two-pass rescale's worst case) is not stored."""
    from kernels.bench import tune
    from kernels.bench.evidence import AA_SUFFIX, Rounds

    def rounds(default_ns, candidate_ns, others=()):
        return [Rounds([{"rep": r, "case": case, "ns_per_call": ns * (1 + 0.001 * r)}
                        for r in range(15) for case, ns in (("default", default_ns), ("default" + AA_SUFFIX, default_ns),
                                                           ("fast", candidate_ns), *others)])]

    def fake_measure(plans, sizes, size_class, llc, reps, rng, kind="random"):
        if len(plans) > 2:  # the first measurement: every candidate
            return rounds(10.0, 7.0, [("x", 20.0)])
        return rounds(10.0, 7.0) if kind == "random" else rounds(10.0, 14.0)

    monkeypatch.setattr(tune, "candidate_plans", lambda algorithm, isa, shapes, log=None: {"default": "D", "fast": "F", "x": "X"})
    monkeypatch.setattr(tune, "measure_plans", fake_measure)
    monkeypatch.setattr(tune, "pick_winner", lambda labels, first: "fast")
    two_pass = tune.choose_plan("two-pass", "avx2", {}, [1024], "in-l2", None, 3, None)
    assert two_pass.label == "default" and "slower on rising rows" in two_pass.describe()
    recompute = tune.choose_plan("three-pass-recompute", "avx2", {}, [1024], "in-l2", None, 3, None)
    assert recompute.label == "fast" and recompute.worst is None  # no data-dependent branch: random rows decide


def test_a_run_of_both_protocols_is_explored_one_protocol_at_a_time(rng):
    """The paper's sizes (10^k) never meet the tuned ones (2^k), so no x holds
    both protocols: the explorer must still offer the protocol as a facet, or
    its series would join the two protocols' points into one line."""
    from kernels.bench import explorer

    tuned = small_run(rng)
    tuned.samples["protocol"] = "tuned"
    paper_samples = synthetic_samples().assign(protocol="paper", mode="paper")
    paper_samples["n"] *= 3
    paper = Run(SweepConfig(sizes=[], protocols=["paper"], paper_sizes=[3000, 6000]), tuned.machine, paper_samples,
                pd.DataFrame())
    both = tuned.with_protocol_of(paper)
    assert both.config.protocols == ["tuned", "paper"] and both.config.paper_sizes == [3000, 6000]
    assert len(both.samples) == len(tuned.samples) + len(paper.samples)
    config = explorer.measurements(both, name="both", title="both", saved="results/m/a/b").config()
    assert config["facets"] == ["protocol"] and config["facetDefaults"]["protocol"] == "tuned"
    with pytest.raises(ValueError, match="protocol"):
        both.with_protocol_of(paper)
    paper9 = tuned.with_protocol_of(Run(SweepConfig(reps=9, protocols=["paper"]), tuned.machine, paper_samples,
                                        pd.DataFrame()))
    assert paper9.config.reps_of("paper") == 9 and paper9.config.reps_of("tuned") == tuned.config.reps


def test_report_places_sizes_by_the_cache_they_fit_in():
    """A sweep of 10^8 and 3 * 10^8 elements has nothing in cache: the headline
    and the report's sections show its largest size, out of cache, and no
    in-cache row (nearest-to-2^15 would have called 10^8 'in cache')."""
    from kernels.bench import report as report_module

    samples = synthetic_samples()
    samples["n"] = np.where(samples["n"] == 1000, 100_000_000, 300_000_000)
    llc = 32 << 20
    table = analysis.headline_table(samples, analysis.summarize(samples), 1 << 15, 300_000_000, llc)
    assert list(table["where"]) == ["out of cache"] and list(table["n"]) == [300_000_000]
    assert report_module.section_sizes([1 << 12, 1 << 15, 1 << 26, 1 << 20], llc) == [1 << 15, 1 << 26]
    assert report_module.section_sizes([100_000_000, 300_000_000], llc) == [300_000_000]
    assert report_module.section_sizes([1000, 3000], llc) == [3000]


def test_samples_data_keeps_the_rounds_in_order():
    from kernels.bench import explorer

    samples = pd.DataFrame([{"case": c, "rep": r, "n": n, "ns_per_call": t * n}
                            for c, base in (("a", 1.0), ("b", 2.0)) for n in (1000, 4000)
                            for r, t in reversed(list(enumerate([base, 3 * base, 2 * base])))])
    data = explorer.samples_data(samples).set_index(["case", "n"])
    assert data.loc[("b", 4000), "round_ns_per_element"] == [2.0, 6.0, 4.0]  # rep 0, 1, 2
    assert data.loc[("a", 1000), "ns_per_element"] == 2.0 and data.loc[("a", 1000), "reps"] == 3
    assert data.loc[("b", 1000), "gelem_per_s"] == pytest.approx(1 / 4.0)


def test_captions_name_the_protocol_and_the_kernels():
    """Every sweep figure's caption says which protocol measured it (the words
    come from the config, so a default-kernel sweep does not say 'tuned') and
    which kernels ran, per size class where the plan changes."""
    from kernels.notebook import measured_on, plan_kernels

    report = {"cpu": {"model": "Test CPU", "family_model": "25/17"}}
    tuned, default = describe_protocol(SweepConfig()), describe_protocol(SweepConfig(variants="default", modes=["cold"]))
    paper = describe_protocol(SweepConfig(), "paper")
    assert "tuned kernels" in tuned and "reused" in tuned
    assert "default kernels" in default and "tuned" not in default and "out of cache" in default
    assert "paper's protocol" in paper and "plain stores" in paper and "1000" in paper
    with pytest.raises(ValueError, match="protocol"):
        describe_protocol(SweepConfig(), "fast")
    summary = pd.DataFrame({"case": ["two-pass [avx2]"] * 3, "n": [1 << 20, 1 << 10, 1 << 26],
                            "variant": ["a+b", "a+b", "a_nt+b"]})
    kernels_of = plan_kernels(summary, ["two-pass [avx2]"])
    assert kernels_of == {"two-pass [avx2]": "a + b, from n = 67,108,864, a_nt + b"}
    caption = measured_on(report, isas="avx2", sizes=[1024], threads=1, protocol=paper, kernels=kernels_of)
    assert f"Protocol: {paper}." in caption and "Kernels: two-pass [avx2]: a + b" in caption
    assert "Protocol" not in measured_on(report, isas="avx2")
    assert "every pass variant timed alone" in describe_protocol(SweepConfig(variants="all"))
    from kernels import tuning
    from kernels.bench import adversarial

    limit = tuning.in_cache_row_limit()
    rows = adversarial.describe_protocol([limit, limit * 8])
    assert "rising" in rows and "reused" in rows and "out of cache" in rows
    assert "out of cache" not in adversarial.describe_protocol([limit])
