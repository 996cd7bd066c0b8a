"""The interactive benchmark panel of the measurement chapters.

A log2 size-range slider, algorithm / ISA / variant selectors, repetitions,
warm or cold cache, and a Run button that re-measures with the same harness
as the book (kernels.bench.sweep), with a progress bar, then redraws the
figure (the fresh measurement solid, the chapter's own dashed) and the table.
Measuring needs a live kernel, so the chapters tag the panel's cell
`remove-output`: the rendered book shows an explorer over the build's
measurements instead (kernels.bench.explorer), and Jupyter shows the panel.
"""

from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from .. import api, registry
from . import analysis, machine, plots
from .sweep import SweepConfig, cases_at, row_input
from .timing import Buffers, measure

START_NOTE = (
    "*Choose what to measure and press **Run**: the figure will draw this measurement (solid) beside the "
    "one the chapter made above (dashed, when given), on the same axes.*"
)


class Panel:
    """The widgets, and the measurement they trigger."""

    def __init__(self, algorithms=None, isas=None, log2_range=(10, 22), reps=5, variants="tuned",
                 peers=True, title="Re-measure on this machine", saved: pd.DataFrame | None = None):
        available = list(api.available_isas())
        self.saved = saved  # the chapter's summary (analysis.summarize), drawn dashed beside a fresh run
        self.algorithms = W.SelectMultiple(options=list(registry.ALGORITHMS),
                                           value=tuple(algorithms or registry.ALGORITHMS),
                                           description="algorithms", rows=4)
        self.isa = W.Dropdown(options=available, value=(isas or [available[-1]])[0], description="ISA")
        self.variants = W.Dropdown(options=["tuned", "default"], value=variants, description="kernels")
        self.sizes = W.IntRangeSlider(value=log2_range, min=8, max=26, step=1, description="log2 n",
                                      continuous_update=False)
        self.reps = W.IntSlider(value=reps, min=1, max=25, description="rounds")
        self.cache = W.ToggleButtons(options=["warm", "cold"], value="warm", description="cache")
        self.peers = W.Checkbox(value=peers, description="numpy / scipy / torch")
        self.run_button = W.Button(description="Run", button_style="primary")
        self.progress = W.IntProgress(value=0, min=0, max=1, description="progress")
        self.output = W.Output()
        self.run_button.on_click(lambda _: self.run())
        controls = W.VBox([
            W.HTML(f"<b>{title}</b>"),
            W.HBox([self.algorithms, W.VBox([self.isa, self.variants, self.cache])]),
            self.sizes, self.reps, self.peers,
            W.HBox([self.run_button, self.progress]),
        ])
        self.widget = W.VBox([controls, self.output])
        with self.output:
            display(Markdown(START_NOTE))

    def config(self) -> SweepConfig:
        lo, hi = self.sizes.value
        return SweepConfig(sizes=[1 << k for k in range(lo, hi + 1)], algorithms=list(self.algorithms.value),
                           isas=[self.isa.value], variants=self.variants.value, modes=[self.cache.value],
                           reps=self.reps.value, target_ms=1.0, passes=False, bandwidth=True,
                           peers=self.peers.value, accuracy_sizes=[], memory_size=0)

    def measure(self, config: SweepConfig) -> pd.DataFrame:
        """The samples of a sweep without the machine-wide extras (fast)."""
        report = machine.report()
        llc = machine.last_level_cache(report)
        rng = np.random.default_rng(config.seed)
        self.progress.max, self.progress.value = len(config.sizes) * config.reps, 0
        samples = []

        class Tick:
            def update(inner, k):
                self.progress.value += k

        for n in config.sizes:
            buffers = Buffers(row_input(n, config.seed), config.modes[0], llc)
            rows = measure(cases_at(config, buffers.x), buffers, config.reps, config.target_ms * 1e6, rng, Tick())
            for row in rows:
                row.update(n=n, mode=config.modes[0])
            samples.extend(rows)
        return pd.DataFrame(samples)

    def run(self):
        config = self.config()
        self.run_button.disabled = True
        try:
            samples = self.measure(config)
            show(samples, machine.report(), config.isas[0], self.output, saved=self.saved)
        finally:
            self.run_button.disabled = False


def show(samples: pd.DataFrame, report: dict, isa: str, output: W.Output, saved: pd.DataFrame | None = None) -> None:
    """Redraws the throughput figure and the table in the panel's output: the
    fresh measurement solid, the saved one (a summary) dashed and lighter."""
    summary = analysis.summarize(samples)
    cases = plots.algorithm_cases(summary, isa)
    mode = samples["mode"].iloc[0]
    with output:
        output.clear_output(wait=True)
        fig, ax = plots.throughput(summary, report, cases, mode=mode, roofs=False)
        if saved is not None:
            before = plots.throughput_data(saved, cases)
            before = before[before["mode"] == mode]
            for case, d in before.groupby("case"):
                ax.plot(d["n"], d["gelem_per_s"], ls="--", lw=1.2, alpha=0.6, color=plots.case_color(case),
                        label=f"{case} (chapter)")
            plots.outside_legend(ax)
        plt.show(fig)
        table = summary[summary["case"].isin(cases)].pivot_table(index="n", columns="case", values="ns_per_element")
        display(table.style.format("{:.3f}").set_caption("ns per element (median), this run"))


def panel(**kwargs) -> W.VBox:
    """Builds the panel; display the returned widget."""
    return Panel(**kwargs).widget
