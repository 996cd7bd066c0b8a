"""The accuracy contract of the public API: softmax(..., rtol=...) and Plan(..., rtol=...)."""

import json

import numpy as np
import pytest
from conftest import ISA_PARAMS

import kernels
from kernels import api, contracts, logsoftmax, registry, tuning
from kernels.bench import tune

SIZES = (1, 37, 1000, 1 << 15)


def rows(n, seed=0):
    rng = np.random.default_rng(seed)
    return {"normal(0, 10)": rng.normal(0, 10, n).astype(np.float32),
            "U(-1000, 1000)": rng.uniform(-1000, 1000, n).astype(np.float32)}


def assert_keeps(y, x, algorithm, rtol):
    ref = contracts.reference(x)
    keep = ref >= contracts.FLOOR
    rel = np.abs(y.astype(np.float64) - ref)[keep] / ref[keep]
    excess = rel - contracts.bound(algorithm, x, rtol)[keep]
    assert np.all(excess <= 0), f"{algorithm} rtol={rtol}: worst relative error {rel.max():.3g}"
    assert np.all(y[~keep] < 2 * contracts.FLOOR)


@pytest.mark.parametrize("isa", ISA_PARAMS)
@pytest.mark.parametrize("rtol", contracts.CONTRACTS)
@pytest.mark.parametrize("algorithm", registry.ALGORITHMS)
def test_every_contract_keeps_its_bound(isa, rtol, algorithm):
    for n in SIZES:
        for x in rows(n).values():
            assert_keeps(kernels.softmax(x, algorithm=algorithm, isa=isa, rtol=rtol), x, algorithm, rtol)


@pytest.mark.parametrize("rtol", contracts.CONTRACTS)
def test_auto_with_a_contract(rtol):
    x = rows(4096)["U(-1000, 1000)"]
    y = kernels.softmax(x, rtol=rtol)
    assert_keeps(y, x, kernels.choose_algorithm(x.shape), rtol)
    plan = kernels.Plan(rtol=rtol)
    np.testing.assert_array_equal(plan(x), y)


@pytest.mark.parametrize("rtol", contracts.CONTRACTS[1:])
def test_a_looser_contract_runs_its_exponential(rtol):
    isa = kernels.available_isas()[-1]
    for algorithm in registry.ALGORITHMS:
        plan = kernels.Plan(algorithm, isa, rtol=rtol)
        exps = {v.exp for v in plan.passes if v.family in registry.EXP_FAMILIES}
        assert exps == {registry.CONTRACT_EXPS[rtol][registry.pass_kind(v.family)]
                        for v in plan.passes if v.family in registry.EXP_FAMILIES}
        assert all(registry.EXPS[v.exp].rtol[registry.pass_kind(v.family)] <= rtol
                   for v in plan.passes if v.family in registry.EXP_FAMILIES)


def test_a_stored_contract_exp_is_used_only_if_it_claims_the_contract(tmp_path, monkeypatch):
    """The tuner's choice for a looser contract replaces CONTRACT_EXPS's (and,
    in log_softmax's reductions, log_contract_exp's); a stored exponential
    that does not keep the contract (an old or edited file) is ignored."""
    isa = kernels.available_isas()[-1]
    rtol = 1e-3
    claiming = [e for e in registry.exps_keeping("raddexpminusmax", rtol)
                if e != registry.CONTRACT_EXPS[rtol][0]][0]
    not_claiming = next(e for e in registry.EXPS if e not in registry.exps_keeping("vscaleexpminusmax", 1e-5))
    path = tmp_path / "tuned.json"
    log_claiming = [e for e in registry.log_exps_keeping("raddextexp", rtol)
                    if e != registry.log_contract_exp("raddextexp", rtol)][0]
    log_not_claiming = next(e for e in registry.EXPS if e not in registry.log_exps_keeping("raddextexp", 1e-5))
    path.write_text(json.dumps({"meta": {}, "choices": {}, "contract_exps": {isa: {
        "0.001": {"raddexpminusmax": claiming}, "1e-05": {"vscaleexpminusmax": not_claiming}}},
        "log_contract_exps": {isa: {"0.001": {"raddextexp": log_claiming}, "1e-05": {"raddextexp": log_not_claiming}}}}))
    monkeypatch.setattr(tuning, "choices_path", lambda: path)
    tuning.forget_cached_choices()
    try:
        exps = {v.family: v.exp for v in kernels.Plan("three-pass-recompute", isa, rtol=rtol).passes}
        assert exps["raddexpminusmax"] == claiming
        assert exps["vscaleexpminusmax"] == registry.CONTRACT_EXPS[rtol][0]
        exps = {v.family: v.exp for v in kernels.Plan("three-pass-recompute", isa, rtol=1e-5).passes}
        assert exps["vscaleexpminusmax"] == registry.CONTRACT_EXPS[1e-5][0]
        for contract, expected in ((rtol, log_claiming), (1e-5, registry.log_contract_exp("raddextexp", 1e-5))):
            twin = logsoftmax._log_kernels(kernels.Plan("two-pass", isa, rtol=contract))
            assert registry.lookup(twin["raddextexp"]).exp == expected
    finally:
        monkeypatch.undo()
        tuning.forget_cached_choices()


