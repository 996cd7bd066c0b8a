"""kernels.bench.batches: the checks catch wrong work, and the tables say what
the samples say (the chapter "Softmax at work" quotes them)."""

import numpy as np
import pandas as pd
import pytest

from kernels.bench import batches
from kernels.bench.sweep import row_input
from kernels.bench.timing import Batch, BenchmarkError


def softmax_rows(x, rows, n):
    x = x.reshape(rows, n).astype(np.float64)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32).reshape(-1)


def batch_of(output, x, calls=1):
    return Batch(ns=1, calls=calls, value_sum=0.0, edge_sum=calls * float(output[0] + output[-1]),
                 output=output, input=x)


def test_batch_check_passes_a_softmax_of_each_row():
    rows, n = 3, 100
    x = row_input(rows * n, 0)
    batches.batch_check(rows, n, x)(batch_of(softmax_rows(x, rows, n), x))


@pytest.mark.parametrize("damage", ["one row as a whole", "a skipped call", "garbage in one element"])
def test_batch_check_catches_wrong_work(damage):
    rows, n = 3, 100
    x = row_input(rows * n, 0)
    y = softmax_rows(x, rows, n)
    if damage == "one row as a whole":  # softmax over the flat array, not per row
        y = softmax_rows(x, 1, rows * n)
    batch = batch_of(y, x, calls=2)
    if damage == "a skipped call":  # the harness's NaN sentinel survived in one call's edges
        batch.edge_sum = float("nan")
    if damage == "garbage in one element":
        batch.output = y.copy()
        batch.output[150] *= 1.01
    with pytest.raises(BenchmarkError):
        batches.batch_check(rows, n, x)(batch)


def synthetic_samples():
    """Two rounds at one shape and thread count: two-pass fastest, auto ran online."""
    times = {"two-pass": 100.0, "online": 120.0, "three-pass-reload": 150.0, "three-pass-recompute": 160.0,
             "auto": 121.0}
    return pd.DataFrame([{"rows": 4, "n": 50, "algorithm": a, "threads": 1, "rep": rep, "ns_per_call": t + rep,
                          "runs": "online" if a == "auto" else a, "schedule": "one thread"}
                         for rep in range(2) for a, t in times.items()])


def test_medians_and_fastest():
    table = batches.medians(synthetic_samples())
    assert table.set_index("algorithm").loc["online", "ns_per_element"] == pytest.approx(120.5 / 200)
    picked = batches.fastest(table).iloc[0]
    assert picked["fastest"] == "two-pass"
    assert picked["margin"] == pytest.approx(120.5 / 100.5)
    assert picked["auto_runs"] == "online"
    assert picked["auto_over_fastest"] == pytest.approx(121.5 / 100.5)


def test_explorer_data_pairs_rounds_in_order():
    data = batches.explorer_data(synthetic_samples()).set_index("algorithm")
    assert data.loc["two-pass", "round_ns_per_element"] == [100.0 / 200, 101.0 / 200]


def test_batches_measure_every_case():
    samples = batches.batches([(4, 256)], threads=[1], rounds=2, target_ms=0.2)
    assert set(samples["algorithm"]) == set(batches.CHOICES)
    assert samples.groupby("algorithm")["rep"].nunique().eq(2).all()
    auto = samples[samples["algorithm"] == "auto"]["runs"].iloc[0]
    assert auto in batches.registry.ALGORITHMS
