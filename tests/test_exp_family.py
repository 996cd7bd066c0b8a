"""Every exponential of the exp family (kernels.registry.EXPS) on every ISA:
its ULP claims over sampled float32 domains, bit-for-bit agreement of the
vector kernels with the scalar reference, the special values, and softmax
plans built with it inside the accuracy contract it claims, at sizes around
its tiles and on the non-finite rule. `python -m kernels.bench exp` runs the
exhaustive scans."""

import struct

import numpy as np
import pytest
from conftest import ISA_PARAMS, RUNNABLE, assert_softmax_close

import kernels
from kernels import build, contracts, registry
from kernels.bench import expfamily

EXPS = list(registry.EXPS)
EXPMINUS_STRIDE = 61  # prime, so every mantissa residue is visited
EXTEXP_STRIDE = 127


def bits(f):
    return struct.unpack("<I", struct.pack("<f", f))[0]


def names(family, isa):
    return [registry.default_variant(family, isa, e).name for e in EXPS]


# ------------------------------------------------------------------ registry


def test_exp_names_spell_their_parts():
    for exp in registry.EXPS.values():
        if exp.coefficients == "paper":
            assert (exp.name, exp.reductions, exp.table_bits, exp.degree) == ("p5", 2, 0, 5)
            continue
        table = f"_lut{exp.table_size}" if exp.table_bits else ""
        assert exp.name == f"rr{exp.reductions}{table}_p{exp.degree}"


def test_every_exp_has_every_exp_family_on_every_isa():
    for exp in EXPS:
        for family in registry.EXP_FAMILIES:
            for isa in registry.ISAS:
                assert registry.default_variant(family, isa, exp).name in registry.BY_NAME


def test_variants_default_to_the_paper_exponential():
    """Callers that enumerate shapes (tune, sweep, the kernel tests) keep
    seeing p5 only; exp=None lists every exponential."""
    assert {v.exp for v in registry.variants()} == {registry.DEFAULT_EXP}
    assert {v.exp for v in registry.variants(exp=None)} == set(EXPS)
    assert registry.default_variant("raddextexp", "avx2").name == "f32_raddextexp__avx2_p5_u32"


# ----------------------------------------------------------------------- ULP


def test_expminus_within_claimed_ulp(isa):
    stats = build.load().expminus_ulp_scan_many(names("vexpminus", isa), bits(-0.0),
                                                bits(expfamily.EXPMINUS_DOMAIN[1]), EXPMINUS_STRIDE)
    for exp, s in zip(EXPS, stats):
        assert s["count"] > 1_000_000_000 // EXPMINUS_STRIDE
        assert s["max_ulp"] <= registry.EXPS[exp].max_ulp[0], (exp, s)


@pytest.mark.parametrize("sign", [1, -1], ids=["positive", "negative"])
def test_extexp_within_claimed_ulp(isa, sign):
    stats = build.load().extexp_ulp_scan_many(names("vextexp", isa), bits(sign * 0.0), bits(sign * 2.0**16),
                                              EXTEXP_STRIDE)
    for exp, s in zip(EXPS, stats):
        assert s["max_ulp"] <= registry.EXPS[exp].max_ulp[1], (exp, s)


def test_many_kernel_scans_agree_with_the_single_scans():
    """The shared-reference scans of the benchmark compute driver.c's statistics."""
    core = build.load()
    isa = RUNNABLE[-1]
    chosen = ["p5", "rr1_p3", "rr2_lut16_p3"]
    exp_names = [registry.default_variant("vexpminus", isa, e).name for e in chosen]
    lo, hi = bits(-0.0), bits(-87.0)
    assert core.expminus_ulp_scan_many(exp_names, lo, hi, 4099) == [
        core.expminus_ulp_scan(n, lo, hi, 4099) for n in exp_names]
    ext_names = [registry.default_variant("vextexp", isa, e).name for e in chosen]
    lo, hi = bits(-0.0), bits(-60000.0)
    assert core.extexp_ulp_scan_many(ext_names, lo, hi, 4099) == [
        core.extexp_ulp_scan(n, lo, hi, 4099) for n in ext_names]


# ------------------------------------------------- vector = scalar reference


