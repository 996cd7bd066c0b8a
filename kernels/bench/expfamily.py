"""python -m kernels.bench exp: every exponential of the exp family measured.

For each exponential (``kernels.registry.EXPS``) on each ISA:
  * ulp: the max (and mean) ULP error of e^z over every float z in
    [-87.3, 0] (three-pass, online) and of ExtExp over |x| <= 2^16 (two-pass),
    against float64, all kernels scanned in one pass (stride 1: exhaustive);
  * accuracy: the max relative error of softmax plans with its passes, and
    the contract excess (kernels.contracts), at N = 2^15 and 2^26 on
    N(0, 10) and U(-1000, 1000) rows, against float64;
  * speed: every pass kernel and every algorithm with it, in L1 and in the
    in-L2 size class (kernels.tuning), interleaved rounds, medians;
  * contracts: per contract, the fastest exponential of each pass family
    that keeps it (its claim in EXPS, checked by the tests and by the
    accuracy part), and each algorithm's plan of those, timed against p5's
    plan in the same rounds (its in-cache speedup) and measured for accuracy.
The clock is not exposed on virtual machines; it is estimated from a chain of
dependent float64 additions of known latency (Intel cores since Skylake: 4
cycles; AMD Zen: 3), which gives cycles per element. Unknown cores: ns only.

Results go to results/<machine-id>/<time>-exp/exp.json (``--into`` adds
parts to an earlier folder), with one Pareto figure per ISA.
"""

from __future__ import annotations

import dataclasses
import json
import struct
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .. import api, build, contracts, registry
from . import analysis, machine, plots, results
from .sweep import KERNEL_RTOL, algorithm_case, kernel_case, row_input, softmax_check
from .timing import BenchmarkError, Buffers, measure

PARTS = ("ulp", "speed", "contracts", "accuracy")
ACCURACY_SIZES = (1 << 15, 1 << 26)
L1_ELEMENTS = 4096  # input and output (32 KiB) fit any L1d of 48 KiB and the row spans many tiles
EXPMINUS_DOMAIN = (-0.0, float.fromhex("-0x1.5D589Ep6"))  # down to the exp-minus kernels' cutoff
EXTEXP_DOMAINS = ((0.0, 2.0**16), (-0.0, -(2.0**16)))  # ExtExp's accurate range, both signs
SHORT = {"three-pass-recompute": "recompute", "three-pass-reload": "reload", "two-pass": "two-pass",
         "online": "online"}
MAP_FAMILY = {"expminus": "vscaleexpminusmax", "extexp": "vscaleextexp"}  # an exponential's cost, mapped
ADD_LATENCY_CYCLES = {"GenuineIntel": 4, "AuthenticAMD": 3}


def distributions(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "normal(0,10)": rng.normal(0, 10, n).astype(np.float32),
        "uniform(-1000,1000)": rng.uniform(-1000, 1000, n).astype(np.float32),
    }


@dataclass
class ExpConfig:
    isas: list[str] | None = None  # None: every runnable ISA
    exps: list[str] = field(default_factory=lambda: list(registry.EXPS))
    parts: list[str] = field(default_factory=lambda: list(PARTS))
    stride: int = 1  # ULP scans: every stride-th bit pattern (1: exhaustive)
    accuracy_sizes: list[int] = field(default_factory=lambda: list(ACCURACY_SIZES))
    speed_sizes: dict[str, int] | None = None  # None: L1 and the in-cache size class
    reps: int = 11
    target_ms: float = 1.0
    seed: int = 0

    def resolved_isas(self) -> list[str]:
        return [api.check_isa(i) for i in self.isas] if self.isas else list(api.available_isas())


def domain_of(family: str) -> str:
    return "extexp" if "extexp" in family else "expminus"


def claimed_rtol(exp: str, algorithm: str) -> float:
    """The contract an exponential claims for an algorithm's passes."""
    rtol = registry.EXPS[exp].rtol
    return rtol[1] if algorithm == "two-pass" else rtol[0]


def exp_families(algorithm: str) -> list[str]:
    return [f for f in registry.ALGORITHM_PASSES[algorithm] if registry.FAMILIES[f].uses_exp]


