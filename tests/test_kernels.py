"""Every registered kernel against a float64 reference, over XNNPACK-style size
sweeps relative to its tile: 0 ... 3*tile+1, tile multiples, and large sizes;
streaming variants also at every output alignment."""

import numpy as np
import pytest
from conftest import variant_params

import kernels
from kernels import registry

LARGE_SIZES = (10_007, 65_536 + 33, 1_000_003)
LN2 = np.log(2.0)


def sizes_for(variant):
    tile = variant.tile
    return sorted(set(range(0, 3 * tile + 2)) | {tile * k for k in (4, 5, 8, 16)} | set(LARGE_SIZES))


def exp_minus_max_ref(x, max_):
    """e^(x - max) with x - max rounded to float32, as the kernels compute it."""
    return np.exp((x - np.float32(max_)).astype(np.float64))


def assert_rel(actual, expected, rtol, what):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    err = np.abs(actual - expected)
    ok = err <= rtol * np.abs(expected) + 1e-37
    assert np.all(ok), f"{what}: worst relative error {np.max(err / np.maximum(np.abs(expected), 1e-37)):.3g}"


def log_extsum(mantissa, exponent):
    return np.log(mantissa) + exponent * LN2


def logsumexp(z):
    z = np.asarray(z, np.float64)
    m = z.max()
    return m + np.log(np.sum(np.exp(z - m)))


# One checker per family: runs the kernel on x (float32, length n) and asserts.


def check_rmax(k, x, alloc):
    expected = np.max(x) if x.size else -np.inf
    assert k(x) == expected


def check_rsum(k, x, alloc):
    # Signed data cancel: bound the error by the sum of magnitudes.
    assert abs(k(x) - np.sum(x, dtype=np.float64)) <= 1e-6 * np.sum(np.abs(x), dtype=np.float64)


def check_raddexpminusmax(k, x, alloc):
    m = np.max(x) if x.size else 0.0
    assert_rel(k(x, m), np.sum(exp_minus_max_ref(x, m)), 1e-6, "sum")


def check_raddexpminusmax_x2(k, x, alloc):
    """The doubled-arithmetic measurement kernel: the mean of e^z and e^(z(1 - 2^-22))."""
    m = np.max(x) if x.size else 0.0
    z = (x - np.float32(m)).astype(np.float64)
    expected = 0.5 * (np.exp(z) + np.exp(z * (1 - 2.0**-22)))
    assert_rel(k(x, m), np.sum(expected), 1e-6, "doubled sum")


def check_raddstoreexpminusmax(k, x, alloc):
    m = np.max(x) if x.size else 0.0
    y = alloc(x.size)
    total = k(x, y, m)
    e = exp_minus_max_ref(x, m)
    assert_rel(y, e, 2.5e-7, "stored exp")
    assert_rel(total, np.sum(e), 1e-6, "sum")


def check_vscaleexpminusmax(k, x, alloc):
    m = np.max(x) if x.size else 0.0
    y = alloc(x.size)
    k(x, y, m, 0.375)
    assert_rel(y, 0.375 * exp_minus_max_ref(x, m), 3e-7, "scaled exp")


def check_vscale(k, x, alloc):
    y = alloc(x.size)
    k(x, y, 0.3)
    np.testing.assert_array_equal(y, x * np.float32(0.3))
    inplace = x.copy()
    k(inplace, inplace, 0.3)
    np.testing.assert_array_equal(inplace, y)


def check_vsub(k, x, alloc):
    """(x - hi) - lo in float32, exactly, in and out of place."""
    hi, lo = np.float32(37.25), np.float32(3e-6)
    y = alloc(x.size)
    k(x, y, hi, lo)
    np.testing.assert_array_equal(y, (x - hi) - lo)
    inplace = x.copy()
    k(inplace, inplace, hi, lo)
    np.testing.assert_array_equal(inplace, y)


def check_vcopy(k, x, alloc):
    y = alloc(x.size)
    k(x, y)
    np.testing.assert_array_equal(y, x)


def check_vcopy_paced(k, x, alloc):
    """A copy, with NaN, infinities and both zeros kept as they are."""
    x = x.copy()
    x[: min(x.size, 5)] = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0], np.float32)[: min(x.size, 5)]
    y = alloc(x.size)
    k(x, y)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(np.signbit(y), np.signbit(x))


