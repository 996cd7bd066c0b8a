"""Per-machine kernel choices: which variant each pass uses, per ISA, algorithm
and size class.

`python -m kernels.bench tune` measures and stores them; `kernels.softmax` and
`kernels.Plan.tuned` read them. Without a stored choice the registry's
defaults apply. Choices are stored per CPU (the same fingerprint that keys the
compiled kernels), in the kernel cache folder.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from . import build, registry

SIZE_CLASSES = ("in-cache", "out-of-cache")


def choices_path() -> Path:
    digest = hashlib.sha256(build.cpu_fingerprint().encode()).hexdigest()[:16]
    return build.cache_root() / "tuned" / f"{digest}.json"


@functools.cache
def _stored() -> dict:
    path = choices_path()
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def forget_cached_choices() -> None:
    """Re-read the stored choices on next use (after `tune` wrote new ones)."""
    from . import api

    _stored.cache_clear()
    _llc_bytes.cache_clear()
    in_cache_row_limit.cache_clear()
    api.forget_plans()


def save(choices: dict, meta: dict) -> Path:
    path = choices_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "choices": choices}, indent=2))
    forget_cached_choices()
    return path


def stored_variants(algorithm: str, isa: str, size_class: str) -> dict[str, str] | None:
    """{family: variant name} stored for this machine, or None."""
    return _stored().get("choices", {}).get(isa, {}).get(algorithm, {}).get(size_class)


@functools.cache
def _llc_bytes() -> int:
    from .bench import machine

    caches = machine.caches_linux() if Path("/sys/devices/system/cpu").exists() else machine.caches_macos()
    return machine.last_level_cache(caches) or 32 << 20


@functools.cache
def in_cache_row_limit() -> int:
    """The longest row whose input and output fit in half the last-level cache."""
    return _llc_bytes() // 16


def size_class(n: int) -> str:
    return "in-cache" if n <= in_cache_row_limit() else "out-of-cache"


def variants_for(algorithm: str, isa: str, n: int | None = None) -> dict[str, registry.Variant]:
    """Tuned variants when stored (for n's size class; out-of-cache when n is None)."""
    stored = stored_variants(algorithm, isa, size_class(n) if n is not None else "out-of-cache")
    if not stored:
        return {}
    return {family: registry.lookup(name) for family, name in stored.items() if name in registry.BY_NAME}


def plan(algorithm: str, isa: str, n: int | None = None):
    """A Plan with this machine's tuned variants (registry defaults when untuned)."""
    from .api import Plan

    return Plan(algorithm, isa, variants_for(algorithm, isa, n))