def pass_variant(family: str, isa: str, exp: str) -> registry.Variant:
    """The variant of an exp pass that this module times: the wide tile of a
    reduction on a vector ISA (the tile the tuner picks for them in L2, so
    p5 and the others are compared in the same one), else the default."""
    if family in registry.WIDE_EXP_FAMILIES and isa in registry.WIDE_TILE_VECTORS:
        return registry.wide_variant(family, isa, exp)
    return registry.default_variant(family, isa, exp)


def plan(algorithm: str, isa: str, exps) -> api.Plan:
    """A plan whose exp passes use `exps`: one exponential, or {family: exp},
    in `pass_variant`'s tiles; one thread, so that its time is its kernels'
    (the thread policy would split rows of 2 x 32K elements and more)."""
    choice = exps if isinstance(exps, dict) else {f: exps for f in exp_families(algorithm)}
    return api.Plan(algorithm, isa, {f: pass_variant(f, isa, e) for f, e in choice.items()}, threads=1)


# ------------------------------------------------------------------ clock


def measure_clock(report: dict, chain: int = 200_000_000, reps: int = 5) -> dict:
    """GHz from dependent float64 additions (median of reps), where their
    latency on this vendor's cores is known; else ghz None."""
    core = build.load()
    ns = float(np.median([core.dependent_adds_ns(chain)[0] for _ in range(reps)]))
    latency = ADD_LATENCY_CYCLES.get(report["cpu"].get("vendor") or "")
    return {
        "ghz": latency * chain / ns if latency else None,
        "ns_per_add": ns / chain,
        "add_latency_cycles": latency,
        "method": "a chain of dependent float64 additions, its latency taken as "
        + (f"{latency} cycles ({report['cpu'].get('vendor')})" if latency else "unknown: ns only"),
    }


# -------------------------------------------------------------------- ulp


def _bits(f: float) -> int:
    return struct.unpack("<I", struct.pack("<f", f))[0]


def scan_ulp(isas, exps, stride: int, log=print) -> list[dict]:
    """Max/mean ULP of every (exponential, ISA) over both domains, one pass each."""
    core = build.load()
    rows = []
    kernels_of = {
        "expminus": [(e, i, registry.default_variant("vexpminus", i, e).name) for e in exps for i in isas],
        "extexp": [(e, i, registry.default_variant("vextexp", i, e).name) for e in exps for i in isas],
    }
    scans = [("expminus", core.expminus_ulp_scan_many, EXPMINUS_DOMAIN)]
    scans += [("extexp", core.extexp_ulp_scan_many, d) for d in EXTEXP_DOMAINS]
    merged: dict[tuple, dict] = {}
    for domain, scan, (lo, hi) in scans:
        log(f"ULP scan of {len(kernels_of[domain])} {domain} kernels over [{hi:g}, {lo:g}], stride {stride} ...")
        stats = scan([name for *_, name in kernels_of[domain]], _bits(lo), _bits(hi), stride)
        for (exp, isa, _), s in zip(kernels_of[domain], stats):
            key = (exp, isa, domain)
            previous = merged.get(key)
            if previous is None:
                merged[key] = dict(s)
                continue
            total = previous["mean_ulp"] * previous["count"] + s["mean_ulp"] * s["count"]
            previous["count"] += s["count"]
            previous["mean_ulp"] = total / previous["count"]
            if s["max_ulp"] > previous["max_ulp"]:
                previous.update(max_ulp=s["max_ulp"], worst_input=s["worst_input"])
    for (exp, isa, domain), s in merged.items():
        rows.append({"exp": exp, "isa": isa, "domain": domain, "stride": stride, **s})
    return rows


# --------------------------------------------------------------- accuracy


def measure_accuracy(plans: list[tuple[dict, api.Plan]], sizes, seed: int, log=print) -> list[dict]:
    """Max relative error and contract excess of each (meta, plan) at each
    size and distribution."""
    rows = []
    for n in sizes:
        for dist, x in distributions(n, seed).items():
            log(f"accuracy at n = {n}, {dist}: {len(plans)} plans ...")
            reference = contracts.Reference(x)
            y = np.empty_like(x)
            for meta, p in plans:
                p(x, y)
                worst, excess = reference.errors(y, p.algorithm)
                rows.append({**meta, "n": n, "distribution": dist, "max_rel_error": worst, "excess": excess})
            del reference
    return rows


def uniform_plans(isas, exps) -> list[tuple[dict, api.Plan]]:
    return [({"exp": e, "isa": i, "algorithm": a, "plan": "uniform"}, plan(a, i, e))
            for i in isas for e in exps for a in registry.ALGORITHMS]


