"""python -m kernels.bench tune: the kernel variants for this machine, chosen by evidence.

For each ISA, at a size that represents each size class of kernels.tuning
(a row that fits in L2, one that needs the last-level cache, and one far
beyond it, with cold buffers):
  1. shapes, per in-cache class (where the arithmetic shows; out of cache
     the memory decides): per pass family, every plain-store variant is
     timed alone, interleaved with the others; a variant replaces the
     family's default only if it beats it (see `Evidence.convincing`);
  2. plans, per size class and algorithm: the default plan, the plan of those
     shapes (out of cache: of the shapes the last-level-cache plan kept) and that
     plan with streaming stores in its out-of-place write pass, interleaved;
     simplest first, a candidate replaces the current choice only if it
     beats it at every size of the class, and a candidate the evidence
     cannot tell from the choice is recorded as a tie;
  3. confirmation: a winner other than the default is measured again against
     the default, in fresh rounds, and stored only if it wins again.
The choices are stored per CPU (see kernels.tuning) and used by
kernels.softmax from then on.  Then, with those variants, the thread policy
and the decision map of algorithm="auto" (kernels.bench.tune_dispatch).

Every measurement also times the default twice (an A/A pair): how far two
identical cases drift apart in the same rounds is the measured noise that a
gain must exceed.  Plans run on one thread (`one_thread_plan`), as the pass
kernels do: the choice is of kernels, and a row split across threads would
add the fork and join to every candidate and the other core's noise to the
rounds; what threads gain is the thread policy's measurement.
"""

from __future__ import annotations

import functools
import sys
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import api, contracts, registry, tuning
from . import machine, tune_dispatch
from .evidence import (  # noqa: F401  (the rule, re-exported for the tests)
    AA_SUFFIX, CONFIDENCE, MAJORITY, MIN_GAIN, NOISE_FACTOR, Evidence, Rounds, beats, evidence, marginal,
    median_lower_bound, verdict)
from .sweep import algorithm_case, kernel_case, row_input
from .timing import Buffers, measure

ROUNDS_FACTOR = {"in-l2": 3, "in-llc": 3, "out-of-cache": 2}
"""Rounds per measurement, as multiples of the requested reps: the decisions
need more rounds than a sweep's medians (in cache they are also cheap)."""
TARGET_NS = 2e6


# ------------------------------------------------------------- the rule


def pick_winner(labels_simplest_first: list[str], rounds_per_size: list[Rounds]) -> str:
    """The first label, replaced by each later one that beats the current choice.
    The first label is the reference of the A/A pair."""
    reference = winner = labels_simplest_first[0]
    for label in labels_simplest_first[1:]:
        if beats(rounds_per_size, winner, label, reference):
            winner = label
    return winner


def ties(labels: list[str], winner: str, rounds_per_size: list[Rounds]) -> dict[str, list[Evidence]]:
    """The other labels that the evidence cannot tell from the winner (either
    way), or that the winner beats only marginally (`marginal`)."""
    found = {}
    for label in labels:
        if label == winner:
            continue
        ahead = evidence(rounds_per_size, winner, label, labels[0])
        behind = evidence(rounds_per_size, label, winner, labels[0])
        if (verdict(ahead) == "tie" and verdict(behind) != "better") or marginal(behind):
            found[label] = ahead
    return found


def describe_ties(found: dict[str, list[Evidence]]) -> str:
    return "; ".join(f"{label}: {', '.join(e.describe() for e in per_size)}" for label, per_size in found.items())


# ------------------------------------------------------- measurements


