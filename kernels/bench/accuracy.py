"""Accuracy of every algorithm and peer against a float64 reference."""

from __future__ import annotations

import numpy as np

from .. import api, registry
from . import peers as peer_module

FLOOR = 1e-30  # outputs below this are not compared (they may be flushed)


def reference(x: np.ndarray) -> np.ndarray:
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max())
    return e / e.sum()


def max_relative_error(y, ref: np.ndarray) -> float:
    y = np.asarray(y, np.float64)
    mask = ref >= FLOOR
    return float(np.max(np.abs(y[mask] - ref[mask]) / ref[mask]))


def inputs(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "uniform(-10,10)": rng.uniform(-10, 10, n).astype(np.float32),
        "normal(0,10)": rng.normal(0, 10, n).astype(np.float32),
    }


def measure(sizes, isas=None, include_peers: bool = True, threads: int = 1, seed: int = 0) -> list[dict]:
    """Max relative error per (size, distribution, implementation)."""
    rows = []
    isas = isas or [api.available_isas()[-1]]
    others = peer_module.peers(threads) if include_peers else {}
    for n in sizes:
        for dist, x in inputs(n, seed).items():
            ref = reference(x)
            y = np.empty_like(x)
            for algorithm in registry.ALGORITHMS:
                for isa in isas:
                    api.Plan(algorithm, isa)(x, y)
                    rows.append({"n": n, "distribution": dist, "implementation": algorithm, "isa": isa,
                                 "max_rel_error": max_relative_error(y, ref)})
            for name, peer in others.items():
                rows.append({"n": n, "distribution": dist, "implementation": name, "isa": "",
                             "max_rel_error": max_relative_error(peer.softmax(x), ref)})
    return rows
