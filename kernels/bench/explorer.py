"""Explorers: the book's interactive figures, which work without a kernel.

An explorer is a cell output (text/html) that carries its data as JSON and is
drawn in the page by `book/_extra/_static/explorer/explorer.js` with uPlot
(`book/_extra/_static/uplot/`), both served by the book itself.  Its data is a
long-format table, one row per point: the columns named as the x axis, the
measures, the series key and the hover fields have a role; every other column
that splits a series' points at the same x (threads, protocol, rows, cache
mode, ...) becomes a *facet*, a control of its own, without code here or in the
page.  The reader can choose series, a measure, facet values, the x range, log
axes, the baseline of a speedup, hover a point, download the data as CSV, and
load the results of their own sweep (`explorer.json`, written beside every
saved sweep) to see their curves beside the book's.

The same explorer works in JupyterLab started at the repository root (it loads
the scripts through the server's /files/ route), so a live panel can show a
fresh measurement there; in the book, myst-nb renders the text/html output.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import registry
from . import analysis, folders, machine, plots

RESULTS_FORMAT = "softmax-kernels explorer data"
RESULTS_VERSION = 1
RESULTS_FILE = "explorer.json"
STATIC = "_static/"  # where the book serves book/_extra/_static/ (html_extra_path)
REPO_STATIC = "book/_extra/_static/"  # the same files, under JupyterLab's /files/ route
EXP_CONSTANTS_H = Path(__file__).resolve().parents[1] / "csrc" / "exp_constants.h"


@dataclass
class Measure:
    """A y-axis choice: a column, its axis label, and optionally its roof column."""

    column: str
    label: str
    roof: str | None = None
    digits: int = 4


@dataclass
class Hover:
    """A field shown when a point is hovered."""

    column: str
    label: str
    digits: int = 4


MEASURES = [
    Measure("gelem_per_s", "throughput (10^9 elements/s)", roof="roof_gelem_per_s"),
    Measure("ns_per_element", "ns per element", roof="roof_ns_per_element"),
    Measure("gb_per_s", "GB/s (traffic model)", roof="roof_gb_per_s"),
    Measure("efficiency", "fraction of the bandwidth roof", digits=3),
]
HOVER = [
    Hover("ns_per_element", "ns/element"),
    Hover("gelem_per_s", "10^9 elements/s"),
    Hover("gb_per_s", "GB/s", 3),
    Hover("efficiency", "efficiency", 3),
    Hover("roof_ns_per_element", "roof ns/element"),
    Hover("reps", "rounds"),
    Hover("variant", "kernels"),
]
GROUP_LABELS = {"algorithm": "algorithms, timed in C", "api": "kernels.softmax, called from Python",
                "peer": "peers, called from Python", "pass": "pass kernels alone", "bandwidth": "bandwidth kernels"}


@dataclass
class Explorer:
    """Everything explorer.js needs; `html()` writes the cell output."""

    name: str  # unique on its page; also the CSV file name
    title: str
    data: pd.DataFrame
    x: str
    x_label: str
    measures: list[Measure]
    key: list[str]  # the columns that identify a series
    label: str  # the column that names a series
    measure: str | None = None
    hover: list[Hover] = field(default_factory=list)
    facets: list[str] | None = None  # None: found from the data (see find_facets)
    facet_defaults: dict = field(default_factory=dict)
    split_by: tuple[str, ...] = ()  # facets whenever they hold two values, even at no common x
    slider: str | None = None  # a facet shown as a slider (numeric values)
    slider_label: str = ""
    group_by: str | None = None
    group_labels: dict = field(default_factory=dict)
    selected: list[str] | None = None  # labels shown at first (None: all)
    styles: dict = field(default_factory=dict)  # label -> {"color", "dash", "kind": line|points|bars}
    x_log: int = 0  # 0: linear; else the log base of the x axis at first
    x_log_toggle: bool = False
    x_range: bool = False
    x_format: str = "number"  # or "pow2"
    y_log: bool = False
    rounds: str | None = None  # per-round times: ratios are paired round by round
    time: str | None = None  # the column ratios divide (a time: lower is faster)
    baseline: str | None = None
    filter: dict = field(default_factory=dict)  # column -> allowed values, for loaded files too
    compare: bool = False  # the "compare with your machine" file picker
    machine: dict | None = None  # {"label", "describe": [[label, value], ...]}
    source: str | None = None  # where the data was saved
    readout: dict | None = None  # values shown beside the plot for the current facet values
    note: str = ""

    def config(self) -> dict:
        given = [c for c in self.split_by if c in self.data and self.data[c].nunique(dropna=False) > 1]
        facets = self.facets if self.facets is not None else find_facets(
            self.data, [self.x, *self.key], exclude=self.reserved(), given=given)
        return {
            "name": self.name, "title": self.title, "note": self.note,
            "data": columns(self.data),
            "x": {"column": self.x, "label": self.x_label, "log": self.x_log, "logToggle": self.x_log_toggle,
                  "range": self.x_range, "format": self.x_format},
            "measures": [asdict(m) for m in self.measures],
            "measure": self.measure or self.measures[0].column,
            "key": self.key, "label": self.label,
            "hover": [asdict(h) for h in self.hover],
            "facets": facets, "facetDefaults": self.facet_defaults,
            "slider": self.slider, "sliderLabel": self.slider_label,
            "groupBy": self.group_by, "groupLabels": self.group_labels,
            "selected": self.selected, "styles": self.styles, "yLog": self.y_log,
            "rounds": self.rounds, "time": self.time, "baseline": self.baseline,
            "filter": self.filter, "compare": self.compare, "machine": self.machine,
            "source": self.source, "readout": self.readout,
            "format": {"name": RESULTS_FORMAT, "version": RESULTS_VERSION, "file": RESULTS_FILE},
        }

    def reserved(self) -> set[str]:
        """Columns with a role, never facets."""
        names = {self.x, self.label, *self.key, *(h.column for h in self.hover)}
        names |= {m.column for m in self.measures} | {m.roof for m in self.measures if m.roof}
        return names | {c for c in (self.rounds, self.time, self.group_by) if c}

    def html(self) -> str:
        return explorer_html(self.name, self.title, "lines", self.config())

    def _repr_html_(self) -> str:
        return self.html()


# ------------------------------------------------------------------ data


def _plain(value):
    """A JSON value: NaN and missing become null, numpy scalars Python ones."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and math.isinf(value):
        return None
    return value