def check_vfill(k, x, alloc):
    y = alloc(x.size)
    k(y, 2.5)
    assert np.all(y == 2.5)


def check_raddextexp(k, x, alloc):
    if x.size == 0:
        assert k(x)[0] == 0.0
        return
    m, e = k(x)
    assert 0.7 <= m <= 1.42 * x.size
    assert abs(log_extsum(m, e) - logsumexp(x)) <= 1e-6


def guarded_argument(x, shift):
    return np.maximum((x - np.float32(shift)).astype(np.float64), -(2.0**16))


def guarded_shifts(x):
    """(input, shift) pairs as the driver uses them: shift = max for huge
    inputs, and shift = 0 for the same row brought within |x| <= 30."""
    if x.size == 0:
        return [(x, 0.0)]
    modest = (x * np.float32(30.0 / max(float(np.max(np.abs(x))), 1.0))).astype(np.float32)
    return [(x, float(np.max(x))), (modest, 0.0)]


def check_raddextexp_guarded(k, x, alloc):
    for xs, shift in guarded_shifts(x):
        m, e = k(xs, shift)
        if xs.size == 0:
            assert m == 0.0
            continue
        assert abs(log_extsum(m, e) - logsumexp(guarded_argument(xs, shift))) <= 1e-6


def extexp_scale_for(x):
    """(scale_m, scale_e) as the driver derives them: scale_e = -max exponent."""
    n_max = np.round(np.max(x).astype(np.float64) * 1.4426950408889634) if x.size else 0.0
    return 0.75, -n_max


def check_vscaleextexp(k, x, alloc):
    scale_m, scale_e = extexp_scale_for(x)
    y = alloc(x.size)
    k(x, y, scale_m, scale_e)
    expected = scale_m * np.exp(x.astype(np.float64) + scale_e * LN2)
    keep = expected >= 1e-30
    assert_rel(y[keep], expected[keep], 3e-7, "scaled ExtExp")
    assert np.all(y[~keep] <= 2e-30)


def check_vscaleextexp_guarded(k, x, alloc):
    """Both shifts, each with a nonzero scale exponent (-3 after shifting by
    the max; the driver's -round(max * log2 e) without shifting)."""
    for xs, shift in guarded_shifts(x):
        z = guarded_argument(xs, shift)
        scale_e = -3.0 if shift else extexp_scale_for(xs)[1]
        y = alloc(xs.size)
        k(xs, y, shift, 0.75, scale_e)
        expected = 0.75 * np.exp(z + scale_e * LN2)
        keep = expected >= 1e-30
        assert_rel(y[keep], expected[keep], 3e-7, f"scaled guarded ExtExp (shift {shift}, scale_e {scale_e})")
        assert np.all(y[~keep] <= 2e-30)


def check_raddexponline(k, x, alloc):
    mx, total = k(x)
    if x.size == 0:
        assert total == 0.0
        return
    assert mx == np.max(x)
    spread = float(np.max(x) - np.min(x))
    assert_rel(total, np.sum(np.exp(x.astype(np.float64) - mx)), 1e-6 + spread * 2.0**-24, "online sum")


def check_vexpminus(k, x, alloc):
    z = -np.abs(x)
    y = alloc(z.size)
    k(z, y)
    assert_rel(y, np.exp(z.astype(np.float64)), 2.5e-7, "exp")


def check_vextexp(k, x, alloc):
    m = alloc(x.size)
    e = alloc(x.size)
    k(x, m, e)
    assert np.all((m >= 0.7) & (m <= 1.42)) and np.all(e == np.round(e))
    log_error = np.abs(log_extsum(m.astype(np.float64), e.astype(np.float64)) - x.astype(np.float64))
    assert np.all(log_error <= 2.5e-7), f"ExtExp: worst relative error {np.max(log_error, initial=0):.3g}"


CHECKS = {name[len("check_"):]: fn for name, fn in globals().items() if name.startswith("check_")}


def nan_filled(n):
    return np.full(n, np.nan, np.float32)


def test_every_family_has_a_check():
    assert set(CHECKS) == set(registry.FAMILIES)