def evaluate(exp, isa, z, x):
    y, m, e = np.empty_like(z), np.empty_like(x), np.empty_like(x)
    kernels.get_kernel(registry.default_variant("vexpminus", isa, exp))(z, y)
    kernels.get_kernel(registry.default_variant("vextexp", isa, exp))(x, m, e)
    return y, m, e


@pytest.mark.parametrize("exp", EXPS)
def test_vector_kernels_equal_the_scalar_reference_bit_for_bit(exp, rng):
    """Every ISA evaluates the same float operations (a magic-bias FMA, the
    same reductions and Horner chain, exact scaling by 2^m), so the vector
    exponentials are the scalar ones to 0 ULP; p5 on AVX-512 rounds z log2(e)
    with VRNDSCALEPS of the rounded product, as before the exp family, and
    differs at rare ties, so it is held to its 2 ULP instead."""
    z = np.concatenate([-rng.uniform(0, 90, 20_000), -rng.uniform(86, 88, 2_000), [-0.0, 0.0]]).astype(np.float32)
    x = np.concatenate([rng.uniform(-65536, 65536, 20_000), rng.uniform(-90, 90, 2_000)]).astype(np.float32)
    scalar = evaluate(exp, "scalar", z, x)
    for isa in RUNNABLE[1:]:
        vector = evaluate(exp, isa, z, x)
        if exp == "p5" and isa == "avx512f":
            continue  # covered by tests/test_exp.py (its ULP bound) like before
        for a, b in zip(scalar, vector):
            np.testing.assert_array_equal(a, b, err_msg=f"{exp} on {isa}")


@pytest.mark.parametrize("exp", EXPS)
def test_pass_2_is_extexp_scaled_exactly(exp, isa, rng):
    """Pass 2 (vscaleextexp) folds the sum's exponent into its rounding instead
    of scaling ExtExp's result (v_scaled_extexp_folded): every normal output
    must be ExtExp's p * 2^(n + scale_e), bit for bit, and every output below
    the normal range 0 or below it; rows far below and far above 0 alike."""
    tiny = np.float32(2.0**-126)
    base = np.concatenate([rng.uniform(-65536, 0, 20_000), rng.uniform(-200, 0, 20_000), [0.0, -87.0, -88.0]])
    for offset in (0.0, -3000.0, 3000.0):
        x = (base + offset).astype(np.float32)
        _, m, e = evaluate(exp, isa, x, x)
        scale_e = -float(e.max())
        y = np.empty_like(x)
        kernels.get_kernel(registry.default_variant("vscaleextexp", isa, exp))(x, y, 1.0, scale_e)
        expected = np.ldexp(m.astype(np.float64), (e + scale_e).astype(np.int64)).astype(np.float32)
        normal = expected >= tiny
        np.testing.assert_array_equal(y[normal], expected[normal], err_msg=f"{exp} on {isa}, offset {offset}")
        assert np.all(y[~normal] < tiny), f"{exp} on {isa}: outputs below the normal range"


@pytest.mark.parametrize("exp", EXPS)
def test_special_values(exp, isa):
    z = np.array([0, -0.0, -np.inf, np.nan, -87.5, -100, -3e38], np.float32)
    x = np.array([0, np.nan, -np.inf], np.float32)
    y, m, e = evaluate(exp, isa, z, x)
    assert y[0] == 1.0 and y[1] == 1.0, "e^0 must be 1 exactly (three-pass relies on it)"
    assert np.isnan(y[3]) and np.all(y[[2, 4, 5, 6]] == 0.0), y
    assert m[0] == 1.0 and e[0] == 0.0 and np.isnan(m[1])


# --------------------------------------------------------- softmax contracts


def plan_with(exp, algorithm, isa):
    return expfamily.plan(algorithm, isa, exp)


def default_tile_plan_with(exp, algorithm, isa):
    """The plan with exp in every pass's default tile (plan_with's reductions
    take the wide one on vector ISAs)."""
    return kernels.Plan(algorithm, isa, {f: registry.default_variant(f, isa, exp)
                                         for f in expfamily.exp_families(algorithm)})


def sizes_around(p):
    tile = max(v.tile for v in p.passes)
    return sorted({1, 2, 3, tile - 1, tile, tile + 1, 2 * tile + 3, 1000, 4099, 65_536 + 33})