# ------------------------------------------------------------------ speed


def speed_sizes(report: dict) -> dict[str, int]:
    from .tune import tuning_sizes

    return {"L1": L1_ELEMENTS, "in-cache": tuning_sizes(report, quick=False)["in-l2"][0]}  # the row in L2


def _plan_case(p: api.Plan, label: str, rtol: float, **meta):
    case = algorithm_case(p, label)
    # A contract looser than the harness's default check is checked at its own rtol.
    case = dataclasses.replace(case, check=softmax_check(max(KERNEL_RTOL, 2 * rtol), max(1e-4, 8 * rtol)))
    case.meta.update(meta)
    return case


def measure_speed(isas, exps, sizes: dict[str, int], reps: int, target_ms: float, seed: int, report: dict,
                  log=print) -> list[dict]:
    """Every exp pass kernel and every uniform plan, per ISA and size, interleaved."""
    llc = machine.last_level_cache(report)
    rng = np.random.default_rng(seed)
    samples = []
    for size_label, n in sizes.items():
        buffers = Buffers(row_input(n, seed), "warm", llc)
        for isa in isas:
            cases = []
            for exp in exps:
                for family in registry.EXP_FAMILIES:
                    if family in ("vexpminus", "vextexp"):
                        continue  # scan kernels, not timed by the harness
                    v = pass_variant(family, isa, exp)
                    cases.append(kernel_case(v, buffers.x, v.name, "pass", exp=exp))
                for algorithm in registry.ALGORITHMS:
                    cases.append(_plan_case(plan(algorithm, isa, exp), f"{algorithm} [{isa}] {exp}",
                                            claimed_rtol(exp, algorithm), exp=exp))
            log(f"timing {len(cases)} cases on {isa} at n = {n} ({size_label}) ...")
            for row in measure(cases, buffers, reps, target_ms * 1e6, rng):
                samples.append({**row, "n": n, "size": size_label, "mode": "warm"})
        del buffers
    return samples


# -------------------------------------------------------------- contracts


def medians(samples: pd.DataFrame) -> pd.DataFrame:
    """Median ns per element of every case, per size."""
    columns = [c for c in ("isa", "exp", "family", "algorithm") if c in samples]
    s = samples.groupby(["size", "n", "case"], as_index=False).agg(
        ns=("ns_per_call", "median"), **{c: (c, "first") for c in columns})
    s["ns_per_element"] = s["ns"] / s["n"]
    return s


def fastest_keeping(samples: pd.DataFrame, isa: str, family: str, rtol: float, size: str) -> str:
    """The exponential whose `family` kernel is fastest at `size` among those
    claiming the contract rtol for the family's algorithms."""
    algorithms = [a for a in registry.ALGORITHMS if family in registry.ALGORITHM_PASSES[a]]
    keeping = [e for e in registry.EXPS if all(claimed_rtol(e, a) <= rtol for a in algorithms)]
    m = medians(samples)
    m = m[(m["size"] == size) & (m["isa"] == isa) & (m["family"] == family) & m["exp"].isin(keeping)]
    return str(m.sort_values("ns_per_element").iloc[0]["exp"])


def contract_plans(samples: pd.DataFrame, isas, size: str = "in-cache") -> list[tuple[dict, api.Plan]]:
    """Per ISA, contract and algorithm: the plan of the fastest exponential per
    pass that keeps the contract (p5's plan under the label 'p5')."""
    out = []
    for isa in isas:
        for rtol in contracts.CONTRACTS:
            for algorithm in registry.ALGORITHMS:
                choice = {f: fastest_keeping(samples, isa, f, rtol, size) for f in exp_families(algorithm)}
                meta = {"isa": isa, "algorithm": algorithm, "rtol": rtol, "plan": "contract",
                        "exp": "+".join(choice[f] for f in exp_families(algorithm))}
                out.append((meta, plan(algorithm, isa, choice)))
    return out