def columns(frame: pd.DataFrame) -> dict[str, list]:
    """A frame as {column: values}, the form explorer.js reads."""
    return {str(name): [_plain(v) for v in frame[name].tolist()] for name in frame.columns}


def find_facets(frame: pd.DataFrame, key: list[str], exclude: set[str] = frozenset(),
                given: list[str] = ()) -> list[str]:
    """The given facets, then the columns that split a series' points at the
    same x, fewest values first.  (A protocol is given: its sizes need not
    meet the other protocol's, so no x holds both.)

    Candidates are the text and integer columns without another role.  A
    candidate is a facet when some group of rows with the same key and the same
    values of the facets found so far still holds more than one of its values;
    so a column that follows from the others (the kernels a tuned protocol
    chose, say) is not a second facet."""
    candidates = [c for c in frame.columns if c not in exclude and c not in key and c not in given
                  and not pd.api.types.is_float_dtype(frame[c]) and frame[c].map(_hashable).all()]
    candidates.sort(key=lambda c: (frame[c].nunique(dropna=False), list(frame.columns).index(c)))
    facets = list(given)
    for column in candidates:
        if frame[column].nunique(dropna=False) < 2:
            continue
        grouped = frame.groupby(key + facets, dropna=False)[column].nunique(dropna=False)
        if (grouped > 1).any():
            facets.append(column)
    return facets


def _hashable(value) -> bool:
    return not isinstance(value, (list, dict, np.ndarray))


