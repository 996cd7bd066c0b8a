"""The shape grid (kernels.bench.shapes) at tiny sizes: it runs end to end,
every case's output is checked, missing peers are skipped, the report marks
missed targets, and the ONNX Runtime peer computes softmax.  No test asserts
a speed."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

import kernels
from kernels.bench import cli, machine, peers, results, shapes
from kernels.bench.shapes import AUTO_1, AUTO_ALL, ORT, TORCH, ShapesConfig, kernel_label, peer_label
from kernels.bench.timing import BenchmarkError, Case, python_runner

matplotlib.use("Agg")


def tiny(**changes) -> ShapesConfig:
    config = ShapesConfig(rows=[1, 3], ns=[64, 100], long_ns=[], reps=2, target_ms=0.05,
                          algorithms=["auto", "two-pass"])
    for key, value in changes.items():
        setattr(config, key, value)
    return config


def test_the_grid_runs_end_to_end_and_saves_a_folder(tmp_path):
    config = tiny(peers=[*shapes.PEERS, "no-such-peer"])
    folder = shapes.run(config, out=tmp_path, progress=False, log=lambda m: None)
    assert results.kind(folder) == shapes.KIND
    run = shapes.load(folder)
    found, skipped = shapes.resolve_peers(config.peers)
    expected = {kernel_label(a, t, allocating) for a in config.algorithms for t in shapes.THREADS
                for allocating in ((False, True) if a == "auto" else (False,))}
    expected |= {peer_label(name, form == peers.ALLOCATING) for name, p in found.items() for form in p.forms()}
    for (rows, n), point in run.samples.groupby(["rows", "n"]):
        assert set(point["case"]) == expected, (rows, n)
        assert point.groupby("case")["rep"].nunique().eq(config.reps).all()
    assert sorted(map(tuple, run.samples[["rows", "n"]].drop_duplicates().to_numpy())) == config.shapes()
    assert "no-such-peer" in run.machine["skipped_peers"]
    text = shapes.render(run)
    assert "skipped peer no-such-peer: unknown peer" in text
    assert "auto vs the best explicit algorithm, all threads" in text
    table = shapes.grid_table(run.samples, kernel_label("two-pass", None))
    assert list(table.index) == [1, 3] and list(table.columns) == [64, 100]
    assert np.isfinite(table.to_numpy()).all()


def test_the_cli_measures_and_report_reads_it_back(tmp_path, capsys):
    assert cli.main(["shapes", "--rows", "2", "--ns", "64", "--long", "none", "--reps", "2", "--peers", "numpy",
                     "--algorithms", "auto", "--out", str(tmp_path), "--no-progress"]) == 0
    folder = capsys.readouterr().out.split("saved ", 1)[1].splitlines()[0]
    assert cli.main(["report", folder]) == 0
    assert "# Shape grid" in capsys.readouterr().out
    assert cli.main(["shapes", "--report", folder, folder]) == 0  # several folders: one report
    assert "auto vs torch (default threads), out=: not measured" in capsys.readouterr().out


def test_shapes_skip_inputs_over_max_bytes():
    config = ShapesConfig(rows=[1, 4], ns=[256, 1024], long_ns=[1 << 20], max_bytes=16 * 1024)
    assert config.shapes() == [(1, 256), (1, 1024), (4, 256), (4, 1024)]
    assert (1, 1 << 20) in ShapesConfig(rows=[1], ns=[8], long_ns=[1 << 20]).shapes()
    assert ShapesConfig(rows=[2], ns=[8], long_ns=[1 << 20]).shapes() == [(2, 8)]  # single rows need rows=1


# ---------------------------------------------------------------- checks


def point_cases(rows: int, n: int, allocating: bool = True):
    config = tiny()
    buffers = shapes.GridBuffers(rows, n, seed=1)
    reference = shapes.RowsReference(buffers.x, rows)
    found, _ = shapes.resolve_peers(list(shapes.PEERS))
    cases = shapes.kernel_cases(config, (rows, n), reference, allocating)
    for name, peer in found.items():
        cases += shapes.peer_cases(name, peer, (rows, n), reference, allocating)
    return buffers, cases


def twin(case: Case, fn, into: bool, shape) -> Case:
    """The case with the same check and another computation."""
    return Case(case.label + " (twin)", case.group, python_runner(fn, into=into, prepare=shapes._as_rows(shape),
                                                                  to_numpy=shapes._flat(np.asarray)), case.check)


def test_every_case_is_checked_and_passes_its_check():
    buffers, cases = point_cases(5, 300)
    assert {c.meta["implementation"] for c in cases} >= {"kernels.softmax", "numpy", "scipy"}
    for case in cases:
        batch = case.timed(buffers, 3, 0)
        assert case.check is not None and np.isfinite(batch.edge_sum), case.label


def softmax_of_whole_array(x, y):
    """A wrong answer with the right sum: one softmax over every element, not per row."""
    flat = x.reshape(-1)
    y.reshape(-1)[:] = np.exp(flat - flat.max()) / np.exp(flat - flat.max()).sum()
    return y


def rows_rolled(x, y):
    """Right rows in the wrong places: row r's softmax written to row r + 1."""
    y[:] = np.roll(kernels.softmax(x), 1, axis=0)
    return y


