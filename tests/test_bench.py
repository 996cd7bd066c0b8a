"""The benchmark harness: traffic model, roofs, machine report, timing checks,
result files, plots and the CLI end to end (quick mode). No test asserts a speed."""

import json
import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest

import kernels
from kernels import registry, tuning
from kernels.bench import analysis, cli, machine, plots, results, traffic, tune
from kernels.bench.sweep import BANDWIDTH_KERNELS, Run, SweepConfig, bandwidth_cases, kernel_case
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
    bw = {"read": 0.2, "scale": 0.4, "scale (streaming)": 0.25, "in-place scale": 0.3}
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
            for k, label in enumerate(("read", "scale", "scale (streaming)", "in-place scale")):
                rows.append({"case": f"bandwidth: {label}", "group": "bandwidth", "kernel": label, "isa": "avx2",
                             "rep": rep, "ns_per_call": (k + 1) * n})
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


def test_wrong_output_is_caught(rng):
    """A 'softmax' that skips work fails its output check."""
    x = rng.uniform(-10, 10, 1000).astype(np.float32)
    from kernels.bench.sweep import peer_case

    lazy = peer_case("lazy", lambda x, y: y)  # returns its untouched buffer
    with pytest.raises(BenchmarkError):
        measure([lazy], Buffers(x, "warm", None), reps=1, target_ns=1e4, rng=rng)


def test_cold_buffers_exceed_twice_the_llc(rng):
    x = rng.uniform(-1, 1, 1 << 12).astype(np.float32)
    cold = Buffers(x, "cold", llc_bytes=1 << 20)
    assert len(cold.xs) * x.nbytes * 2 >= 2 * (1 << 20)
    assert all(np.array_equal(b, x) for b in cold.xs)
    assert all(b.ctypes.data % 4096 == 0 for b in cold.xs + cold.ys)


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
    assert cli.parse_sizes("1K..8K") == [1024, 2048, 4096, 8192]
    assert cli.parse_sizes("1000,2^20,1.5K") == [1000, 1 << 20, 1536]


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
    for needle in ("Bandwidth", "efficiency", "vs numpy", "vs scipy", "Max relative error", "in-place scale"):
        assert needle in text


# ------------------------------------------------------------------ tuning


def test_tuner_picks_simplest_unless_clearly_beaten():
    labels = ["default", "tuned shapes", "tuned shapes + streaming stores"]

    def samples(times):
        return [{"rep": r, "case": c, "ns_per_call": t * (1 + 0.1 * r)} for r in range(3) for c, t in times.items()]

    ratio = tune.paired(samples({"default": 100.0, "tuned shapes": 99.0, "tuned shapes + streaming stores": 90.0}))
    assert ratio("default", "tuned shapes + streaming stores") == pytest.approx(100 / 90)
    assert tune.pick_winner(labels, ratio) == "tuned shapes + streaming stores"
    ratio = tune.paired(samples({"default": 100.0, "tuned shapes": 99.0, "tuned shapes + streaming stores": 98.5}))
    assert tune.pick_winner(labels, ratio) == "default"


def test_tune_stores_choices_that_softmax_uses(tmp_path, monkeypatch):
    monkeypatch.setattr(tuning, "choices_path", lambda: tmp_path / "tuned.json")
    monkeypatch.setattr(tune, "tuning_sizes", lambda report, quick: {"in-cache": 4096, "out-of-cache": 1 << 16})
    tuning.forget_cached_choices()
    isa = kernels.available_isas()[-1]
    try:
        argv = ["tune", "--isas", isa, "--algorithms", "two-pass", "--reps", "1"]
        assert cli.main(argv) == 0
        stored = json.loads((tmp_path / "tuned.json").read_text())["choices"][isa]["two-pass"]
        assert set(stored) == {"in-cache", "out-of-cache"}
        for size_class, n in (("in-cache", 1000), ("out-of-cache", 1 << 24)):
            assert tuning.size_class(n) == size_class
            plan = kernels.api.plan_for("two-pass", isa, n)
            assert {v.family: v.name for v in plan.passes} == stored[size_class]
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
