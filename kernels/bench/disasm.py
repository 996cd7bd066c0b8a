"""The hot loop of a compiled kernel, from `objdump -d` of the built module,
with its instructions counted by kind (where the cycles can go)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from functools import cache

from .. import build, registry

KINDS = [
    ("fma / mul", re.compile(r"^v(fn?m(add|sub)\d+[ps]s|mul[ps]s)")),
    ("add / sub", re.compile(r"^v(add|sub)[ps][sd]")),
    ("max / min / compare", re.compile(r"^v(max|min|cmp)\w*[ps]s|^vpcmp")),
    ("round / scalef", re.compile(r"^v(round|rndscale|scalef)")),
    ("integer / shift", re.compile(r"^vp(s[lr]l|add|sub|max|min|and|or|xor)")),
    ("blend / logic", re.compile(r"^v(blendv|and|andn|or|xor)[ps]s")),
    ("convert", re.compile(r"^vcvt")),
    ("broadcast", re.compile(r"^vbroadcast")),
    ("store", re.compile(r"^v(movnt|movups|movaps|movdqu|movdqa).*,\s*-?\w*\(|^vmaskmov\w+\s+%\w+,")),
    ("load", re.compile(r"^v(movups|movaps|movdqu|movdqa)\w*\s+-?\w*\(")),
    ("register move", re.compile(r"^v(movaps|movups|movdqa|movdqu|movapd)\w*\s+%")),
]


def objdump_available() -> bool:
    return shutil.which("objdump") is not None


@cache
def _disassembly() -> str:
    module = build.load()
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", module.__file__], capture_output=True, text=True,
                         check=True)
    return out.stdout


def function_lines(name: str) -> list[tuple[int, str]]:
    """(address, instruction text) of one function."""
    text = _disassembly()
    start = text.find(f"<{name}>:\n")
    if start < 0:
        raise KeyError(f"{name} not found in the compiled module")
    body = text[start:].split("\n\n", 1)[0].splitlines()[1:]
    out = []
    for line in body:
        m = re.match(r"\s*([0-9a-f]+):\s+(.*)", line)
        if m:
            out.append((int(m.group(1), 16), m.group(2).split("#")[0].strip()))
    return out


def loops(lines) -> list[list[str]]:
    """Instruction lists of the backward-jump loops in a function."""
    out = []
    for i, (address, text) in enumerate(lines):
        m = re.match(r"j\w+\s+([0-9a-f]+)", text)
        if m and int(m.group(1), 16) <= address:
            target = int(m.group(1), 16)
            start = next((k for k, (a, _) in enumerate(lines) if a == target), None)
            if start is not None:
                out.append([t for _, t in lines[start : i + 1]])
    return out


def main_loop(variant) -> list[str]:
    """The kernel's unrolled main loop: its loop densest in vector arithmetic."""
    if isinstance(variant, str):
        variant = registry.lookup(variant)
    candidates = loops(function_lines(variant.name))
    if not candidates:
        raise ValueError(f"no loop found in {variant.name}")

    def density(body):
        return sum(kind(t) not in ("register move", "other", "scalar / control") for t in body) / len(body)

    return max(candidates, key=density)


def kind(instruction: str) -> str:
    mnemonic_and_ops = instruction.strip()
    if not mnemonic_and_ops.startswith("v"):
        return "scalar / control"
    for label, pattern in KINDS:
        if pattern.search(mnemonic_and_ops):
            return label
    return "other"


def spills(body: list[str]) -> int:
    """Vector moves to or from the stack: register spills."""
    return sum(1 for t in body if t.startswith("v") and "(%rsp)" in t)


def profile(variant) -> dict:
    """Instruction counts per vector of the main loop, by kind."""
    if isinstance(variant, str):
        variant = registry.lookup(variant)
    body = main_loop(variant)
    vectors = variant.unroll // variant.lanes
    counts = Counter(kind(t) for t in body)
    row = {"kernel": variant.name, "vectors per iteration": vectors,
           "instructions per vector": len(body) / vectors, "stack spills per vector": spills(body) / vectors}
    for label, _ in KINDS:
        row[label] = counts.get(label, 0) / vectors
    row["scalar / control"] = counts.get("scalar / control", 0) / vectors
    row["other"] = counts.get("other", 0) / vectors
    return row
