"""Peer softmax implementations measured beside the kernels.

Each peer is f(x, y) for a 1-d float32 row; the ones that cannot write into y
return a new array (that allocation is part of their cost, as in real use).
torch is optional (`pip install torch==2.13.0`, the CPU build); it is told how
many threads to use, and the results record it.
"""

from __future__ import annotations

import numpy as np


def numpy_softmax(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The vectorised numpy softmax: max, subtract, exp and scale, all in y."""
    np.subtract(x, x.max(), out=y)
    np.exp(y, out=y)
    y *= np.float32(1.0) / y.sum(dtype=np.float64)
    return y


def scipy_softmax(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    from scipy.special import softmax

    return softmax(x)


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def make_torch_softmax(threads: int = 1):
    import torch

    torch.set_num_threads(threads)

    def torch_softmax(x: np.ndarray, y: np.ndarray):
        return torch.softmax(torch.from_numpy(x), dim=-1)

    torch_softmax.threads = threads
    return torch_softmax


def peers(threads: int = 1) -> dict:
    """name -> callable, with torch only when it is installed."""
    out = {"numpy": numpy_softmax, "scipy": scipy_softmax}
    if torch_available():
        out["torch"] = make_torch_softmax(threads)
    return out


def peer_versions(threads: int = 1) -> dict:
    from importlib import metadata

    out = {}
    for name in ("numpy", "scipy", "torch"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    if "torch" in out:
        out["torch threads"] = threads
    return out


def as_numpy(result) -> np.ndarray:
    """A peer's result as a float64 numpy array."""
    if hasattr(result, "numpy"):
        result = result.numpy()
    return np.asarray(result, np.float64)