@pytest.mark.parametrize("algorithm", registry.ALGORITHMS)
@pytest.mark.parametrize("exp", EXPS)
def test_softmax_keeps_the_claimed_contract(exp, algorithm, isa, rng):
    p = plan_with(exp, algorithm, isa)
    rtol = expfamily.claimed_rtol(exp, algorithm)
    for n in sizes_around(p):
        for x in (rng.normal(0, 10, n), rng.uniform(-1000, 1000, n), rng.uniform(1e4, 1e4 + 50, n)):
            x = x.astype(np.float32)
            assert_softmax_close(p(x), x, algorithm, rtol=rtol)


@pytest.mark.parametrize("isa", [p for p in ISA_PARAMS if p.values[0] != "scalar"])  # one tile there
@pytest.mark.parametrize("algorithm", registry.ALGORITHMS)
@pytest.mark.parametrize("exp", EXPS)
def test_default_tiles_keep_the_claimed_contract(exp, algorithm, isa, rng):
    """The default tiles, which the tuner may pick too and the looser
    contracts run: the same contract, at sizes around their tile, and the
    non-finite rule."""
    p = default_tile_plan_with(exp, algorithm, isa)
    rtol = expfamily.claimed_rtol(exp, algorithm)
    for n in sizes_around(p):
        for x in (rng.normal(0, 10, n), rng.uniform(-1000, 1000, n)):
            x = x.astype(np.float32)
            assert_softmax_close(p(x), x, algorithm, rtol=rtol)
    assert_softmax_close(p(NON_FINITE_ROWS), NON_FINITE_ROWS, algorithm, rtol=rtol)


@pytest.mark.parametrize("algorithm", registry.ALGORITHMS)
@pytest.mark.parametrize("exp", EXPS)
def test_softmax_non_finite_rule(exp, algorithm, isa):
    """scipy's rule, as with p5: NaN or +inf (or only -inf) make the row NaN;
    -inf elsewhere gives 0; and finite huge magnitudes stay exact."""
    p = plan_with(exp, algorithm, isa)
    assert_softmax_close(p(NON_FINITE_ROWS), NON_FINITE_ROWS, algorithm, rtol=expfamily.claimed_rtol(exp, algorithm))


# A moderate maximum and elements far below it, beyond ExtExp's range: the
# fast path runs (the sum's exponent is small) and must give those 0.
FAR_BELOW = [0.0, -6.96e15, -1e20, -7e4]
NON_FINITE_ROWS = np.array([[1, 2, np.nan, 3], [1, np.inf, 2, 3], [-np.inf] * 4, [0, -np.inf, 1, -np.inf],
                            [3e38, -3e38, 0, 3e38], [1e30, 1e30 - 2e23, -1, 0], FAR_BELOW], np.float32)
FAR_BELOW_VALUES = [-7e4, -1e6, -3e7, -6.96e15, -1e20, -3e38]


@pytest.mark.parametrize("first", EXPS)
def test_two_pass_mixing_exponentials_keeps_far_below_elements_zero(first, isa, rng):
    """The tuner picks each pass's exponential on its own, so pass 1 and pass
    2 may round differently: every pair gives 0 for an element far below the
    maximum (pass 1's sum may not see it, and then pass 2 must not turn it
    into NaN) and stays within both exponentials' contract.  One such element
    per row: a row with several may take the guarded path for one of them."""
    x = rng.normal(0, 3, (len(FAR_BELOW_VALUES), 300)).astype(np.float32)
    far = (np.arange(len(FAR_BELOW_VALUES)), rng.integers(0, 300, len(FAR_BELOW_VALUES)))
    x[far] = FAR_BELOW_VALUES
    for second in EXPS:
        p = kernels.Plan("two-pass", isa, {"raddextexp": registry.default_variant("raddextexp", isa, first),
                                            "vscaleextexp": registry.default_variant("vscaleextexp", isa, second)})
        rtol = max(expfamily.claimed_rtol(e, "two-pass") for e in (first, second))
        y = p(x)
        assert_softmax_close(y, x, "two-pass", rtol=rtol)
        np.testing.assert_array_equal(y[far], 0.0)
