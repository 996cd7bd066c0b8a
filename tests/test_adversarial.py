"""Rows that make the data-dependent kernels branch: correct on every
algorithm and ISA, at every tile boundary; and the benchmark that times them."""

import numpy as np
import pytest

import kernels
from kernels import registry
from kernels.bench import adversarial
from tests.conftest import RUNNABLE, assert_softmax_close


def tile_lengths(isa):
    """Lengths around the tiles of the ISA's default pass-1 kernels: one
    shorter than a tile, a tile, one past, and a few tiles plus a tail."""
    tiles = {registry.default_variant(f, isa).tile for f in ("raddextexp", "raddexponline", "raddexpminusmax")}
    return sorted({k for t in tiles for k in (t - 1, t, t + 1, 3 * t + 5)})


@pytest.mark.parametrize("isa", RUNNABLE)
@pytest.mark.parametrize("algorithm", registry.ALGORITHMS)
@pytest.mark.parametrize("kind", list(adversarial.ROWS))
def test_adversarial_rows_are_correct(isa, algorithm, kind):
    for n in tile_lengths(isa):
        x = adversarial.ROWS[kind](n)
        assert_softmax_close(kernels.softmax(x, algorithm=algorithm, isa=isa), x, algorithm)


@pytest.mark.parametrize("isa", RUNNABLE)
@pytest.mark.parametrize("algorithm", registry.ALGORITHMS)
def test_a_new_maximum_in_every_tile(isa, algorithm):
    """Each element a new maximum, by steps that raise the two-pass exponent
    on every element: the rescale runs on every tile, inside the fast path."""
    for n in tile_lengths(isa):
        x = (np.arange(n, dtype=np.float32) - n) * np.float32(0.75)
        assert_softmax_close(kernels.softmax(x, algorithm=algorithm, isa=isa), x, algorithm)


def test_cost_table_names_each_worst_row():
    samples = adversarial.measure_rows([257], [RUNNABLE[-1]], ["two-pass", "online"], reps=2, target_ms=0.05,
                                       log=lambda m: None)
    assert set(samples["row"]) == set(adversarial.ROWS)
    table = adversarial.cost_table(samples)
    assert len(table) == 2 and set(table["worst row"]) <= set(adversarial.ROWS)
    assert (table["worst / random"] >= 1.0).all()  # the baseline's own ratio is 1


def test_speedup_table_pairs_rounds_within_each_row_kind():
    import pandas as pd

    # Synthetic samples: two-pass takes 2 ns, online 3 ns, except on rising rows (6 ns).
    samples = pd.DataFrame([
        {"n": 8, "row": kind, "rep": rep, "case": f"{algorithm} [avx2]",
         "ns_per_call": {"two-pass": 2.0, "online": 6.0 if kind == "rising" else 3.0}[algorithm] * (1 + rep)}
        for kind in adversarial.ROWS for rep in range(3) for algorithm in ("two-pass", "online")])
    table = adversarial.speedup_table(samples, "two-pass", "avx2")
    assert list(table.columns) == ["vs online"]
    assert table.loc[(8, "rising"), "vs online"] == 3.0
    assert table.drop(index=(8, "rising"))["vs online"].eq(1.5).all()


def test_cli_quick(capsys):
    from kernels.bench import cli

    assert cli.main(["adversarial", "--quick"]) == 0
    assert "worst / random" in capsys.readouterr().out
