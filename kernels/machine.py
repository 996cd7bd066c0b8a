"""Machine facts the library needs: ISA flags, cores and cache sizes.

Read from Linux sysfs/procfs or macOS sysctl; anything that cannot be read is
None ("unknown"), never guessed.  The tuning defaults (kernels.tuning) size
rows by these caches; the benchmark harness (kernels.bench.machine) builds its
machine report on them.  Nothing here imports the rest of the library.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

INTERESTING_FLAGS = ("sse2", "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512vl", "avx512bw", "asimd", "sve")
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


def cpu() -> dict:
    """Model, vendor and ISA flags of this machine's CPU."""
    return cpu_macos() if sys.platform == "darwin" else cpu_linux()


def caches() -> list[dict]:
    """This machine's data and unified caches, ordered by level."""
    return caches_macos() if sys.platform == "darwin" else caches_linux()


def usable_cpus() -> int:
    """The logical CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def cache_size(report_or_caches, level: int) -> int | None:
    """Size in bytes of the data/unified cache at a level, or None."""
    caches = report_or_caches["caches"] if isinstance(report_or_caches, dict) else report_or_caches
    sizes = [c["size_bytes"] for c in caches if c["level"] == level and c["size_bytes"]]
    return max(sizes) if sizes else None


def last_level_cache(report_or_caches) -> int | None:
    caches = report_or_caches["caches"] if isinstance(report_or_caches, dict) else report_or_caches
    sizes = [c["size_bytes"] for c in caches if c["size_bytes"]]
    return max(sizes) if sizes else None
