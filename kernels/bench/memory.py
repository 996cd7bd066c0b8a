"""Peak memory of kernels.softmax: nothing beyond the output array.

Measured with tracemalloc, which sees numpy's buffers (the C kernels allocate
nothing): the peak of Python-traced allocations during one call, beside the
input and output sizes.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from .. import api, registry


def peak_extra_bytes(algorithm: str, isa: str, x: np.ndarray, in_place: bool = False) -> int:
    """Bytes allocated at peak during one softmax call, beyond its output array
    (which is allocated by the call unless out= is given)."""
    out = x if in_place else None
    plan = api.Plan(algorithm, isa)
    plan(x.copy() if in_place else x)  # warm up: compile, plan, page in
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        plan(x, out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - (0 if in_place else x.nbytes)


def measure(n: int, isas, seed: int = 0) -> list[dict]:
    x = np.random.default_rng(seed).uniform(-10, 10, n).astype(np.float32)
    rows = []
    for isa in isas:
        for algorithm in registry.ALGORITHMS:
            rows.append({"n": n, "algorithm": algorithm, "isa": isa, "input bytes": x.nbytes,
                         "output bytes": x.nbytes,
                         "extra bytes (out of place)": peak_extra_bytes(algorithm, isa, x),
                         "extra bytes (in place)": peak_extra_bytes(algorithm, isa, x.copy(), in_place=True)})
    return rows
