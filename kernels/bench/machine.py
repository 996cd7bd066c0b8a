"""The machine report: what the numbers were measured on, read from the machine.

CPU model, ISA flags, cores and cache sizes are the library's machine facts
(`kernels.machine`, re-exported here); this adds the frequency policy,
compiler and package versions.  Anything that cannot be read is reported as
None ("unknown"), never guessed. The measured bandwidths and whether plain
stores cost a read for ownership are added by `kernels.bench.sweep`.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from .. import build
from ..machine import (INTERESTING_FLAGS, _read, cache_size, caches, caches_linux, caches_macos, cpu,  # noqa: F401
                       cpu_linux, cpu_macos, last_level_cache, parse_size, usable_cpus)

PACKAGES = ("numpy", "cython", "scipy", "pandas", "matplotlib", "torch", "jupyter-book", "myst-nb", "ipywidgets")


def frequency_policy() -> dict:
    base = Path("/sys/devices/system/cpu/cpu0/cpufreq")
    return {
        "governor": _read(base / "scaling_governor"),
        "cur_khz": _read(base / "scaling_cur_freq"),
        "max_khz": _read(base / "cpuinfo_max_freq"),
        "boost": _read(Path("/sys/devices/system/cpu/cpufreq/boost")),
    }


def versions() -> dict:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def report() -> dict:
    """Everything about this machine that the measurements depend on."""
    from .. import api

    cpu_facts, cache_facts = cpu(), caches()
    return {
        "id": machine_id(cpu_facts, cache_facts),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpu": cpu_facts,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "caches": cache_facts,
        "frequency": frequency_policy(),
        "compiler": build.compiler_identity(),
        "compile_args": build.compile_args(),
        "isas_available": list(api.available_isas()),
        "denormals": "flushed (FTZ+DAZ) while kernels run" if build._X86_64 else "default",
        "versions": versions(),
    }


def machine_id(cpu: dict, caches: list[dict]) -> str:
    """A stable, anonymous id: the CPU model as a slug plus a hash of what matters."""
    model = cpu.get("model") or platform.machine() or "unknown"
    slug = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-")[:40] or "cpu"
    key = repr((model, cpu.get("flags"), [(c["level"], c["size_bytes"]) for c in caches], os.cpu_count()))
    return f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def describe(rep: dict) -> list[tuple[str, str]]:
    """(label, value) lines for an 'experimental setup' block."""

    def kib(b):
        if b is None:
            return "unknown"
        return f"{b // 1024**2} MiB" if b >= 1024**2 else f"{b // 1024} KiB"

    caches = ", ".join(f"L{c['level']} {kib(c['size_bytes'])}" for c in rep["caches"]) or "unknown"
    freq = rep["frequency"]
    freq_text = (
        f"governor {freq['governor']}, max {int(freq['max_khz']) / 1e6:.2f} GHz"
        if freq.get("governor") and freq.get("max_khz")
        else "not exposed (virtual machine or no cpufreq); turbo state unknown"
    )
    v = rep["versions"]
    lines = [
        ("CPU", f"{rep['cpu']['model'] or 'unknown'} ({rep['machine']})"),
        ("cores", f"{rep['usable_cpus']} usable of {rep['logical_cpus']} logical; kernels run single-threaded, "
                  "the threaded roofs on every usable core"),
        ("caches (per core unless shared)", caches),
        ("ISA flags", ", ".join(rep["cpu"]["flags"]) or "unknown"),
        ("kernel ISAs runnable", ", ".join(rep["isas_available"])),
        ("frequency policy", freq_text),
        ("compiler", f"{rep['compiler']}; flags {' '.join(rep['compile_args'])}"),
        ("denormals", rep["denormals"]),
        ("software", ", ".join(f"{k} {val}" for k, val in v.items() if val)),
    ]
    bw = rep.get("bandwidth")
    if bw and "roofs" in bw:
        for threads in sorted({r["threads"] for r in bw["roofs"]}):
            label = f"memory bandwidth ({threads} thread{'s' if threads > 1 else ''}, {bw['size_label']})"
            lines.append((label, ", ".join(f"{r['pattern']} {r['gb_per_s']:.1f} GB/s" for r in bw["roofs"]
                                           if r["threads"] == threads)))
        rfo = bw["rfo"]
        lines.append(("plain stores", f"{'pay' if rfo['plain_stores_rfo'] else 'do not pay'} a read for ownership "
                      f"(out of cache, plain / streaming: fill {rfo['fill / fill (streaming)']:.2f}, "
                      f"copy {rfo['copy / copy (streaming)']:.2f})"))
    return lines
