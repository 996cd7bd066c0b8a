"""Helpers the book's notebooks share: quick mode, the %%cython setup, glue.

Notebooks read ``BOOK_QUICK=1`` (set by the test suite) to shrink their sizes;
the book build runs them at full size.
"""

from __future__ import annotations

import os

QUICK_ENV = "BOOK_QUICK"


def quick() -> bool:
    """True when notebooks should run at test sizes."""
    return os.environ.get(QUICK_ENV, "") not in ("", "0")


def pick(full, quick_value):
    """`full` in the book build, `quick_value` under the test suite."""
    return quick_value if quick() else full


def setup_cython(isa: str = "scalar") -> str:
    """Loads the %%cython magic (made to raise on compile errors) and returns
    the line arguments that compile `isa` kernels exactly like the library."""
    from IPython import get_ipython

    from . import build

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("setup_cython() needs a running IPython kernel")
    build.make_cython_magic_strict(shell)
    return build.cython_magic_args(isa)


def setup_block(report: dict | None = None, extra: list[tuple[str, str]] | None = None):
    """The chapter's 'Experimental setup' box, generated from this machine."""
    import html

    from IPython.display import HTML

    from .bench import machine

    report = report or machine.report()
    items = "".join(
        f"<li><b>{html.escape(label)}</b>: {html.escape(str(value))}</li>"
        for label, value in machine.describe(report) + list(extra or [])
    )
    return HTML(
        '<div class="admonition note experimental-setup"><p class="admonition-title">Experimental setup</p>'
        f"<ul>{items}</ul></div>"
    )


def glue(name: str, value, display: bool = False):
    """myst_nb.glue, imported lazily so the library does not require myst-nb."""
    from myst_nb import glue as _glue

    return _glue(name, value, display=display)


ISA_NAMES = {"scalar": "scalar C", "avx2": "AVX2+FMA", "avx512f": "AVX-512F"}


def measured_on(report: dict, isas=None, sizes=None, threads=None, caches: bool = False, kernels=None,
                protocol: str | None = None) -> str:
    """A figure caption's second sentence: where, with what and at which sizes
    its data were measured, under which protocol (a phrase, from
    kernels.bench.sweep.describe_protocol), the kernels that ran ({label:
    kernels}), and what the dashed verticals of plots.mark_caches mean
    (`caches`)."""
    cpu = report["cpu"]
    text = f"Measured on {cpu['model']} (family/model {cpu['family_model']})"
    if isas:
        isas = [isas] if isinstance(isas, str) else list(isas)
        text += " with " + " and ".join(ISA_NAMES.get(isa, isa) for isa in isas)
    if sizes:
        low, high = min(sizes), max(sizes)
        text += f", n = {low:,}" + (f" to {high:,} elements" if high != low else " elements")
    if threads:
        threads = [threads] if isinstance(threads, int) else sorted(set(threads))
        count = " and ".join(str(t) for t in threads)
        text += f", on {count} thread{'s' if threads[-1] > 1 else ''}"
    text += "."
    if protocol:
        text += f" Protocol: {protocol}."
    if kernels:
        text += " Kernels: " + "; ".join(f"{label}: {names}" for label, names in kernels.items()) + "."
    if caches:
        text += " Dashed verticals: where two arrays of n floats fill each cache level."
    return text


def plan_kernels(summary, cases) -> dict:
    """{case: its kernels} of a sweep's summary (the 'variant' column: the
    passes' variant names, joined by '+'), for measured_on's `kernels`; where
    the tuned plan changes with the size class, each plan from the first size
    that ran it."""
    out = {}
    for case in cases:
        rows = summary[summary["case"] == case].sort_values("n").drop_duplicates("variant")
        plans = [v.replace("+", " + ") if i == 0 else f"from n = {n:,}, {v.replace('+', ' + ')}"
                 for i, (n, v) in enumerate(zip(rows["n"], rows["variant"]))]
        if plans:
            out[case] = ", ".join(plans)
    return out


def glue_caption(key: str, report: dict, **where) -> None:
    """Glues measured_on(report, **where) under `key`, for a caption's
    {glue:text} role."""
    glue(key, measured_on(report, **where))