@pytest.mark.parametrize("wrong", [lambda x, y: y, softmax_of_whole_array, rows_rolled],
                         ids=["skips the work", "one softmax over all rows", "rows swapped"])
def test_wrong_outputs_fail_the_checks_of_every_case(wrong):
    shape = (4, 256)
    buffers, cases = point_cases(*shape)
    for case in cases:
        with pytest.raises(BenchmarkError):
            twin(case, wrong, True, shape).timed(buffers, 2, 0)


def test_a_stale_allocated_result_fails_the_check():
    """An allocating callable that hands back one array again: the sentinels catch it."""
    shape = (3, 128)
    buffers, cases = point_cases(*shape)
    case = next(c for c in cases if c.label == kernel_label("auto", None, allocating=True))
    cached = kernels.softmax(buffers.x.reshape(shape))
    with pytest.raises(BenchmarkError):
        twin(case, lambda x: cached, False, shape).timed(buffers, 3, 0)


def test_allocating_forms_stop_above_their_size_limit():
    _, cases = point_cases(2, 64, allocating=False)
    assert all(c.meta["output"] == peers.OUT for c in cases)
    assert not any(c.meta["implementation"] == "scipy" for c in cases)  # scipy only allocates


# ----------------------------------------------------------------- peers


def test_unknown_and_missing_peers_are_skipped(monkeypatch):
    monkeypatch.setitem(shapes.PEERS, "absent", (lambda threads: None, None))
    found, skipped = shapes.resolve_peers(["numpy", "absent", "no-such-peer"])
    assert list(found) == ["numpy"]
    assert skipped["absent"] == "not installed"
    assert skipped["no-such-peer"].startswith("unknown peer")


def test_the_onnx_model_computes_kernels_softmax():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    rng = np.random.default_rng(3)
    for shape in ((7, 1000), (2, 3, 129), (4096,)):
        # Inputs within 6 of their row's max: x - max, rounded to float32, then
        # costs either side at most 6 * 2^-24 (3.6e-7) relative in exp(x - max).
        x = rng.uniform(-3, 3, shape).astype(np.float32)
        expected = kernels.softmax(x).astype(np.float64)
        for threads in (None, 1):
            peer = peers.onnxruntime_peer(threads)
            y = np.full_like(x, np.nan)
            assert peer.into(x, y) is y
            np.testing.assert_allclose(y, expected, rtol=1e-6, atol=0)
            np.testing.assert_allclose(peer.allocating(x), expected, rtol=1e-6, atol=0)


def test_the_onnx_model_is_one_softmax_node_along_the_last_axis():
    pytest.importorskip("onnx")
    model = peers.onnx_softmax_model(rank=2)
    (node,) = model.graph.node
    assert node.op_type == "Softmax"
    assert [a.i for a in node.attribute if a.name == "axis"] == [-1]
    assert model.opset_import[0].version >= 13
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ["d0", "d1"]  # symbolic: any rows, any n


def test_torch_threads_are_restored_after_a_grid_point():
    torch = pytest.importorskip("torch")
    default = peers.torch_default_threads()
    config = tiny(rows=[2], ns=[64], peers=["torch (1 thread)"], algorithms=["auto"])
    shapes.measure_grid(config, progress=False, log=lambda m: None)
    assert torch.get_num_threads() == default


# --------------------------------------------------------------- targets


def synthetic(times: dict[tuple[int, int], dict[str, float]], reps: int = 3) -> pd.DataFrame:
    """Samples with the given ns per call (1% more each round)."""
    return pd.DataFrame([{"rows": rows, "n": n, "case": case, "rep": rep, "ns_per_call": t * (1 + 0.01 * rep)}
                         for (rows, n), cases in times.items() for case, t in cases.items() for rep in range(reps)])


