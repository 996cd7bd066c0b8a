"""ISA dispatch: the widest available by default, forced by argument or by
$SOFTMAX_ISA, and a clear error (never SIGILL) for an ISA the CPU lacks."""

import numpy as np
import pytest
from conftest import ISA_PARAMS

import kernels
from kernels import api, registry


def test_available_isas_are_ordered_and_include_scalar():
    isas = kernels.available_isas()
    assert isas[0] == "scalar"
    assert list(isas) == [i for i in registry.ISAS if i in isas]


@pytest.fixture(autouse=True)
def fresh_plans():
    """$SOFTMAX_ISA is read once; tests that change it start and end afresh."""
    api.forget_plans()
    yield
    api.forget_plans()


def test_default_is_widest(monkeypatch):
    monkeypatch.delenv(api.ISA_ENV, raising=False)
    assert kernels.resolve_isa() == kernels.available_isas()[-1]


def test_environment_variable_forces_isa(monkeypatch):
    monkeypatch.setenv(api.ISA_ENV, "scalar")
    assert kernels.resolve_isa() == "scalar"
    assert kernels.api.plan_for("two-pass", None, 100).isa == "scalar"
    assert kernels.Plan("two-pass").isa == "scalar"
    assert kernels.softmax(np.ones(3, np.float32)).sum() == pytest.approx(1.0)


@pytest.mark.parametrize("isa", ISA_PARAMS)
def test_every_available_isa_can_be_forced(isa, monkeypatch):
    """By argument, and by $SOFTMAX_ISA, each runnable ISA is the one the plan uses."""
    assert kernels.resolve_isa(isa) == isa
    assert kernels.Plan("two-pass", isa).passes[0].isa == isa
    monkeypatch.setenv(api.ISA_ENV, isa)
    api.forget_plans()
    assert kernels.api.plan_for("online", None, 5000).isa == isa


def test_argument_beats_environment(monkeypatch):
    monkeypatch.setenv(api.ISA_ENV, "scalar")
    api.forget_plans()
    widest = kernels.available_isas()[-1]
    assert kernels.resolve_isa(widest) == widest


def test_missing_isa_is_a_clear_error(monkeypatch):
    """Simulate a CPU without AVX-512 (or AVX2): asking for it raises."""
    monkeypatch.setattr(api, "available_isas", lambda: ("scalar",))
    api.forget_plans()
    for isa in ("avx2", "avx512f"):
        with pytest.raises(kernels.UnsupportedISAError, match="cannot run"):
            kernels.softmax(np.ones(3, np.float32), isa=isa)
        with pytest.raises(kernels.UnsupportedISAError, match="cannot run"):
            kernels.get_kernel(registry.default_variant("rmax", isa))
    monkeypatch.setenv(api.ISA_ENV, "avx512f")
    api.forget_plans()
    with pytest.raises(kernels.UnsupportedISAError):
        kernels.softmax(np.ones(3, np.float32))
    api.forget_plans()  # no plan resolved under the pretence may outlive it


def test_plan_rejects_foreign_variants():
    isa = kernels.available_isas()[-1]
    other = "scalar" if isa != "scalar" else None
    if other:
        with pytest.raises(ValueError, match=f"not an {isa} kernel"):
            kernels.Plan("two-pass", isa, {"raddextexp": registry.default_variant("raddextexp", other)})
    with pytest.raises(ValueError, match="not a raddextexp kernel"):
        kernels.Plan("two-pass", isa, {"raddextexp": registry.default_variant("rmax", isa)})


def test_plan_with_explicit_variants_matches_default(rng):
    isa = kernels.available_isas()[-1]
    x = rng.normal(0, 5, 5000).astype(np.float32)
    for variant in registry.variants("raddextexp", isa):
        plan = kernels.Plan("two-pass", isa, {"raddextexp": variant})
        assert plan.passes[0] == variant
        np.testing.assert_allclose(plan(x), kernels.softmax(x, algorithm="two-pass", isa=isa), rtol=2e-6)
