"""log_softmax: the softmax driver's reductions, then y = x - log(normaliser).

Every call resolves the softmax plan it would run (`kernels.api.resolve`:
the same checks, ISA, threads and tuned variants; "auto" follows
log_softmax's decision map) and runs its
log twin: a compiled plan with the same algorithm, thread policy and
reduction kernels whose write pass is the subtraction (``vsub``; see
``registry.LOG_ALGORITHM_PASSES`` and "log_softmax" in ``csrc/driver.c``).
"""

from __future__ import annotations

import weakref

import numpy as np

from . import api, build, contracts, registry, tuning

OPERATION = "log_softmax"  # the name of its decision map (kernels.tuning.DECISION_KEYS)

# softmax Plan -> its compiled log_softmax twin (dropped with the plan)
_log_plans: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _log_kernels(plan: api.Plan) -> dict[str, str]:
    """Kernel names per slot of the log twin: the softmax plan's variants for
    the families both run, else the registry's; the column kernels of plan's
    ISA.  Under the default contract every exponential is the default one,
    whose error the accuracy bound of tests/test_log_softmax.py assumes, in
    the softmax variant's tile (p5 has every tile the others have);
    under a looser one (plan.rtol), the tuner's choice for this machine
    (`tuning.contract_exp`), else `registry.log_contract_exp`'s."""
    algorithm = plan.algorithm
    kernels = {}
    for family in registry.LOG_ALGORITHM_PASSES[algorithm] + registry.LOG_ALGORITHM_GUARD_FAMILIES[algorithm]:
        variant = plan.variants.get(family)
        if family in registry.EXP_FAMILIES and plan.rtol != contracts.DEFAULT_RTOL:
            exp = (tuning.contract_exp(family, plan.isa, plan.rtol, OPERATION)
                   or registry.log_contract_exp(family, plan.rtol))
            variant = registry.default_variant(family, plan.isa, exp)
        elif variant is None:
            variant = registry.default_variant(family, plan.isa)
        elif variant.exp != registry.DEFAULT_EXP:
            variant = registry.plain_variant(variant, registry.DEFAULT_EXP)
        kernels[family] = variant.name
    for family in registry.LOG_ALGORITHM_COLUMN_PASSES[algorithm]:
        kernels[family] = registry.column_kernel_name(family, plan.isa)
    return kernels


def log_plan(plan: api.Plan):
    """The compiled log_softmax plan of a softmax plan (an explicit
    algorithm's), made once per plan."""
    twin = _log_plans.get(plan)
    if twin is None:
        core = plan._plan
        twin = _log_plans[plan] = build.load().Plan(plan.algorithm, _log_kernels(plan), core.threads,
                                                    core.min_elements_per_thread, core.min_split_chunk,
                                                    log_softmax=True)
    return twin


def _softmax_plan(x, axis, algorithm, isa, threads, rtol):
    """The (plan, axis) softmax runs this call with: from api's cache of
    resolved calls when there (api.resolve costs microseconds, as much as
    the work on a row of 2^14), else resolved, which checks every argument.
    Only plain int axis and threads use the cache, as in api.softmax (True
    and 1.0 would find the entries of 1)."""
    if type(axis) is int and (threads is None or type(threads) is int):
        try:
            return api._resolved[api.resolved_key(x.shape, axis, algorithm, isa, threads, rtol, OPERATION)]
        except (KeyError, AttributeError, TypeError):
            pass
    return api.resolve(x, axis, algorithm, isa, threads, contracts.check_rtol(rtol), OPERATION)


def log_softmax(x, *, axis=-1, algorithm: str = api.AUTO, isa: str | None = None, threads=None,
                out=None, rtol: float = contracts.DEFAULT_RTOL) -> np.ndarray:
    """Log of the softmax of a float32 array along one axis,
    ``y = x - log(sum(exp(x)))`` without forming exp(x)/sum: the parameters,
    errors and threading of `kernels.softmax`, with one of the same four
    algorithms ("auto" follows log_softmax's own decision map, measured by
    `python -m kernels.bench tune`, else its documented default,
    `kernels.tuning.default_log_softmax_algorithm`; three-pass-reload stands
    for both three-pass algorithms there):

    - three-pass (recompute and reload alike: reloading e^(x - max) is of
      no use to a pass that needs x): max, sum of e^(x - max), subtract;
    - two-pass: the ExtExp sum m * 2^e, then y = x - (ln m + e ln 2);
    - online: (max, sum) in one pass, subtract.

    log(normaliser) is computed in double and rounded once to a float pair
    hi + lo, the write pass is (x - hi) - lo.  Error against float64: at most
    2 * 2^-24 * (|x - max| + |log sum|) plus a few 2^-24 (see
    tests/test_log_softmax.py for the derivation).

    rtol: softmax's accuracy contract (one of kernels.contracts.CONTRACTS).
    A relative error on softmax is an absolute one on its log: a looser
    contract runs the reductions with that contract's exponentials and adds
    at most rtol to the bound above (the write pass has no exponential).

    Non-finite inputs give log(softmax) elementwise, where softmax follows
    scipy.special.softmax: a row containing NaN or +inf, or only -inf, is
    all NaN; -inf elements of other rows are -inf.
    """
    plan, dim = _softmax_plan(x, axis, algorithm, isa, threads, rtol)
    twin = log_plan(plan)
    y = twin.call_fast(x, out, dim)  # the common case, checked in C
    if y is not None:
        return y
    x, out = api._prepare(x, out)
    outer, n, inner = api.split_shape(x.shape, dim)
    twin.run(x.reshape(-1), out.reshape(-1), outer, n, inner)
    return out
