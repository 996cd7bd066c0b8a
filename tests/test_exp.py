"""The exp approximations on their own: max ULP error over their whole useful
domain, sampled over float32 bit patterns (every 61st pattern here; the book
runs the exhaustive scan), identical across ISAs, and cross-checked against an
independent numpy reference."""

import struct

import numpy as np
import pytest

import kernels
from kernels import build, registry

STRIDE = 61  # prime, so every mantissa residue is visited
EXPMINUS_CUTOFF = -87.33654  # below it e^z is not a normal float32


def bits(f):
    return struct.unpack("<I", struct.pack("<f", f))[0]


def math_kernel(family, isa):
    variant = registry.default_variant(family, isa)
    kernels.get_kernel(variant)  # checks the CPU can run it
    return variant.name


def test_expminus_within_2_ulp_over_its_domain(isa):
    name = math_kernel("vexpminus", isa)
    stats = build.load().expminus_ulp_scan(name, bits(-0.0), bits(EXPMINUS_CUTOFF), STRIDE)
    assert stats["count"] > 1_000_000_000 // STRIDE
    assert stats["max_ulp"] <= 2.0, stats


@pytest.mark.parametrize("sign", [1, -1], ids=["positive", "negative"])
def test_extexp_within_2_ulp_up_to_2_pow_16(isa, sign):
    name = math_kernel("vextexp", isa)
    lo, hi = bits(sign * 0.0), bits(sign * 2.0**16)
    stats = build.load().extexp_ulp_scan(name, lo, hi, STRIDE)
    assert stats["max_ulp"] <= 2.0, stats


def test_extexp_degrades_beyond_its_accurate_range(isa):
    """Documents why the two-pass driver guards |x| > 2^16: just beyond it, the
    error exceeds 2 ULP (the scan would be pointless if it could not)."""
    name = math_kernel("vextexp", isa)
    stats = build.load().extexp_ulp_scan(name, bits(2.0**20), bits(2.0**21), STRIDE)
    assert stats["max_ulp"] > 2.0


def ulp_numpy(actual, reference):
    ulp = np.ldexp(1.0, np.frexp(reference)[1] - 24)
    return np.abs(actual - reference) / ulp


def test_scan_agrees_with_numpy_reference(isa, rng):
    """The C scan's ULP arithmetic against an independent float64 computation."""
    z = -rng.uniform(0, 87, 200_000).astype(np.float32)
    y = np.empty_like(z)
    kernels.get_kernel(math_kernel("vexpminus", isa))(z, y)
    assert ulp_numpy(y.astype(np.float64), np.exp(z.astype(np.float64))).max() <= 2.0
    x = rng.uniform(-60000, 60000, 200_000).astype(np.float32)
    m, e = np.empty_like(x), np.empty_like(x)
    kernels.get_kernel(math_kernel("vextexp", isa))(x, m, e)
    # e^x = m * 2^e; compare in the binade of 2^e: e^(x - e*ln2) against m.
    k = e.astype(np.float64)
    reduced = np.exp(x.astype(np.float64) - k * np.log(2.0))
    assert ulp_numpy(m.astype(np.float64), reduced).max() <= 2.01  # float64 reduction error < 0.01 ULP


def test_isas_agree_bit_for_bit(rng):
    """Every ISA evaluates the same arithmetic, so results are identical."""
    z = -rng.uniform(0, 90, 10_000).astype(np.float32)
    x = rng.uniform(-65000, 65000, 10_000).astype(np.float32)
    results = []
    for isa in kernels.available_isas():
        y, m, e = np.empty_like(z), np.empty_like(x), np.empty_like(x)
        kernels.get_kernel(math_kernel("vexpminus", isa))(z, y)
        kernels.get_kernel(math_kernel("vextexp", isa))(x, m, e)
        results.append((y, m, e))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_special_values(isa):
    y = np.empty(4, np.float32)
    kernels.get_kernel(math_kernel("vexpminus", isa))(np.array([0, -np.inf, np.nan, -100], np.float32), y)
    assert y[0] == 1.0 and y[1] == 0.0 and np.isnan(y[2]) and y[3] == 0.0
