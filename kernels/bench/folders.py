"""Where saved sweeps live and how their text columns read back: the layer
under both kernels.bench.results (which saves and loads runs) and
kernels.bench.explorer (which finds the folder a run was saved in)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

RESULTS_ENV = "SOFTMAX_RESULTS"


def results_root() -> Path:
    """$SOFTMAX_RESULTS, else results/ at the repository root (or the cwd)."""
    if os.environ.get(RESULTS_ENV):
        return Path(os.environ[RESULTS_ENV])
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "_config.yml").exists() and (parent / "kernels").is_dir():
            return parent / "results"
    return Path.cwd() / "results"


NUMERIC_COLUMNS = {"n", "rows", "rep", "calls", "ns_per_call", "max_rel_error"}


def normalize(df: pd.DataFrame) -> pd.DataFrame:
    """Numbers as numbers; every other column as text with '' for missing."""
    df = df.copy()
    for column in df.columns:
        if column in NUMERIC_COLUMNS:
            df[column] = pd.to_numeric(df[column])
        else:
            df[column] = df[column].astype(object).where(df[column].notna(), "").astype(str)
    return df


def runs(root: Path | None = None, machine_id: str | None = None) -> list[Path]:
    """Saved runs, oldest first (optionally of one machine)."""
    root = Path(root) if root else results_root()
    pattern = f"{machine_id}/*" if machine_id else "*/*"
    return sorted((p for p in root.glob(pattern) if (p / "samples.csv").exists()), key=lambda p: p.name)