def explicit(all_threads: float, one_thread: float) -> dict[str, float]:
    """Every explicit algorithm at these times (all threads, 1 thread)."""
    return {kernel_label(a, t): all_threads if t is None else one_thread
            for a in kernels.registry.ALGORITHMS for t in shapes.THREADS}


def grid_samples() -> pd.DataFrame:
    return synthetic({
        (1, 128): {AUTO_ALL: 100.0, AUTO_1: 100.0, peer_label(TORCH): 100.0, **explicit(100, 100)},  # < 4096 elements
        (64, 128): {AUTO_ALL: 100.0, AUTO_1: 100.0, peer_label(TORCH): 110.0, peer_label(ORT): 200.0,
                    **explicit(100, 100), kernel_label("online", None): 90.0},  # torch 1.1x; online 10% faster
        (1, 1 << 26): {AUTO_ALL: 100.0, AUTO_1: 150.0, peer_label(TORCH): 300.0, peer_label(ORT): 300.0,
                       **explicit(100, 150)},  # 1.5x from a second thread
    })


def test_the_report_lists_every_missed_target_with_its_shortfall():
    missed = shapes.targets(grid_samples()).set_index(["target", "rows", "n"])
    torch_target, ort_target, explicit_target, _, scaling_target = (t.name for t in shapes.TARGETS)
    assert missed.loc[(torch_target, 64, 128), "speedup"] == pytest.approx(1.1)
    assert missed.loc[(torch_target, 64, 128), "short by"] == pytest.approx(1 - 1.1 / 1.3)
    assert missed.loc[(explicit_target, 64, 128), "speedup"] == pytest.approx(0.9)
    assert missed.loc[(scaling_target, 1, 1 << 26), "speedup"] == pytest.approx(1.5)
    assert (torch_target, 1, 128) not in missed.index  # 128 elements: below the target's 4096
    assert not any(t == ort_target for t, _, _ in missed.index)  # 2x and 3x: met
    assert len(missed) == 3


def test_the_rendered_report_marks_the_missed_cells():
    report = {**machine.report(), "peers": [], "skipped_peers": {}}
    run = shapes.ShapesRun(tiny(), report, grid_samples())
    text = shapes.render(run)
    torch_grid = text.split("## Speedup of auto vs torch (default threads), out=")[1].split("##")[0]
    assert "1.10*" in torch_grid and "3.00 " in torch_grid and "1.00 " in torch_grid
    assert "## Missed targets: 3" in text and "15.4%" in text  # 1 - 1.1/1.3
    assert "both allocating: not measured" in text


def test_the_heatmap_writes_every_value_and_frames_the_misses():
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    table = shapes.grid_table(grid_samples(), peer_label(TORCH))
    fig, ax = plt.subplots()
    image = shapes.heatmap(ax, table, minimum=1.3, title="auto vs torch")
    shapes.colorbar(fig, image, ax)
    fig.canvas.draw()
    written = sorted(t.get_text() for t in ax.texts)
    assert written == sorted(f"{v:.2f}" for v in table.to_numpy().ravel() if np.isfinite(v))
    frames = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(frames) == int((table.to_numpy() < 1.3).sum())  # 1.00 and 1.10
    assert image.norm.vmin == pytest.approx(1 / image.norm.vmax)  # centred on 1
    plt.close(fig)
    fig, ax = plt.subplots()
    shapes.heatmap(ax, table, minimum=1.3, min_elements=4096)  # 1 x 128 (1.00) is below the target's size
    assert len([p for p in ax.patches if isinstance(p, Rectangle)]) == 1
    plt.close(fig)


def test_the_choice_table_names_what_auto_ran_and_the_fastest_explicit():
    samples = grid_samples()
    for ran, expected in (("two-pass", "two-pass/online"), ("online", "=")):
        samples["runs"] = np.where(samples["case"] == AUTO_ALL, ran, "")
        assert shapes.choice_table(samples).loc[64, 128] == expected


def test_peer_tolerances_are_the_sweeps_up_to_2_26_and_grow_beyond():
    from kernels.bench.sweep import PEER_RTOL

    assert shapes.peer_tolerance(1 << 26) == (PEER_RTOL, 1e-2)
    rtol, sum_tolerance = shapes.peer_tolerance(1 << 28)
    assert sum_tolerance == pytest.approx(0.04) and rtol == pytest.approx(0.04)
