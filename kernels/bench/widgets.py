"""The interactive benchmark panel of the measurement chapters.

A log2 size-range slider, algorithm / ISA / variant selectors, repetitions,
warm or cold cache, and a Run button that re-measures with the same harness
as the book (kernels.bench.sweep), with a progress bar, then redraws the
figure and the table. In the static book the panel renders from its saved
state but cannot run: measuring needs a live Jupyter kernel.
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

STATIC_NOTE = (
    "*In the static book these controls do not run anything: measuring needs a live kernel. "
    "Open this chapter in Jupyter (see the README: `make book` sets up `.venv`, then "
    "`.venv/bin/jupyter lab`), run it, and press **Run**.*"
)


class Panel:
    """The widgets, and the measurement they trigger."""

    def __init__(self, algorithms=None, isas=None, log2_range=(10, 22), reps=5, variants="tuned",
                 peers=True, title="Re-measure on this machine"):
        available = list(api.available_isas())
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
            display(Markdown(STATIC_NOTE))

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
            show(samples, machine.report(), config.isas[0], self.output)
        finally:
            self.run_button.disabled = False


def show(samples: pd.DataFrame, report: dict, isa: str, output: W.Output) -> None:
    """Redraws the throughput figure and the table in the panel's output."""
    summary = analysis.summarize(samples)
    cases = plots.algorithm_cases(summary, isa)
    with output:
        output.clear_output(wait=True)
        fig, _ = plots.throughput(summary, report, cases, mode=samples["mode"].iloc[0])
        plt.show(fig)
        table = summary[summary["case"].isin(cases)].pivot_table(index="n", columns="case", values="ns_per_element")
        display(table.style.format("{:.3f}").set_caption("ns per element (median)"))


def panel(**kwargs) -> W.VBox:
    """Builds the panel; display the returned widget."""
    return Panel(**kwargs).widget
