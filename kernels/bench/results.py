"""Saving and loading sweep results: results/<machine-id>/<timestamp>/.

Beside the samples, each folder holds explorer.json: the figures' data in one
file that the book's explorers load to compare this machine with the book's."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .folders import NUMERIC_COLUMNS, RESULTS_ENV, normalize, results_root, runs  # noqa: F401  (re-exported)
from .sweep import Run, SweepConfig


def save(run: Run, root: Path | None = None, tag: str = "", explorer: bool = True) -> Path:
    """Writes the run into a new folder root/<machine-id>/<timestamp>[-tag];
    explorer=False: without the explorers' file (runs other than sweeps)."""
    root = Path(root) if root else results_root()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    folder = root / run.machine["id"] / (stamp + (f"-{tag}" if tag else ""))
    folder.mkdir(parents=True, exist_ok=False)
    (folder / "machine.json").write_text(json.dumps(run.machine, indent=2))
    (folder / "config.json").write_text(json.dumps(run.config_dict(), indent=2))
    run.samples.to_csv(folder / "samples.csv", index=False)
    if run.accuracy is not None and len(run.accuracy):
        run.accuracy.to_csv(folder / "accuracy.csv", index=False)
    if run.memory is not None and len(run.memory):
        run.memory.to_csv(folder / "memory.csv", index=False)
    if explorer:
        from .explorer import write_results_file  # the one file a book's explorer loads (lazy: plotting code)

        write_results_file(run, folder)
    return folder


def kind(folder: Path) -> str:
    """What measured a saved folder: "sweep", or the "kind" its config names (e.g. "shapes")."""
    return json.loads((Path(folder) / "config.json").read_text()).get("kind", "sweep")


def load(folder: Path) -> Run:
    folder = Path(folder)
    known = SweepConfig.__dataclass_fields__
    config = SweepConfig(**{k: v for k, v in json.loads((folder / "config.json").read_text()).items() if k in known})
    machine = json.loads((folder / "machine.json").read_text())
    samples = normalize(pd.read_csv(folder / "samples.csv", dtype=str, keep_default_na=False))
    acc_path = folder / "accuracy.csv"
    acc = normalize(pd.read_csv(acc_path, dtype=str, keep_default_na=False)) if acc_path.exists() else pd.DataFrame()
    mem_path = folder / "memory.csv"
    mem = pd.read_csv(mem_path) if mem_path.exists() else pd.DataFrame()
    return Run(config, machine, samples, acc, mem)


def latest(root: Path | None = None, machine_id: str | None = None) -> Path:
    found = runs(root, machine_id)
    if not found:
        raise FileNotFoundError(f"no saved sweep under {Path(root) if root else results_root()}; run "
                                "`python -m kernels.bench sweep` first")
    return found[-1]
