"""Vocabulary-parallel softmax (kernels.bench.vocab_parallel): the (m, n) merge is
the sum it stands for, and both collective paths give the softmax."""

import numpy as np
import pytest

from kernels.bench import vocab_parallel as vp


def softmax64(x):
    x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def pairs_of(sums):
    """Each positive float64 sum as a (mantissa, exponent) pair with mantissa in [0.5, 1)."""
    mantissa, exponent = np.frexp(np.asarray(sums, np.float64))
    return np.stack([mantissa, exponent.astype(np.float64)], axis=-1)


def test_merge_pairs_is_the_sum():
    rng = np.random.default_rng(0)
    sums = rng.uniform(0.1, 1e6, (5, 3))  # 5 shards, 3 rows
    merged = vp.merge_pairs(pairs_of(sums))
    np.testing.assert_allclose(merged[:, 0] * np.exp2(merged[:, 1]), sums.sum(axis=0), rtol=1e-14)


def test_merge_pairs_far_beyond_float_range():
    """Exponents of 2^±2000: the merge stays exact where the sums themselves overflow float64."""
    pairs = np.array([[[1.0, 2000.0]], [[1.0, 1999.0]], [[0.75, -2000.0]]])
    merged = vp.merge_pairs(pairs)
    assert merged[0, 1] == 2000.0 and merged[0, 0] == pytest.approx(1.5, rel=1e-15)
    np.testing.assert_allclose(vp.log_of_pairs(merged), 2000 * np.log(2) + np.log(1.5), rtol=1e-15)


def test_merge_pairs_is_associative():
    pairs = pairs_of(np.random.default_rng(1).uniform(1, 1e3, (4, 6)))
    left = vp.merge_pairs(np.stack([vp.merge_pairs(pairs[:2]), vp.merge_pairs(pairs[2:])]))
    right = vp.merge_pairs(np.stack([pairs[0], vp.merge_pairs(pairs[1:])]))
    np.testing.assert_allclose(vp.log_of_pairs(left), vp.log_of_pairs(right), rtol=1e-15)
    np.testing.assert_allclose(vp.log_of_pairs(left), vp.log_of_pairs(vp.merge_pairs(pairs)), rtol=1e-15)


def test_shard_bounds_cover_the_vocabulary():
    bounds = vp.shard_bounds(1001, 3)
    assert bounds[0][0] == 0 and bounds[-1][1] == 1001
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    assert max(hi - lo for lo, hi in bounds) - min(hi - lo for lo, hi in bounds) <= 1


def test_shard_kernels_pairs_are_the_row_sums():
    x = np.random.default_rng(2).normal(0, 4, (3, 777)).astype(np.float32)
    pairs = vp.ShardKernels(x.shape[-1]).pairs(x)
    expected = np.log(np.exp(x.astype(np.float64)).sum(axis=-1))
    np.testing.assert_allclose(vp.log_of_pairs(pairs), expected, rtol=1e-6)


def test_check_logits_rejects_what_the_fast_paths_cannot_take():
    with pytest.raises(ValueError):
        vp.check_logits(np.array([[0.0, np.inf]], np.float32))
    with pytest.raises(ValueError):
        vp.check_logits(np.array([[0.0, 1e6]], np.float32))


@pytest.fixture(scope="module")
def two_processes():
    """One short run on 2 local processes (gloo on loopback), odd vocabulary."""
    pytest.importorskip("torch.distributed")
    logits = np.random.default_rng(3).normal(0, 6, (5, 4099)).astype(np.float32)
    logits[1] += 80.0  # e^x overflows float32 here: neither path may care
    return logits, vp.run(logits, world=2, rounds=2)


@pytest.mark.parametrize("path", vp.PATHS)
def test_each_path_equals_softmax(two_processes, path):
    logits, result = two_processes
    y = result["outputs"][path]
    reference = softmax64(logits)
    np.testing.assert_allclose(y, reference, rtol=1e-5, atol=1e-30)
    np.testing.assert_allclose(y.astype(np.float64).sum(axis=-1), 1.0, rtol=1e-5)


def test_one_and_two_collectives_agree(two_processes):
    _, result = two_processes
    np.testing.assert_allclose(result["outputs"][vp.ONE], result["outputs"][vp.TWO], rtol=1e-5, atol=1e-30)


def test_every_round_is_timed(two_processes):
    _, result = two_processes
    for path in vp.PATHS:
        steps, waits = result["times_ns"][path], result["comm_ns"][path]
        assert len(steps) == len(waits) == 2 and (waits > 0).all()
        assert (steps >= waits).all()  # each process's step includes its own waits
