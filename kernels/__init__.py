"""Softmax kernels for the Two-Pass Softmax book.

Four float32 softmax algorithms (three-pass with recomputing, three-pass with
reloading, Dukhan & Ablavatski's two-pass, and the online softmax of Milakov &
Gimelshein) as scalar, AVX2 and AVX-512F kernels, compiled on first use from the
single sources in ``kernels/csrc`` (see ``kernels.build``), along any axis, on
every core (OpenMP), with ``algorithm="auto"`` picking one per shape;
``log_softmax`` runs the same algorithms' reductions, then y = x - log(sum).

>>> import numpy as np, kernels
>>> y = kernels.softmax(np.array([1, 2, 3], np.float32))
"""

from .api import (
    Plan,
    UnsupportedISAError,
    available_isas,
    choose_algorithm,
    default_threads,
    get_kernel,
    max_threads,
    resolve_isa,
    softmax,
)
from .logsoftmax import log_softmax
from .registry import ALGORITHMS, ISAS, VARIANTS, Variant

__all__ = [
    "ALGORITHMS",
    "ISAS",
    "Plan",
    "UnsupportedISAError",
    "VARIANTS",
    "Variant",
    "available_isas",
    "choose_algorithm",
    "default_threads",
    "get_kernel",
    "log_softmax",
    "max_threads",
    "resolve_isa",
    "softmax",
]
