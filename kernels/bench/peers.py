"""Peer softmax implementations measured beside the kernels.

A `Peer` is one library's softmax over a 1-d float32 row, in up to two forms
that match the two ways of calling `kernels.softmax`, so that every
comparison is like with like:

  * ``into(x, y)`` writes into a preallocated output, like
    ``kernels.softmax(x, out=y)``;
  * ``allocating(x)`` returns a new array, like ``kernels.softmax(x)``.

The benchmark converts its numpy buffers once with ``prepare`` (untimed; for
torch a tensor sharing the memory) and results back with ``to_numpy``, and
calls ``enter`` before each timed batch (torch: set its thread count, so that
one run can hold the same library at several thread counts).

Adding a peer is writing one factory ``f(threads) -> Peer | None`` (None when
the library is not installed) and appending it to `FACTORIES`; for example an
ONNX Runtime peer would build an InferenceSession holding one Softmax node,
with ``into`` binding y as the session's output (io_binding) and
``allocating`` calling ``session.run``.  torch is optional (`pip install
torch==2.13.0`, the CPU build).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import Callable

import numpy as np

OUT = "out="
ALLOCATING = "allocating"


def _same(array):
    return array


@dataclass(frozen=True)
class Peer:
    name: str
    version: str
    threads: int | None = None  # threads it was told to use; None: single-threaded by design
    into: Callable | None = None
    allocating: Callable | None = None
    prepare: Callable = _same
    to_numpy: Callable = np.asarray
    enter: Callable | None = None

    def forms(self) -> dict[str, Callable]:
        """{OUT: into, ALLOCATING: allocating}, for the forms this peer has."""
        return {form: fn for form, fn in ((OUT, self.into), (ALLOCATING, self.allocating)) if fn is not None}

    def softmax(self, x: np.ndarray) -> np.ndarray:
        """One untimed call (for accuracy measurements), as float64."""
        if self.enter is not None:
            self.enter()
        if self.into is not None:
            y = np.empty_like(x)
            self.into(self.prepare(x), self.prepare(y))
            return y.astype(np.float64)
        return np.asarray(self.to_numpy(self.allocating(self.prepare(x))), np.float64)

    def describe(self) -> dict:
        return {"name": self.name, "version": self.version, "threads": self.threads, "forms": list(self.forms())}


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


# ------------------------------------------------------------- the peers


def numpy_into(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The vectorised numpy softmax: max, subtract, exp and scale, all in y."""
    np.subtract(x, x.max(), out=y)
    np.exp(y, out=y)
    y *= np.float32(1.0) / y.sum(dtype=np.float64)
    return y


def numpy_allocating(x: np.ndarray) -> np.ndarray:
    """The same operations into an output allocated by the call."""
    return numpy_into(x, np.empty_like(x))


def numpy_peer(threads: int) -> Peer:
    return Peer("numpy", _version("numpy"), into=numpy_into, allocating=numpy_allocating)


def scipy_peer(threads: int) -> Peer | None:
    try:
        from scipy.special import softmax
    except ImportError:
        return None
    # scipy.special.softmax has no out= argument: it allocates its result and temporaries.
    return Peer("scipy", _version("scipy"), allocating=softmax)


def torch_peer(threads: int) -> Peer | None:
    try:
        import torch
    except ImportError:
        return None

    def into(x, y):
        return torch.softmax(x, -1, out=y)

    def allocating(x):
        return torch.softmax(x, -1)

    return Peer("torch", _version("torch"), threads=threads, into=into, allocating=allocating,
                prepare=torch.from_numpy, to_numpy=lambda t: t.numpy(),
                enter=lambda: torch.set_num_threads(threads))


FACTORIES: list[Callable[[int], Peer | None]] = [numpy_peer, scipy_peer, torch_peer]


def peers(threads: int = 1) -> dict[str, Peer]:
    """name -> Peer, for every installed peer; threads for those that use them."""
    found = (factory(threads) for factory in FACTORIES)
    return {peer.name: peer for peer in found if peer is not None}


def torch_available() -> bool:
    return bool(_version("torch"))


def peer_versions(threads: int = 1) -> dict:
    """name -> version of every installed peer (and torch's thread count)."""
    out = {peer.name: peer.version for peer in peers(threads).values()}
    if "torch" in out:
        out["torch threads"] = threads
    return out

