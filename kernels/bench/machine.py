"""The machine report: what the numbers were measured on, read from the machine.

CPU model, ISA flags, cores and cache sizes come from Linux sysfs/procfs or
macOS sysctl; anything that cannot be read is reported as None ("unknown"),
never guessed. The measured bandwidths are added by `kernels.bench.sweep`.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from .. import build

INTERESTING_FLAGS = ("sse2", "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512vl", "avx512bw", "asimd", "sve")
PACKAGES = ("numpy", "cython", "scipy", "pandas", "matplotlib", "torch", "jupyter-book", "myst-nb", "ipywidgets")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def parse_size(text: str | None) -> int | None:
    """'32K' / '1024K' / '32 MiB' / '335544320' -> bytes."""
    if not text:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*([KMG]?)(i?B)?\s*", text, flags=re.IGNORECASE)
    if not m:
        return None
    scale = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}[m.group(2).upper()]
    return int(m.group(1)) * scale


def caches_linux(cpu: int = 0) -> list[dict]:
    """Data and unified caches of one CPU from sysfs, ordered by level."""
    base = Path(f"/sys/devices/system/cpu/cpu{cpu}/cache")
    out = []
    for index in sorted(base.glob("index*")):
        kind = _read(index / "type")
        if kind not in ("Data", "Unified"):
            continue
        shared = _read(index / "shared_cpu_list")
        out.append(
            {
                "level": int(_read(index / "level") or 0),
                "type": kind,
                "size_bytes": parse_size(_read(index / "size")),
                "line_bytes": int(_read(index / "coherency_line_size") or 0) or None,
                "shared_cpu_list": shared,
            }
        )
    return sorted(out, key=lambda c: c["level"])


def _sysctl(key: str) -> str | None:
    try:
        out = subprocess.run(["sysctl", "-n", key], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def caches_macos() -> list[dict]:
    out = []
    for level, key in ((1, "hw.l1dcachesize"), (2, "hw.l2cachesize"), (3, "hw.l3cachesize")):
        size = _sysctl(key)
        if size and size.isdigit() and int(size) > 0:
            out.append({"level": level, "type": "Data" if level == 1 else "Unified", "size_bytes": int(size),
                        "line_bytes": None, "shared_cpu_list": None})
    return out


def cpu_linux() -> dict:
    info = {}
    text = _read(Path("/proc/cpuinfo")) or ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key in ("model name", "vendor_id", "cpu family", "model", "flags", "Features") and key not in info:
            info[key] = value
    flags = set((info.get("flags") or info.get("Features") or "").split())
    return {
        "model": info.get("model name"),
        "vendor": info.get("vendor_id"),
        "family_model": f"{info.get('cpu family')}/{info.get('model')}" if "cpu family" in info else None,
        "flags": sorted(f for f in INTERESTING_FLAGS if f in flags),
    }


def cpu_macos() -> dict:
    features = (_sysctl("machdep.cpu.features") or "").lower().split() + (
        _sysctl("machdep.cpu.leaf7_features") or ""
    ).lower().split()
    flags = {f.replace(".", "_") for f in features}
    return {
        "model": _sysctl("machdep.cpu.brand_string"),
        "vendor": _sysctl("machdep.cpu.vendor"),
        "family_model": None,
        "flags": sorted(f for f in INTERESTING_FLAGS if f in flags),
    }


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

    if sys.platform == "darwin":
        cpu, caches = cpu_macos(), caches_macos()
    else:
        cpu, caches = cpu_linux(), caches_linux()
    logical = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = logical
    return {
        "id": machine_id(cpu, caches),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpu": cpu,
        "logical_cpus": logical,
        "usable_cpus": usable,
        "caches": caches,
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


def cache_size(report_or_caches, level: int) -> int | None:
    """Size in bytes of the data/unified cache at a level, or None."""
    caches = report_or_caches["caches"] if isinstance(report_or_caches, dict) else report_or_caches
    sizes = [c["size_bytes"] for c in caches if c["level"] == level and c["size_bytes"]]
    return max(sizes) if sizes else None


def last_level_cache(report_or_caches) -> int | None:
    caches = report_or_caches["caches"] if isinstance(report_or_caches, dict) else report_or_caches
    sizes = [c["size_bytes"] for c in caches if c["size_bytes"]]
    return max(sizes) if sizes else None


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
        ("cores", f"{rep['usable_cpus']} usable of {rep['logical_cpus']} logical; kernels run single-threaded"),
        ("caches (per core unless shared)", caches),
        ("ISA flags", ", ".join(rep["cpu"]["flags"]) or "unknown"),
        ("kernel ISAs runnable", ", ".join(rep["isas_available"])),
        ("frequency policy", freq_text),
        ("compiler", f"{rep['compiler']}; flags {' '.join(rep['compile_args'])}"),
        ("denormals", rep["denormals"]),
        ("software", ", ".join(f"{k} {val}" for k, val in v.items() if val)),
    ]
    bw = rep.get("bandwidth")
    if bw:
        lines.append(
            (
                "memory bandwidth (1 thread, " + bw["size_label"] + ")",
                ", ".join(f"{k} {val:.1f} GB/s" for k, val in bw["gb_per_s"].items()),
            )
        )
    return lines