def inputs_for(family, n, rng):
    """The input distribution each family is exercised with."""
    if family in ("raddextexp", "vscaleextexp", "vextexp"):
        # [90, 100]: plain float32 exp overflows here; ExtExp must not.
        return rng.uniform(90, 100, n).astype(np.float32)
    if family in ("raddextexp_guarded", "vscaleextexp_guarded"):
        return rng.uniform(-1e6, 1e6, n).astype(np.float32)
    return rng.uniform(-10, 10, n).astype(np.float32)


@pytest.mark.parametrize("variant", variant_params())
def test_kernel_sizes(variant, rng):
    k = kernels.get_kernel(variant)
    check = CHECKS[variant.family]
    for n in sizes_for(variant):
        check(k, inputs_for(variant.family, n, rng), nan_filled)


@pytest.mark.parametrize("variant", [p for p in variant_params() if p.values[0].streaming])
def test_streaming_output_alignment(variant, rng):
    """Streaming stores need an aligned output: every misalignment must work."""
    k = kernels.get_kernel(variant)
    check = CHECKS[variant.family]
    n = 3 * variant.tile + 5
    x = inputs_for(variant.family, n, rng)
    for offset in range(variant.lanes):

        def at_offset(size):
            return nan_filled(size + offset)[offset:]

        check(k, x, at_offset)


@pytest.mark.parametrize("variant", variant_params("raddextexp"))
def test_raddextexp_wide_ranges(variant, rng):
    """Sums stay exact as pairs where e^x overflows float32 and float64 alike."""
    k = kernels.get_kernel(variant)
    for lo, hi in [(-1000, 1000), (-60000, -59000), (60000, 65000), (-10, 10)]:
        x = rng.uniform(lo, hi, 4 * variant.tile + 3).astype(np.float32)
        m, e = k(x)
        assert abs(log_extsum(m, e) - logsumexp(x)) <= 1e-6


def with_special(rng, n, value, position):
    x = rng.normal(0, 10, n).astype(np.float32)
    x[position] = value
    return x


def special_positions(variant):
    """First, middle and last element, in the main loop, the vector loop and the tail."""
    return [(n, position) for n in (1, variant.lanes + 1, 3 * variant.tile + 3) for position in {0, n // 2, n - 1}]


@pytest.mark.parametrize("variant", variant_params("raddextexp_guarded"))
def test_guarded_sum_of_non_finite_inputs(variant, rng):
    """NaN anywhere makes the sum NaN; -inf adds nothing; +inf makes it
    non-finite (the driver sends rows with +inf to NaN before this pass)."""
    k = kernels.get_kernel(variant)
    for n, position in special_positions(variant):
        assert np.isnan(k(with_special(rng, n, np.nan, position), 0.0)[0])
        assert not np.isfinite(k(with_special(rng, n, np.inf, position), 0.0)[0])
        if n > 1:
            x = with_special(rng, n, -np.inf, position)
            m, e = k(x, 0.0)
            assert abs(log_extsum(m, e) - logsumexp(x[np.isfinite(x)])) <= 1e-6


@pytest.mark.parametrize("variant", variant_params("vscaleextexp_guarded"))
def test_guarded_scale_of_non_finite_inputs(variant, rng):
    """NaN stays NaN where it is, -inf gives exactly 0, +inf no finite value;
    every other element keeps its value (nonzero scale exponent)."""
    k = kernels.get_kernel(variant)
    for n, position in special_positions(variant):
        for value in (np.nan, -np.inf, np.inf):
            x = with_special(rng, n, value, position)
            scale_m, scale_e = extexp_scale_for(x[np.isfinite(x)]) if n > 1 else (0.75, -3.0)
            y = nan_filled(n)
            k(x, y, 0.0, scale_m, scale_e)
            if value == -np.inf:
                assert y[position] == 0.0
            else:
                assert not np.isfinite(y[position]) and (np.isnan(y[position]) or value > 0)
            others = np.arange(n) != position
            expected = scale_m * np.exp(x[others].astype(np.float64) + scale_e * LN2)
            keep = expected >= 1e-30
            assert_rel(y[others][keep], expected[keep], 3e-7, f"{value} at {position} of {n}")