def test_every_contract_exp_claims_its_contract():
    for rtol, (expminus, extexp) in registry.CONTRACT_EXPS.items():
        assert registry.EXPS[expminus].rtol[0] <= rtol and registry.EXPS[extexp].rtol[1] <= rtol
    assert tuple(registry.CONTRACT_EXPS) == contracts.CONTRACTS


@pytest.mark.parametrize("bad", [1e-7, 2e-6, 0.0, -1e-6, True, "1e-6", None])
def test_invalid_contracts_are_rejected(bad):
    x = np.zeros(8, np.float32)
    with pytest.raises(ValueError, match="1e-06, 1e-05, 0.0001, 0.001"):
        kernels.softmax(x, rtol=bad)
    with pytest.raises(ValueError, match="choose one of"):
        kernels.Plan("two-pass", rtol=bad)


def test_the_default_contract_call_is_unchanged():
    x = rows(1000)["normal(0, 10)"]
    np.testing.assert_array_equal(kernels.softmax(x, rtol=contracts.DEFAULT_RTOL), kernels.softmax(x))


def test_tuner_candidates_keep_the_default_contract_by_claim():
    isa = kernels.available_isas()[-1]
    for family in registry.EXP_FAMILIES[:6]:
        exps = {v.exp for v in tune._plain_variants(family, isa)}
        assert registry.DEFAULT_EXP in exps and len(exps) > 1
        assert all(registry.EXPS[e].rtol[registry.pass_kind(family)] <= contracts.DEFAULT_RTOL for e in exps)


def test_tuner_contract_check_rejects_a_looser_exponential():
    isa = kernels.available_isas()[-1]
    assert tune.keeps_contract(api.Plan("two-pass", isa))
    loose = api.Plan("three-pass-recompute", isa, rtol=1e-3)
    assert not tune.keeps_contract(loose)
    kept = tune._with_default_exp(loose)
    assert all(v.exp == registry.DEFAULT_EXP for v in kept.passes) and tune.keeps_contract(kept)


@pytest.mark.parametrize("isa", [p for p in ISA_PARAMS if p.values[0] in registry.WIDE_TILE_VECTORS])
def test_a_looser_contract_keeps_the_tuned_tiles(isa, tmp_path, monkeypatch):
    """softmax(..., rtol=...) runs the contract's exponential in the tile the
    tuner stored for the row's class where that exponential has it (the
    wide tile), else in the default tile (a p5-only tile); the contract holds."""
    p5_only = next(v for v in registry.variants("raddstoreexpminusmax", isa)
                   if not v.streaming and v.unroll != registry.default_variant(v.family, isa).unroll
                   and v != registry.wide_variant(v.family, isa))
    stored = {"rmax": registry.default_variant("rmax", isa).name,
              "raddstoreexpminusmax": registry.wide_variant("raddstoreexpminusmax", isa).name,
              "vscale": registry.default_variant("vscale", isa).name}
    recompute = {"raddexpminusmax": p5_only.name.replace("raddstoreexpminusmax", "raddexpminusmax")}
    path = tmp_path / "tuned.json"
    path.write_text(json.dumps({"meta": {}, "choices": {isa: {
        "three-pass-reload": {"in-l2": stored}, "three-pass-recompute": {"in-l2": recompute}}}}))
    monkeypatch.setattr(tuning, "choices_path", lambda: path)
    tuning.forget_cached_choices()
    try:
        rtol = 1e-4
        x = rows(1000)["normal(0, 10)"]
        reload = api.plan_for("three-pass-reload", isa, x.size, rtol=rtol).variants["raddstoreexpminusmax"]
        assert reload.unroll == registry.wide_variant(reload.family, isa).unroll
        assert reload.exp == registry.CONTRACT_EXPS[rtol][0]
        recomputing = api.plan_for("three-pass-recompute", isa, x.size, rtol=rtol).variants["raddexpminusmax"]
        assert recomputing == registry.default_variant("raddexpminusmax", isa, registry.CONTRACT_EXPS[rtol][0])
        for algorithm in ("three-pass-reload", "three-pass-recompute"):
            assert_keeps(kernels.softmax(x, algorithm=algorithm, isa=isa, rtol=rtol), x, algorithm, rtol)
    finally:
        monkeypatch.undo()
        tuning.forget_cached_choices()