def measure_contract_speed(candidates, sizes: dict[str, int], reps: int, target_ms: float, seed: int,
                           report: dict, log=print) -> list[dict]:
    """Each contract plan against p5's plan of its algorithm, same rounds."""
    llc = machine.last_level_cache(report)
    rng = np.random.default_rng(seed)
    samples = []
    for size_label, n in sizes.items():
        buffers = Buffers(row_input(n, seed), "warm", llc)
        for isa in sorted({m["isa"] for m, _ in candidates}):
            cases = [_plan_case(plan(algorithm, isa, "p5"), f"{algorithm} [{isa}] p5",
                                contracts.DEFAULT_RTOL, exp="p5", contract=0.0) for algorithm in registry.ALGORITHMS]
            seen = {case.label for case in cases}  # a contract whose plan is p5's is timed once
            for meta, p in candidates:
                label = f"{meta['algorithm']} [{isa}] {meta['exp']}"
                if meta["isa"] != isa or label in seen:
                    continue
                seen.add(label)
                cases.append(_plan_case(p, label, meta["rtol"], exp=meta["exp"], contract=meta["rtol"]))
            log(f"timing {len(cases)} contract plans on {isa} at n = {n} ({size_label}) ...")
            for row in measure(cases, buffers, reps, target_ms * 1e6, rng):
                samples.append({**row, "n": n, "size": size_label, "mode": "warm"})
        del buffers
    return samples


# ----------------------------------------------------------------- driver


def run(config: ExpConfig, into: Path | None = None, log=print) -> Path:
    """Measures the configured parts; saves (into an earlier folder, adding
    to it) and returns the folder."""
    report = machine.report()
    folder = Path(into) if into else _new_folder(report)
    data = load(folder) if (folder / "exp.json").exists() else {"machine": report}
    isas = config.resolved_isas()
    data.setdefault("config", {})[datetime.now(timezone.utc).isoformat(timespec="seconds")] = dataclasses.asdict(
        config)
    if "clock" not in data:
        data["clock"] = measure_clock(report)
    sizes = config.speed_sizes or speed_sizes(report)
    if "ulp" in config.parts:
        data["ulp"] = _replace(data.get("ulp"), scan_ulp(isas, config.exps, config.stride, log), isas)
        save(data, folder)
    if "speed" in config.parts:
        new = measure_speed(isas, config.exps, sizes, config.reps, config.target_ms, config.seed, report, log)
        data["speed"] = _replace(data.get("speed"), new, isas)
        save(data, folder)
    if "contracts" in config.parts:
        candidates = contract_plans(pd.DataFrame(data["speed"]), isas)
        data["contract_plans"] = _replace(data.get("contract_plans"), [m for m, _ in candidates], isas)
        new = measure_contract_speed(candidates, sizes, config.reps, config.target_ms, config.seed, report, log)
        data["contract_speed"] = _replace(data.get("contract_speed"), new, isas)
        save(data, folder)
    if "accuracy" in config.parts:
        plans = uniform_plans(isas, config.exps)
        if data.get("contract_plans"):
            plans += [(m, plan(m["algorithm"], m["isa"], dict(zip(exp_families(m["algorithm"]), m["exp"].split("+")))))
                      for m in data["contract_plans"] if m["isa"] in isas]
        done = {_plan_key(r) for r in data.get("accuracy", [])}
        plans = [(m, p) for m, p in plans if _plan_key(m) not in done]  # measured in an earlier run
        data["accuracy"] = data.get("accuracy", []) + measure_accuracy(plans, config.accuracy_sizes, config.seed, log)
    save(data, folder)
    return folder


def _plan_key(meta: dict) -> tuple:
    return tuple(meta.get(k) for k in ("isa", "algorithm", "plan", "exp", "rtol"))


def _replace(old: list[dict] | None, new: list[dict], isas) -> list[dict]:
    """Earlier rows of other ISAs, then the new ones."""
    return [r for r in (old or []) if r.get("isa") not in set(isas)] + new


def _new_folder(report: dict) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return results.results_root() / report["id"] / f"{stamp}-exp"


def save(data: dict, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "exp.json").write_text(json.dumps(data, indent=1, default=float))
    return folder


def load(folder: Path) -> dict:
    return json.loads((Path(folder) / "exp.json").read_text())


def latest(root: Path | None = None) -> Path:
    """The latest exp results folder (any machine) under root."""
    root = Path(root) if root else results.results_root()
    found = sorted(root.glob("*/*-exp*/exp.json"), key=lambda p: p.parent.name)
    if not found:
        raise FileNotFoundError(f"no exp results under {root}; run `python -m kernels.bench exp` first")
    return found[-1].parent


# ------------------------------------------------------------------ views


