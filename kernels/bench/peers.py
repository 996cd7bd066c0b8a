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
the library is not installed) and appending it to `FACTORIES`.  ``threads``
is a thread count, or None for the library's own default.  Every peer
computes along the last axis, so it takes a single row or a batch of rows
(`kernels.bench.shapes`).  torch, onnx and onnxruntime are optional (the
``torch`` extra: `pip install -e ".[torch]"`, CPU builds).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import metadata
from typing import Callable

import numpy as np

OUT = "out="
ALLOCATING = "allocating"
SOFTMAX, LOG_SOFTMAX = "softmax", "log_softmax"  # the ops a peer computes
ONNX_OPS = {SOFTMAX: "Softmax", LOG_SOFTMAX: "LogSoftmax"}


def _same(array):
    return array


@dataclass(frozen=True)
class Peer:
    name: str
    version: str
    threads: int | None = None  # threads it was told to use; None: its default (numpy, scipy: one)
    into: Callable | None = None
    allocating: Callable | None = None
    prepare: Callable = _same
    to_numpy: Callable = np.asarray
    enter: Callable | None = None

    def forms(self) -> dict[str, Callable]:
        """{OUT: into, ALLOCATING: allocating}, for the forms this peer has."""
        return {form: fn for form, fn in ((OUT, self.into), (ALLOCATING, self.allocating)) if fn is not None}

    def softmax(self, x: np.ndarray) -> np.ndarray:
        """One untimed call of its op (for accuracy measurements), as float64."""
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
    """The vectorised numpy softmax along the last axis: max, subtract, exp
    and scale, all in y."""
    np.subtract(x, x.max(axis=-1, keepdims=True), out=y)
    np.exp(y, out=y)
    y *= np.float32(1.0) / y.sum(axis=-1, keepdims=True, dtype=np.float64)
    return y


def numpy_allocating(x: np.ndarray) -> np.ndarray:
    """The same operations into an output allocated by the call."""
    return numpy_into(x, np.empty_like(x))


def numpy_peer(threads: int | None) -> Peer:
    return Peer("numpy", _version("numpy"), into=numpy_into, allocating=numpy_allocating)


def scipy_peer(threads: int | None, op: str = SOFTMAX) -> Peer | None:
    try:
        import scipy.special
    except ImportError:
        return None
    # scipy.special.softmax (and log_softmax) has no out= argument: it
    # allocates its result and temporaries.  Its default axis is None (the
    # whole array): rows need -1.
    return Peer("scipy", _version("scipy"), allocating=functools.partial(getattr(scipy.special, op), axis=-1))


@functools.cache
def torch_default_threads() -> int:
    """torch's own thread count, read once, at the first use of a torch peer
    (before any peer sets it)."""
    import torch

    return torch.get_num_threads()


def restore_default_threads() -> None:
    """Gives torch back its own thread count, after peers that set theirs."""
    if torch_default_threads.cache_info().currsize:  # a torch peer was made
        import torch

        torch.set_num_threads(torch_default_threads())


def torch_peer(threads: int | None, op: str = SOFTMAX) -> Peer | None:
    """torch.softmax (or torch.log_softmax) along the last axis; threads=None:
    torch's default count."""
    try:
        import torch
    except ImportError:
        return None
    threads = torch_default_threads() if threads is None else threads
    function = getattr(torch, op)

    def into(x, y):
        return function(x, -1, out=y)

    def allocating(x):
        return function(x, -1)

    return Peer("torch", _version("torch"), threads=threads, into=into, allocating=allocating,
                prepare=torch.from_numpy, to_numpy=lambda t: t.numpy(),
                enter=lambda: torch.set_num_threads(threads))