def explorer_html(name: str, title: str, kind: str, config: dict) -> str:
    """The cell output: a container holding the JSON, a fallback line, and a
    loader that brings the scripts once per page (from the book's _static/ in the
    rendered book, through /files/ in JupyterLab) and then draws."""
    payload = json.dumps(config, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    element_id = "sx-" + re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") + "-" + _digest(payload)
    return (
        f'<div class="sx-explorer" id="{element_id}" data-kind="{kind}" data-name="{html.escape(name)}">'
        f'<script type="application/json" class="sx-config">{payload}</script>'
        f'<p class="sx-fallback"><em>{html.escape(title)}</em>: an interactive figure, drawn by the page\'s '
        "JavaScript (in the rendered book, or in JupyterLab started with <code>make lab</code>).</p></div>"
        f"<script>{_loader(element_id)}</script>"
    )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _loader(element_id: str) -> str:
    # One load per page however many explorers it has; the queue draws them in order.
    return (
        "(function(){var d=document,id=" + json.dumps(element_id) + ";"
        "function draw(){window.SoftmaxExplorers.render(d.getElementById(id));}"
        "if(window.SoftmaxExplorers){draw();return;}"
        "var q=window.__softmaxExplorerQueue=window.__softmaxExplorerQueue||[];q.push(draw);if(q.length>1)return;"
        "var root=d.documentElement.getAttribute('data-content_root'),base=null;"
        "if(root!==null){base=root+" + json.dumps(STATIC) + ";}"
        "else{var c=d.getElementById('jupyter-config-data');"
        "if(c){base=JSON.parse(c.textContent).baseUrl+'files/'+" + json.dumps(REPO_STATIC) + ";}}"
        "if(base===null)return;"
        "['uplot/uPlot.min.css','explorer/explorer.css'].forEach(function(f){var l=d.createElement('link');"
        "l.rel='stylesheet';l.href=base+f;d.head.appendChild(l);});"
        "function script(f,then){var s=d.createElement('script');s.src=base+f;s.onload=then;d.head.appendChild(s);}"
        "script('uplot/uPlot.iife.min.js',function(){script('explorer/explorer.js',function(){"
        "q.splice(0).forEach(function(f){f();});});});})();"
    )


# ------------------------------------------------------------ measurements


def machine_label(report: dict, name: str = "this book's build") -> dict:
    """How an explorer names a machine: a label and the machine's report lines."""
    return {"label": name, "cpu": report.get("cpu", {}).get("model", ""),
            "describe": [[k, str(v)] for k, v in machine.describe(report)], "date": report.get("date", "")}


def case_styles(cases) -> dict:
    """The static figures' colours and line styles (plots.case_color, case_style),
    with the narrower ISAs in a lighter shade of their algorithm's colour."""
    dashes = {"-": [], ":": [2, 3], "-.": [7, 3, 2, 3], "--": [6, 4]}
    isas = {case: m.group(1) for case in cases if (m := re.search(r"\[(\w+)\]", case))}
    widest = max(isas.values(), key=registry.ISAS.index, default=None)
    styles = {}
    for case in cases:
        color = plots.case_color(case)
        if color and isas.get(case, widest) != widest:
            color = _lighter(color)
        styles[case] = {"color": color, "dash": dashes[plots.case_style(case)]}
    return styles


def _lighter(color: str, amount: float = 0.45) -> str:
    rgb = [int(color[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * amount):02x}" for c in rgb)


def saved_folder(run) -> Path | None:
    """The results folder where `run` was saved (same machine report), if any."""
    for folder in reversed(folders.runs(machine_id=run.machine.get("id"))):
        try:
            saved = json.loads((folder / "machine.json").read_text())
        except (OSError, ValueError):
            continue
        if saved == json.loads(json.dumps(run.machine)):
            return folder
    return None


def sweep_data(run) -> pd.DataFrame:
    """plots.throughput_data of a sweep, from its samples as results.save
    writes them (missing text as ''), so that the data is the saved run's."""
    samples = folders.normalize(run.samples)
    return plots.throughput_data(analysis.summarize(samples, run.machine), samples=samples)


def measurements(run, *, name: str, title: str, groups=("algorithm",), selected: list[str] | None = None,
                 measure: str = "gelem_per_s", baseline: str | None = None, note: str = "",
                 saved: Path | None = None) -> Explorer:
    """An explorer over a sweep's measurements (kernels.bench.sweep.Run): its
    series are the cases, grouped as the sweep groups them; `selected` are shown
    at first (the chapter's static figure), the others one click away.  saved:
    the folder results.save wrote the run into (default: the latest run saved
    with the same machine report)."""
    data = sweep_data(run)
    data = data[data["group"].isin(groups)].reset_index(drop=True)
    folder = Path(saved) if saved else saved_folder(run)
    return Explorer(
        name=name, title=title, data=data, x="n", x_label="elements per row (n)", measures=MEASURES,
        measure=measure, key=["case"], label="case", hover=HOVER, group_by="group",
        group_labels={g: GROUP_LABELS.get(g, g) for g in groups}, selected=selected,
        styles=case_styles(data["case"].unique()), x_log=2, x_log_toggle=True, x_range=True, x_format="pow2",
        rounds="round_ns_per_element", time="ns_per_element", baseline=baseline,
        filter={"group": list(groups)}, compare=True, machine=machine_label(run.machine),
        source=str(folder.relative_to(folder.parents[2])) if folder else None,
        facet_defaults={"mode": "warm", "protocol": "tuned"}, split_by=("protocol",), note=note,
    )


def samples_data(samples: pd.DataFrame) -> pd.DataFrame:
    """Interleaved measurements (`timing.measure` samples with an "n" column)
    as an explorer's rows: per case and size, the median ns per element, the
    throughput, and each round's ns per element in round order (so that
    ratios pair round by round, as analysis.paired_ratio does)."""
    timed = samples.assign(ns=samples["ns_per_call"] / samples["n"]).sort_values("rep")
    grouped = timed.groupby(["case", "n"], sort=False)
    data = grouped.agg(ns_per_element=("ns", "median"), reps=("ns", "size")).reset_index()
    rounds = grouped["ns"].apply(lambda s: [float(v) for v in s])
    data["round_ns_per_element"] = [rounds[key] for key in zip(data["case"], data["n"])]
    data["gelem_per_s"] = 1.0 / data["ns_per_element"]
    return data.sort_values(["case", "n"]).reset_index(drop=True)


def over_samples(samples: pd.DataFrame, report: dict, *, name: str, title: str, styles: dict | None = None,
                 note: str = "") -> Explorer:
    """An explorer over interleaved measurements of cases across row lengths
    (`samples_data`): ns per element or throughput, any case as the baseline."""
    data = samples_data(samples)
    return Explorer(
        name=name, title=title, data=data, x="n", x_label="elements per row (n)",
        measures=[Measure("ns_per_element", "ns per element"), Measure("gelem_per_s", "throughput (10^9 elements/s)")],
        measure="ns_per_element", key=["case"], label="case", facets=[],
        hover=[Hover("ns_per_element", "ns/element"), Hover("gelem_per_s", "10^9 elements/s"), Hover("reps", "rounds")],
        styles=styles or {}, x_log=2, x_log_toggle=True, x_range=True, x_format="pow2",
        rounds="round_ns_per_element", time="ns_per_element", machine=machine_label(report), note=note,
    )


def results_data(run) -> dict:
    """The single file a reader loads into an explorer to compare machines:
    the same columns as the book's explorers, for every case of the sweep."""
    data = sweep_data(run)
    return {
        "format": RESULTS_FORMAT, "version": RESULTS_VERSION,
        "machine": machine_label(run.machine, name=run.machine.get("cpu", {}).get("model") or run.machine["id"]),
        "config": run.config_dict(), "data": columns(data),
    }


def write_results_file(run, folder: Path) -> Path:
    path = Path(folder) / RESULTS_FILE
    path.write_text(json.dumps(results_data(run), separators=(",", ":"), allow_nan=False))
    return path


# -------------------------------------------------------------- ExtExp


def exp_constants(header: Path = EXP_CONSTANTS_H) -> dict[str, float]:
    """The float constants of kernels/csrc/exp_constants.h (hex float literals),
    so that the page's ExtExp uses the kernels' constants, never a second copy."""
    found = {}
    for name, literal in re.findall(r"#define\s+(\w+)\s+(-?0x[0-9A-Fa-f.]+p[-+]?\d+)f\b", header.read_text()):
        value = float.fromhex(literal)
        if float(np.float32(value)) != value:
            raise ValueError(f"{name} = {literal} in {header} is not a float32")
        found[name] = value
    return found


def extexp(variant_name: str, presets: list[float], x: float = 1.0) -> str:
    """The ExtExp explorer: type any x (or press a preset) and see every step of
    the kernels' ExtExp (n, t, the polynomial's m, their float32 bits, e^x as
    m * 2^n and its relative error), computed in the page in exact float32
    arithmetic.  `x` is shown first; keep it out of `presets`, so that every
    preset changes something."""
    if x in presets:
        raise ValueError(f"the first x ({x}) is also a preset: that button would do nothing at first")
    config = {"name": "extexp", "title": "ExtExp, step by step", "variant": variant_name,
              "constants": exp_constants(), "presets": [float(p) for p in presets], "x": float(x)}
    return explorer_html("extexp", config["title"], "extexp", config)


class _HTML:
    """A displayable text/html output (IPython's HTML warns about <script>)."""

    def __init__(self, text: str):
        self.text = text

    def _repr_html_(self) -> str:
        return self.text


def show(explorer_or_html) -> _HTML:
    """The object to display (or leave as a cell's last value)."""
    text = explorer_or_html.html() if isinstance(explorer_or_html, Explorer) else explorer_or_html
    return _HTML(text)


__all__ = ["Explorer", "Measure", "Hover", "measurements", "over_samples", "samples_data", "results_data", "write_results_file", "extexp",
           "exp_constants", "find_facets", "columns", "show"]