def tuning_sizes(report: dict, quick: bool) -> dict[str, list[int]]:
    """Row lengths that represent each size class of kernels.tuning on this
    machine: one whose input and output fit in half of L2; one that needs
    the last-level cache (half that class's limit); out of cache, one with
    8x the LLC per array (2^24 ... 2^26)."""
    l2 = machine.cache_size(report, 2) or 512 << 10
    llc = machine.last_level_cache(report) or 32 << 20
    in_l2 = 1 << int(np.floor(np.log2(l2 / 2 / 8)))
    in_llc = 1 << int(np.floor(np.log2(max(llc // 16 // 2, 2 * in_l2))))
    out_of_cache = 1 << int(np.ceil(np.log2(8 * llc / 4)))
    out_of_cache = min(max(out_of_cache, 1 << 24), 1 << 24 if quick else 1 << 26)
    return {"in-l2": [in_l2], "in-llc": [in_llc], "out-of-cache": [out_of_cache]}


DATA_DEPENDENT = ("two-pass", "online")
"""The algorithms whose first pass branches on the data (a rescale when a
lane's exponent or maximum grows): a candidate plan must also hold up on the
rows that make them branch most (`WORST_ROW`)."""
WORST_ROW = "rising"


def _row(kind: str, n: int) -> np.ndarray:
    from .adversarial import ROWS

    return row_input(n, 0) if kind == "random" else ROWS[kind](n)


@functools.lru_cache(maxsize=1)
def _buffers(size_class: str, n: int, llc: int | None, kind: str = "random") -> Buffers:
    """The buffers of the latest size and row kind, kept for the next
    measurement at it (cold ones hold about 1 GiB: built once, not per
    algorithm)."""
    return Buffers(_row(kind, n), "cold" if size_class == "out-of-cache" else "warm", llc)


def _measure_at_sizes(make_cases, sizes: list[int], size_class: str, llc, reps: int, rng,
                      kind: str = "random") -> list[Rounds]:
    """make_cases(x) -> cases, measured interleaved at each size."""
    rounds = []
    for n in sizes:
        buffers = _buffers(size_class, n, llc, kind)
        samples = measure(make_cases(buffers.x), buffers, reps * ROUNDS_FACTOR[size_class], TARGET_NS, rng)
        rounds.append(Rounds(samples))
    return rounds


def _plain_variants(family: str, isa: str) -> list[registry.Variant]:
    """The default first, then the other plain-store shapes by unroll, then
    each other exponential whose claim keeps the default contract, in its
    shapes by unroll (see `keeps_contract` for the check of the plan)."""
    def plain(exp):
        return sorted((v for v in registry.variants(family, isa, exp) if not v.streaming),
                      key=lambda v: (v.unroll, v.accumulators))

    default = registry.default_variant(family, isa)
    others = [v for v in plain(registry.DEFAULT_EXP) if v != default]
    exps = [v for e in registry.exps_keeping(family, contracts.DEFAULT_RTOL) if e != registry.DEFAULT_EXP
            for v in plain(e)]
    return [default] + others + exps


def best_shapes(isa: str, families: set[str], sizes: list[int], size_class: str, llc, reps: int,
                rng) -> tuple[dict[str, registry.Variant], dict[str, str]]:
    """Per family, the plain-store variant chosen by the rule against the
    default; and, per family with ties, their description."""

    def cases(x):
        out = []
        for family in sorted(families):
            variants = _plain_variants(family, isa)
            for v, label in [(v, v.name) for v in variants] + [(variants[0], variants[0].name + AA_SUFFIX)]:
                out.append(kernel_case(v, x, label, "pass", in_place=family == "vscale"))
        return out

    rounds = _measure_at_sizes(cases, sizes, size_class, llc, reps, rng)
    shapes, tied = {}, {}
    for family in sorted(families):
        labels = [v.name for v in _plain_variants(family, isa)]
        shapes[family] = registry.lookup(pick_winner(labels, rounds))
        found = ties(labels, shapes[family].name, rounds)
        if found:
            tied[family] = describe_ties(found)
    return shapes, tied


def _streaming_twin(v: registry.Variant) -> registry.Variant | None:
    twin = registry.Variant(v.family, v.isa, v.unroll, v.accumulators, streaming=True, exp=v.exp)
    return twin if twin.name in registry.BY_NAME else None


def one_thread_plan(algorithm: str, isa: str, variants=None) -> api.Plan:
    """The plan the tuner times: these variants, on one thread."""
    return api.Plan(algorithm, isa, variants, threads=1)


def with_stores(plan: api.Plan, streaming: bool) -> api.Plan:
    """The same plan with plain or streaming stores in its out-of-place write
    passes (the in-place rescale of reloading keeps plain stores)."""
    chosen = {}
    for v in plan.passes:
        plain = registry.plain_variant(v)
        twin = _streaming_twin(plain)
        chosen[v.family] = twin if streaming and twin is not None and v.family != "vscale" else plain
    return one_thread_plan(plan.algorithm, plan.isa, chosen)


CONTRACT_CHECK_SIZES = (1000, 1 << 15)
"""Row lengths at which a plan with another exponential must keep the default
contract before it may be a candidate (with N(0, 10) and U(-1000, 1000) rows)."""


def keeps_contract(plan: api.Plan, rtol: float = contracts.DEFAULT_RTOL, seed: int = 0) -> bool:
    """Whether plan's softmax keeps the contract rtol (kernels.contracts.bound)
    on N(0, 10) and U(-1000, 1000) rows at CONTRACT_CHECK_SIZES: the claims of
    EXPS hold for one exponential in every pass; this checks the mix."""
    rng = np.random.default_rng(seed)
    for n in CONTRACT_CHECK_SIZES:
        for x in (rng.normal(0, 10, n), rng.uniform(-1000, 1000, n)):
            x = x.astype(np.float32)
            if contracts.Reference(x).errors(plan(x), plan.algorithm)[1] > rtol:
                return False
    return True


def _with_default_exp(plan: api.Plan) -> api.Plan:
    return one_thread_plan(plan.algorithm, plan.isa, {
        v.family: v if v.exp == registry.DEFAULT_EXP else registry.default_variant(v.family, v.isa)
        for v in plan.passes})


def candidate_plans(algorithm: str, isa: str, shapes: dict, log=None) -> dict[str, api.Plan]:
    """Candidates, simplest first; a candidate identical to an earlier one is
    left out, and one whose exponentials break the default contract is
    replaced by the same shapes with the default exponential."""
    passes = registry.ALGORITHM_PASSES[algorithm]
    default = one_thread_plan(algorithm, isa)
    tuned = one_thread_plan(algorithm, isa, {f: shapes[f] for f in passes})
    if tuned.passes != _with_default_exp(tuned).passes and not keeps_contract(tuned):
        (log or (lambda m: print(m, file=sys.stderr)))(f"{algorithm}: {' + '.join(v.name for v in tuned.passes)} breaks the default contract; "
            "default exponential kept")
        tuned = _with_default_exp(tuned)
    plans = {"default": default}
    if tuned.passes != default.passes:
        plans["tuned shapes"] = tuned
    streamed = with_stores(tuned, streaming=True)
    if streamed.passes != tuned.passes:
        plans["tuned shapes + streaming stores"] = streamed
    return plans


def measure_plans(plans: dict[str, api.Plan], sizes: list[int], size_class: str, llc, reps: int,
                  rng, kind: str = "random") -> list[Rounds]:
    """The plans interleaved at each size, with an A/A copy of the default,
    on rows of `kind` (random, or one of kernels.bench.adversarial.ROWS)."""

    def cases(x):
        labelled = list(plans.items()) + [("default" + AA_SUFFIX, plans["default"])]
        return [algorithm_case(plan, label) for label, plan in labelled]

    return _measure_at_sizes(cases, sizes, size_class, llc, reps, rng, kind)


@dataclass
class Choice:
    """The tuner's decision for one algorithm, ISA and size class."""

    label: str  # the candidate stored
    plan: api.Plan
    candidate: str  # the candidate that won the first measurement
    confirmation: list[Evidence] | None  # the re-measurement against the default, per size
    rounds: list[Rounds]  # the confirmation's rounds, else the first measurement's
    tied: dict[str, list[Evidence]]  # candidates the evidence could not tell from the one stored
    worst: list[Evidence] | None = None  # the default against the candidate on WORST_ROW rows, if measured

    def describe(self) -> str:
        if self.confirmation is None:
            text = "default: no candidate beat it"
        else:
            verdict_text = "confirmed" if self.label != "default" else "not confirmed, default kept"
            if self.label == "default" and self.worst is not None and verdict(self.worst) == "better":
                verdict_text = f"confirmed on random rows but slower on {WORST_ROW} rows, default kept"
            text = f"{self.candidate} {verdict_text} ({', '.join(e.describe() for e in self.confirmation)})"
            if self.worst is not None:
                text += f"; default over it on {WORST_ROW} rows: {', '.join(e.describe() for e in self.worst)}"
        return text + (f"; tie with {describe_ties(self.tied)}" if self.tied else "")

    def gain(self) -> float:
        """Smallest median gain over the default across the sizes (1 for the default)."""
        return min(e.median for e in self.confirmation) if self.label != "default" else 1.0


def choose_plan(algorithm: str, isa: str, shapes: dict, sizes: list[int], size_class: str, llc, reps: int,
                rng, log=None) -> Choice:
    plans = candidate_plans(algorithm, isa, shapes, log=log)
    first = measure_plans(plans, sizes, size_class, llc, reps, rng)
    candidate = pick_winner(list(plans), first)
    if candidate == "default":
        return Choice("default", plans["default"], candidate, None, first, ties(list(plans), "default", first))
    pair = {"default": plans["default"], candidate: plans[candidate]}
    rounds = measure_plans(pair, sizes, size_class, llc, reps, rng)
    confirmation = evidence(rounds, "default", candidate, "default")
    if verdict(confirmation) != "better":
        return Choice("default", plans["default"], candidate, confirmation, rounds, {candidate: confirmation})
    # Candidates the first measurement could not tell from the winner: another
    # run may pick one of them, and this run says so; so may it keep the
    # default when the confirmation's gain is marginal.
    rivals = {label: e for label, e in ties(list(plans), candidate, first).items() if label != "default"}
    if marginal(confirmation):
        rivals["default"] = confirmation
    if algorithm not in DATA_DEPENDENT:
        return Choice(candidate, plans[candidate], candidate, confirmation, rounds, rivals)
    # The worst case decides too: a winner on random rows that the default
    # beats convincingly on rising rows is not stored.
    worst = evidence(measure_plans(pair, sizes, size_class, llc, reps, rng, WORST_ROW), candidate, "default",
                     "default")
    if verdict(worst) == "better":
        return Choice("default", plans["default"], candidate, confirmation, rounds, {}, worst)
    return Choice(candidate, plans[candidate], candidate, confirmation, rounds, rivals, worst)


# ------------------------------------------------------- looser contracts


def _contract_candidates(family: str, isa: str, rtol: float) -> list[registry.Variant]:
    """The family's default shape with the contract's untuned exponential
    (registry.CONTRACT_EXPS) first, then with each other one claiming rtol."""
    reference = registry.contract_variant(family, isa, rtol)
    others = [registry.default_variant(family, isa, e) for e in registry.exps_keeping(family, rtol)
              if e != reference.exp]
    return [reference] + others


def _algorithms_breaking(exps: dict[str, str], isa: str, rtol: float) -> list[str]:
    """The algorithms whose plan with these exponentials breaks rtol (the
    claims hold for one exponential per pass; this checks the mix)."""
    broken = []
    for algorithm in registry.ALGORITHMS:
        variants = {f: registry.default_variant(f, isa, exps[f]) for f in registry.ALGORITHM_PASSES[algorithm]
                    if f in exps}
        if variants and not keeps_contract(api.Plan(algorithm, isa, variants, rtol=rtol), rtol):
            broken.append(algorithm)
    return broken


LOG_EXP_FAMILIES = sorted({f for a in registry.ALGORITHMS for f in registry.LOG_ALGORITHM_PASSES[a]}
                          & set(registry.EXP_FAMILIES))
"""The exponential passes of log_softmax's reductions (its guarded rows keep
the untuned choice)."""


def _pick(labels: list[str], rounds: list[Rounds]) -> tuple[str, str]:
    """The exponential the rule picks among variants (names, incumbent first)
    and those it ties with."""
    winner = registry.lookup(pick_winner(labels, rounds))
    return winner.exp, ", ".join(registry.lookup(label).exp for label in ties(labels, winner.name, rounds))


def tune_contracts(isas, reps: int, quick: bool, log=print) -> tuple[dict, pd.DataFrame]:
    """Per ISA and looser contract (kernels.contracts.CONTRACTS but the
    default), per exponential pass family: the exponential chosen by the rule
    in cache (the shapes step's sizes: one rule over both in-cache classes)
    among those claiming the contract, the untuned choice of
    registry.CONTRACT_EXPS the incumbent; a
    family whose choice makes an algorithm's plan break the contract keeps
    the untuned one.  log_softmax's reductions choose from the same rounds,
    among the exponentials whose own bound keeps the contract
    (registry.log_exps_keeping), registry.log_contract_exp's the incumbent.
    Returns ({operation: {isa: {"<rtol>": {family: exp}}}}, table)."""
    report = machine.report()
    class_sizes = tuning_sizes(report, quick)
    sizes = [n for size_class in tuning.IN_CACHE_CLASSES for n in class_sizes[size_class]]
    llc = machine.last_level_cache(report)
    rng = np.random.default_rng(1)
    families = sorted({f for a in registry.ALGORITHMS for f in registry.ALGORITHM_PASSES[a]}
                      & set(registry.EXP_FAMILIES))
    chosen, rows = {"softmax": {}, "log_softmax": {}}, []
    try:
        for isa in isas:
            api.check_isa(isa)
            for rtol in contracts.CONTRACTS:
                if rtol == contracts.DEFAULT_RTOL:
                    continue
                log(f"tuning {isa} exponentials for rtol={rtol:g} at n = {', '.join(map(str, sizes))} ...")
                candidates = {f: _contract_candidates(f, isa, rtol) for f in families}
                log_references = {f: registry.default_variant(f, isa, registry.log_contract_exp(f, rtol))
                                  for f in LOG_EXP_FAMILIES}

                def cases(x, candidates=candidates, log_references=log_references):
                    out = []
                    for family, variants in candidates.items():
                        references = dict.fromkeys([variants[0], log_references.get(family, variants[0])])
                        labelled = [(v, v.name) for v in variants] + [(v, v.name + AA_SUFFIX) for v in references]
                        out += [kernel_case(v, x, label, "pass") for v, label in labelled]
                    return out

                rounds = [r for size_class in tuning.IN_CACHE_CLASSES
                          for r in _measure_at_sizes(cases, class_sizes[size_class], size_class, llc, reps, rng)]
                exps, tied = {}, {}
                for family, variants in candidates.items():
                    exps[family], tied[family] = _pick([v.name for v in variants], rounds)
                for algorithm in _algorithms_breaking(exps, isa, rtol):
                    log(f"  rtol={rtol:g}: {algorithm}'s plan with the chosen exponentials breaks it; "
                        "its families keep the untuned ones")
                    for family in registry.ALGORITHM_PASSES[algorithm]:
                        if family in exps:
                            exps[family] = registry.contract_variant(family, isa, rtol).exp
                log_exps = {}
                for family, reference in log_references.items():
                    keeping = registry.log_exps_keeping(family, rtol)
                    labels = [reference.name] + [v.name for v in candidates[family]
                                                 if v.exp in keeping and v != reference]
                    log_exps[family], tied["log " + family] = _pick(labels, rounds)
                chosen["softmax"].setdefault(isa, {})[f"{rtol:g}"] = exps
                chosen["log_softmax"].setdefault(isa, {})[f"{rtol:g}"] = log_exps
                rows += [{"isa": isa, "rtol": rtol, "family": f, "untuned": candidates[f][0].exp, "chosen": exps[f],
                          "tie": tied[f], "log untuned": log_references[f].exp if f in log_exps else "",
                          "log chosen": log_exps.get(f, ""), "log tie": tied.get("log " + f, "")}
                         for f in families]
    finally:
        _buffers.cache_clear()
    return chosen, pd.DataFrame(rows)


def tune(isas, algorithms, reps: int, quick: bool, log=print) -> tuple[dict, pd.DataFrame]:
    """Chooses (and returns, without storing) the variants of every algorithm,
    ISA and size class: ({isa: {algorithm: {size class: {family: variant}}}}, table)."""
    report = machine.report()
    class_sizes = tuning_sizes(report, quick)
    llc = machine.last_level_cache(report)
    rng = np.random.default_rng(0)
    choices, rows = {}, []
    families = {f for a in algorithms for f in registry.ALGORITHM_PASSES[a]}
    try:
        for isa in isas:
            api.check_isa(isa)
            shapes, shape_ties = {}, {}
            for size_class in tuning.IN_CACHE_CLASSES:
                sizes = class_sizes[size_class]
                log(f"tuning {isa} shapes at n = {', '.join(map(str, sizes))} ({size_class}) ...")
                shapes[size_class], shape_ties[size_class] = best_shapes(isa, families, sizes, size_class, llc,
                                                                         reps, rng)
            llc_plans = {}
            for size_class, sizes in class_sizes.items():
                log(f"tuning {isa} plans at n = {', '.join(map(str, sizes))} ({size_class}) ...")
                for algorithm in algorithms:
                    if size_class in shapes:
                        plan_shapes = shapes[size_class]
                    else:  # the shapes the last-level-cache plan kept: where they are worth it
                        plan_shapes = {v.family: with_stores(llc_plans[algorithm], False).variants[v.family]
                                       for v in llc_plans[algorithm].passes}
                    choice = choose_plan(algorithm, isa, plan_shapes, sizes, size_class, llc, reps, rng, log)
                    if size_class == "in-llc":
                        llc_plans[algorithm] = choice.plan
                    choices.setdefault(isa, {}).setdefault(algorithm, {})[size_class] = {
                        v.family: v.name for v in choice.plan.passes}
                    class_ties = shape_ties.get(size_class, {})
                    tied = {f: class_ties[f] for f in registry.ALGORITHM_PASSES[algorithm] if f in class_ties}
                    rows.append(_table_row(isa, size_class, sizes, algorithm, choice, tied))
    finally:
        _buffers.cache_clear()
    return choices, pd.DataFrame(rows)


def _table_row(isa: str, size_class: str, sizes: list[int], algorithm: str, choice: Choice,
               shape_ties: dict[str, str]) -> dict:
    last = choice.rounds[-1]
    return {"isa": isa, "size class": size_class, "n": ", ".join(f"{n:,}" for n in sizes),
            "algorithm": algorithm, "choice": choice.label,
            "ns/elem": last.median_ns(choice.label) / sizes[-1],
            "default ns/elem": last.median_ns("default") / sizes[-1],
            "gain": choice.gain(), "decision": choice.describe(),
            "tie": ", ".join(list(choice.tied) + [f"{f} shape" for f in shape_ties]),
            "shape ties": "; ".join(f"{f}: {text}" for f, text in shape_ties.items()),
            "kernels": " + ".join(v.name for v in choice.plan.passes)}


def main(args) -> int:
    """Tunes the variants, then the thread policy and decision map of "auto"
    (those measured with the variants chosen); --if-missing tunes only what
    this CPU has not stored, --dispatch-only only the second part, and
    --algorithms (a subset) only the first."""
    variants_stored, dispatch_stored = tuning.choices_path().exists(), tuning.dispatch_path().exists()
    if args.if_missing and variants_stored and dispatch_stored:
        print(f"tuned choices already stored: {tuning.choices_path()}, {tuning.dispatch_path()}")
        return 0
    isas = args.isas or [i for i in api.available_isas() if i != "scalar"] or ["scalar"]
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    if not args.dispatch_only and not (args.if_missing and variants_stored):
        _tune_variants(args, isas, log)
    if args.algorithms and not args.dispatch_only:
        log("--algorithms: variants only (auto's decision map compares every algorithm)")
    elif not (args.if_missing and dispatch_stored):
        _tune_dispatch(args, isas, log)
    return 0


def _tune_variants(args, isas, log) -> None:
    algorithms = args.algorithms or list(registry.ALGORITHMS)
    choices, table = tune(isas, algorithms, args.reps, args.quick, log=log)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    contract_exps, contract_table = tune_contracts(isas, args.reps, args.quick, log=log)
    print(contract_table.to_string(index=False))
    if args.dry_run:
        return
    merged = dict(tuning._stored().get("choices", {}))
    for isa, per_algorithm in choices.items():
        for algorithm, per_class in per_algorithm.items():
            merged.setdefault(isa, {}).setdefault(algorithm, {}).update(per_class)
    merged_contracts = {operation: {**tuning._stored().get(key, {}), **contract_exps[operation]}
                        for operation, key in tuning.CONTRACT_KEYS.items()}
    path = tuning.save(merged, {"machine": machine.report()["id"], "quick": args.quick, "reps": args.reps},
                       merged_contracts)
    print(f"stored {path}")


def _tune_dispatch(args, isas, log) -> None:
    started = time.perf_counter()
    log("tuning the thread policy and the decision map of algorithm='auto' ...")
    settings = tune_dispatch.QUICK if args.quick else tune_dispatch.FULL
    decisions, policies, table, thresholds = tune_dispatch.tune_dispatch(isas, settings, log=log)
    if not thresholds.empty:
        print(thresholds.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    for isa, policy in policies.items():
        print(f"thread policy {isa}: {policy}")
    print(tune_dispatch.describe(table))
    print(f"dispatch tuned in {time.perf_counter() - started:.0f} s")
    if args.dry_run:
        return
    stored = tuning._stored_dispatch()
    merged = {operation: {**stored.get(key, {}), **decisions.get(operation, {})}
              for operation, key in tuning.DECISION_KEYS.items()}
    merged_threads = {**stored.get("threads", {}), **policies}
    meta = {"machine": machine.report()["id"], "quick": args.quick, "rounds": settings.rounds}
    path = tuning.save_dispatch(merged["softmax"], merged_threads, meta, merged["log_softmax"])
    print(f"stored {path}")