def cycles_per_ns(data: dict) -> float | None:
    return (data.get("clock") or {}).get("ghz")


def exp_table(data: dict, isa: str) -> pd.DataFrame:
    """One row per exponential: max ULP of both domains, the largest softmax
    error over the four algorithms per size and distribution, the tightest
    contract measured and claimed per kind of pass, and the cost of mapping
    the exponential over a row in L1 (ns, cycles)."""
    ulp = pd.DataFrame(data.get("ulp", []))
    acc = pd.DataFrame(data.get("accuracy", []))
    speed = medians(pd.DataFrame(data["speed"])) if data.get("speed") else pd.DataFrame()
    ghz = cycles_per_ns(data)
    rows = []
    for exp in registry.EXPS:
        row = {"exp": exp}
        if len(ulp):
            u = ulp[(ulp["isa"] == isa) & (ulp["exp"] == exp)].set_index("domain")["max_ulp"]
            row["ULP e^z"], row["ULP ExtExp"] = u.get("expminus", np.nan), u.get("extexp", np.nan)
        if len(acc):
            a = acc[(acc["isa"] == isa) & (acc["exp"] == exp) & (acc["plan"] == "uniform")]
            for (n, dist), g in a.groupby(["n", "distribution"]):
                row[f"error {dist} 2^{int(np.log2(n))}"] = g["max_rel_error"].max()
            for kind, algorithms in (("3-pass/online", ["three-pass-recompute", "three-pass-reload", "online"]),
                                     ("2-pass", ["two-pass"])):
                worst = a[a["algorithm"].isin(algorithms)]["excess"].max() if len(a) else np.nan
                row[f"keeps {kind}"] = contracts.tightest(worst) if np.isfinite(worst) else None
                row[f"claims {kind}"] = claimed_rtol(exp, algorithms[0])
        if len(speed):
            s = speed[(speed["size"] == "L1") & (speed["isa"] == isa) & (speed["exp"] == exp)]
            for kind, family in MAP_FAMILY.items():
                ns = s[s["family"] == family]["ns_per_element"]
                label = "e^z" if kind == "expminus" else "ExtExp"
                row[f"ns {label}"] = float(ns.iloc[0]) if len(ns) else np.nan
                if ghz:
                    row[f"cycles {label}"] = row[f"ns {label}"] * ghz
        rows.append(row)
    return pd.DataFrame(rows)


def error_table(data: dict, isa: str) -> pd.DataFrame:
    """Max relative error of each uniform plan: exponential x algorithm, per size and distribution."""
    acc = pd.DataFrame(data["accuracy"])
    a = acc[(acc["isa"] == isa) & (acc["plan"] == "uniform")].copy()
    a["algorithm"] = a["algorithm"].map(SHORT)
    a["case"] = a["distribution"] + " 2^" + np.log2(a["n"]).astype(int).astype(str)
    return a.pivot_table(index=["exp", "algorithm"], columns="case", values="max_rel_error").reset_index()


def speed_table(data: dict, isa: str, size: str = "L1") -> pd.DataFrame:
    """ns per element of every pass and algorithm per exponential, and each
    algorithm's speedup over p5 (paired rounds)."""
    samples = pd.DataFrame(data["speed"])
    m = medians(samples)
    m = m[(m["size"] == size) & (m["isa"] == isa)]
    n = int(m["n"].iloc[0])
    rows = []
    for exp in registry.EXPS:
        e = m[m["exp"] == exp]
        row = {"exp": exp}
        for family in registry.EXP_FAMILIES:
            value = e[e["family"] == family]["ns_per_element"]
            if len(value):
                row[family] = float(value.iloc[0])
        for algorithm in registry.ALGORITHMS:
            label = f"{algorithm} [{isa}] {exp}"
            row[SHORT[algorithm]] = float(e[e["case"] == label]["ns_per_element"].iloc[0])
            row[f"{SHORT[algorithm]} speedup"] = analysis.paired_ratio(
                samples[samples["size"] == size], "warm", n, f"{algorithm} [{isa}] p5", label)
        rows.append(row)
    return pd.DataFrame(rows)