def onnx_softmax_model(rank: int = 2, opset: int = 13, op: str = SOFTMAX):
    """An ONNX model of one Softmax (or LogSoftmax) node along the last axis:
    float32 input "x" of `rank` dimensions of any size (named d0, d1, ...: a
    dynamic shape), output "y" of the same shape."""
    from onnx import TensorProto, checker, helper

    dims = [f"d{i}" for i in range(rank)]
    node = helper.make_node(ONNX_OPS[op], ["x"], ["y"], axis=-1)
    graph = helper.make_graph([node], "softmax", [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    # The onnx package writes its newest IR version, which ONNX Runtime may
    # not read yet; version 8 (ONNX 1.10) is what opset 13 needs.
    model.ir_version = 8
    checker.check_model(model)
    return model


def onnxruntime_session(rank: int = 2, threads: int | None = None, op: str = SOFTMAX):
    """An InferenceSession of `onnx_softmax_model(rank, op=op)` on the CPU provider;
    threads=None leaves intra_op_num_threads at ORT's default (0: one per
    physical core)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(onnx_softmax_model(rank, op=op).SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


class _OnnxRuntime:
    """ONNX Runtime's two forms, with one session per input rank (made at the
    first call of that rank; an ONNX graph fixes the rank, not the sizes).

    out=: an io_binding points the session's input and output at the numpy
    buffers, so that `run_with_iobinding` reads x and writes y in place.  One
    binding per (x, y) pair, made at its first call and reused (as a caller
    that reuses its buffers would); the arrays are held so that their ids
    stay theirs.  allocating: `session.run`, which returns a new array."""

    LIMIT = 64

    def __init__(self, threads: int | None, op: str = SOFTMAX):
        self.threads, self.op = threads, op
        self.sessions: dict[int, object] = {}
        self.bindings: dict[tuple[int, int], tuple] = {}

    def session(self, rank: int):
        if rank not in self.sessions:
            self.sessions[rank] = onnxruntime_session(rank, self.threads, self.op)
        return self.sessions[rank]

    def into(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        held = self.bindings.get((id(x), id(y)))
        if held is None:
            held = self.bindings[(id(x), id(y))] = (x, y, self._bind(x, y))
            if len(self.bindings) > self.LIMIT:
                self.bindings.pop(next(iter(self.bindings)))
        self.session(x.ndim).run_with_iobinding(held[2])
        return y

    def allocating(self, x: np.ndarray) -> np.ndarray:
        return self.session(x.ndim).run(None, {"x": x})[0]

    def _bind(self, x: np.ndarray, y: np.ndarray):
        if x.shape != y.shape or not (x.flags.c_contiguous and y.flags.c_contiguous):
            raise ValueError("ONNX Runtime binds C-contiguous buffers of one shape only")
        if not x.dtype == y.dtype == np.float32:
            raise ValueError("the ONNX model is float32")
        binding = self.session(x.ndim).io_binding()
        binding.bind_input("x", "cpu", 0, np.float32, list(x.shape), x.ctypes.data)
        binding.bind_output("y", "cpu", 0, np.float32, list(y.shape), y.ctypes.data)
        return binding


def onnxruntime_peer(threads: int | None, op: str = SOFTMAX) -> Peer | None:
    """ONNX Runtime (CPU provider) running one Softmax (or LogSoftmax) node;
    threads=None: ORT's default intra-op thread count."""
    if not onnxruntime_available():
        return None
    ort = _OnnxRuntime(threads, op)
    return Peer("onnxruntime", _version("onnxruntime"), threads=threads, into=ort.into, allocating=ort.allocating)


FACTORIES: list[Callable[[int | None], Peer | None]] = [numpy_peer, scipy_peer, torch_peer, onnxruntime_peer]
LOG_FACTORIES: list[Callable[[int | None], Peer | None]] = [
    functools.partial(factory, op=LOG_SOFTMAX) for factory in (scipy_peer, torch_peer, onnxruntime_peer)]
"""The peers of log_softmax (numpy has none)."""


def peers(threads: int | None = 1, op: str = SOFTMAX) -> dict[str, Peer]:
    """name -> Peer, for every installed peer of op; threads for those that use them."""
    found = (factory(threads) for factory in (FACTORIES if op == SOFTMAX else LOG_FACTORIES))
    return {peer.name: peer for peer in found if peer is not None}


def torch_available() -> bool:
    return bool(_version("torch"))


def onnxruntime_available() -> bool:
    return bool(_version("onnxruntime") and _version("onnx"))


def peer_versions(threads: int = 1) -> dict:
    """name -> version of every installed peer (and torch's thread count)."""
    out = {peer.name: peer.version for peer in peers(threads).values()}
    if "torch" in out:
        out["torch threads"] = threads
    return out