def contract_table(data: dict, isa: str, size: str = "in-cache") -> pd.DataFrame:
    """Per contract and algorithm: the exponentials of its fastest plan, its
    ns/element, speedup over p5's plan (paired rounds) and measured excess."""
    samples = pd.DataFrame(data["contract_speed"])
    samples = samples[samples["size"] == size]
    n = int(samples["n"].iloc[0])
    m = medians(samples)
    acc = pd.DataFrame(data.get("accuracy", []))
    rows = []
    for meta in (m for m in data["contract_plans"] if m["isa"] == isa):
        label = f"{meta['algorithm']} [{isa}] {meta['exp']}"
        row = {"contract": meta["rtol"], "algorithm": SHORT[meta["algorithm"]], "exps": meta["exp"],
               "ns/elem": float(m[m["case"] == label]["ns_per_element"].iloc[0]),
               "speedup vs p5": analysis.paired_ratio(samples, "warm", n, f"{meta['algorithm']} [{isa}] p5", label)}
        if len(acc):
            a = acc[(acc["isa"] == isa) & (acc["plan"] == "contract") & (acc["algorithm"] == meta["algorithm"])
                    & (acc["rtol"] == meta["rtol"])]
            row["max excess"] = a["excess"].max() if len(a) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def pass_winners(data: dict, isa: str, size: str = "in-cache") -> pd.DataFrame:
    """Per contract and exp pass family: the fastest exponential keeping it,
    and its kernel's speedup over the p5 kernel (paired rounds)."""
    samples = pd.DataFrame(data["speed"])
    samples = samples[samples["size"] == size]
    n = int(samples["n"].iloc[0])
    rows = []
    for rtol in contracts.CONTRACTS:
        row = {"contract": rtol}
        for family in registry.EXP_FAMILIES:
            if family in ("vexpminus", "vextexp"):
                continue
            exp = fastest_keeping(samples, isa, family, rtol, size)
            row[family] = exp
            row[f"{family} speedup"] = analysis.paired_ratio(
                samples, "warm", n, pass_variant(family, isa, registry.DEFAULT_EXP).name,
                pass_variant(family, isa, exp).name)
        rows.append(row)
    return pd.DataFrame(rows)


PARETO_PANELS = (("three-pass and online: e^(x - max)", "raddexpminusmax",
                  ("three-pass-recompute", "three-pass-reload", "online")),
                 ("two-pass: ExtExp", "raddextexp", ("two-pass",)))
"""(title, the sum pass family timed, the algorithms whose excess counts)."""


PARETO_COLUMNS = ["isa", "pass", "family", "exp", "ns_per_element", "excess", "max_ulp", "on_front"]


def pareto_points(data: dict, isas) -> pd.DataFrame:
    """One row per ISA, panel and exponential: the ns per element of the
    panel's pass in L1, the worst contract excess of its algorithms (floored
    at 1e-9 for log axes), the exponential's max ULP, and whether it is on
    the Pareto front (nothing both faster and more accurate).  The data of
    `pareto` and of `pareto_explorer`."""
    speed = medians(pd.DataFrame(data["speed"]))
    acc = pd.DataFrame(data["accuracy"])
    rows = []
    for isa in isas:
        fast = speed[(speed["size"] == "L1") & (speed["isa"] == isa)]
        accurate = acc[(acc["isa"] == isa) & (acc["plan"] == "uniform")]
        for kind, (title, family, algorithms) in enumerate(PARETO_PANELS):
            points = []
            for exp in registry.EXPS:
                ns = fast[(fast["exp"] == exp) & (fast["family"] == family)]["ns_per_element"]
                worst = accurate[(accurate["exp"] == exp) & accurate["algorithm"].isin(algorithms)]["excess"]
                if len(ns) and len(worst):
                    points.append({"isa": isa, "pass": title, "family": family, "exp": exp,
                                   "ns_per_element": float(ns.iloc[0]), "excess": max(float(worst.max()), 1e-9),
                                   "max_ulp": registry.EXPS[exp].max_ulp[kind]})
            best = np.inf
            for point in sorted(points, key=lambda p: (p["ns_per_element"], p["excess"])):
                point["on_front"] = point["excess"] < best
                best = min(best, point["excess"])
            rows += points
    return pd.DataFrame(rows, columns=PARETO_COLUMNS)


def pareto(data: dict, isa: str, axes=None):
    """Accuracy against speed on one ISA, two panels: the three-pass/online
    exponential (ns of the e^(x - max) sum pass in L1 against the worst
    contract excess of those algorithms) and ExtExp (ns of two-pass pass 1
    against two-pass's excess); the contracts dashed, the Pareto front drawn."""
    import matplotlib.pyplot as plt

    plots.apply_style()
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(plots.FIGSIZE[0], 3.8), layout="constrained")
    else:
        fig = axes[0].figure
    points = pareto_points(data, [isa])
    for ax, (title, family, _) in zip(axes, PARETO_PANELS):
        panel = points[points["pass"] == title]
        for point in panel.itertuples():
            ax.plot(point.ns_per_element, point.excess, "o",
                    color="#1f77b4" if point.exp != registry.DEFAULT_EXP else "#d62728", ms=5)
            ax.annotate(point.exp, (point.ns_per_element, point.excess), xytext=(3, 3), textcoords="offset points",
                        fontsize=7)
        front = panel[panel["on_front"].astype(bool)].sort_values("ns_per_element")
        if len(front):
            ax.step(front["ns_per_element"], front["excess"], where="post", color="grey", lw=1, alpha=0.7)
        for rtol in contracts.CONTRACTS:
            ax.axhline(rtol, color="black", ls="--", lw=0.8, alpha=0.5)
        ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(f"ns per element, {family} in L1")
    axes[0].set_ylabel("contract excess (max relative error)")
    fig.suptitle(f"exponentials on {isa}: accuracy against speed", fontsize=10)
    return fig, axes


def pareto_explorer(data: dict, isas, report: dict, name: str = "exp-pareto"):
    """The explorer of `pareto`'s points: choose the ISA and the pass, the
    exponentials shown and log axes; hover a point for its exponential's
    cost, excess and max ULP."""
    from . import explorer as ex

    points = pareto_points(data, isas)
    return ex.Explorer(
        name=name, title="Exponentials: accuracy against speed, as measured by this build", data=points,
        x="ns_per_element", x_label="ns per element of the pass, in L1",
        measures=[ex.Measure("excess", "contract excess (max relative error)", digits=3)],
        key=["exp"], label="exp", facets=["isa", "pass"],
        facet_defaults={"isa": list(isas)[-1], "pass": PARETO_PANELS[0][0]},
        hover=[ex.Hover("ns_per_element", "ns/element"), ex.Hover("excess", "contract excess", 3),
               ex.Hover("max_ulp", "max ULP", 3)],
        styles={exp: {"kind": "points", **({"color": "#d62728"} if exp == registry.DEFAULT_EXP else {})}
                for exp in points["exp"].unique()},
        x_log_toggle=True, y_log=True, machine=ex.machine_label(report),
        note="Each point is one exponential; the paper's p5 is red.",
    )


def render(data: dict) -> str:
    """The text report: per ISA the exp table, pass winners and contract plans."""
    out = []
    clock = data.get("clock") or {}
    out.append(f"clock: {clock.get('ghz') and round(clock['ghz'], 2)} GHz ({clock.get('method')})")
    isas = sorted({r["isa"] for r in data.get("ulp", []) + data.get("speed", []) + data.get("accuracy", [])},
                  key=registry.ISAS.index)
    fmt = dict(index=False, float_format=lambda v: f"{v:.3g}")
    for isa in isas:
        out += ["", f"== {isa} ==", exp_table(data, isa).to_string(**fmt)]
        if data.get("speed"):
            out += ["", "pass winners (in cache):", pass_winners(data, isa).to_string(**fmt)]
        if data.get("contract_speed"):
            out += ["", "contract plans (in cache):", contract_table(data, isa).to_string(**fmt)]
    return "\n".join(out)


def main(args) -> int:
    config = ExpConfig(isas=args.isas, parts=args.parts or list(PARTS), reps=args.reps)
    if args.exps:
        config.exps = args.exps
    if args.quick:
        config.stride, config.accuracy_sizes, config.reps = 4099, [1 << 12], min(config.reps, 3)
        config.speed_sizes, config.target_ms = {"L1": L1_ELEMENTS, "in-cache": 1 << 14}, 0.3
    if args.stride:
        config.stride = args.stride
    folder = run(config, into=args.into, log=lambda m: print(m, file=sys.stderr))
    data = load(folder)
    for isa in sorted({r["isa"] for r in data.get("accuracy", [])}):
        if data.get("speed"):
            fig, _ = pareto(data, isa)
            fig.savefig(folder / f"pareto-{isa}.png")
    print(render(data))
    print(f"saved {folder}")
    return 0
