"""Finds the numbers a chapter types into its prose.

The book's rule: every measured number is glued from execution.  This scan
reads each page's Markdown outside code cells, literal includes, math and
inline code, drops glue roles, references and links, and reports every number
left, unless the line cites a source ({cite} or a repository file, for the
paper's and the peers' figures, an issue thread such as pytorch#34728) or an entry of the allow-list
(tests/prose_allowlist.yml) covers it: a pattern with the reason that the
number is a definition, not a measurement.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ALLOWLIST = Path(__file__).with_name("prose_allowlist.yml")

# Directives whose body is prose (scanned); every other fenced block is code or data.
PROSE_DIRECTIVES = {"exercise", "solution", "note", "warning", "admonition", "tip", "important", "glossary",
                    "figure", "margin", "seealso", "dropdown"}
FENCE = re.compile(r"^(`{3,}|~{3,})(\{([\w:-]+)\})?")
REMOVED = [
    r"\{[\w:-]+\}`[^`]*`",      # roles: {glue:text}`...`, {ref}`...`, {cite}`...`, {term}`...`
    r"`[^`]*`",                 # inline code
    r"\$\$[^$]*\$\$", r"\$[^$]*\$",  # math
    r"\]\([^)]*\)",             # link targets
    r"https?://\S+",
    r"<[^>]+>",                 # HTML tags
    r"^\(\S+\)=\s*$",           # labels
    r"^\s*\d+\.\s",             # numbered-list markers
    r"#\d+",                    # issue and PR numbers
]
NUMBER = re.compile(r"(?<![\w.^/#\\-])[−-]?\d(?:[\d,]*\d)?(?:\.\d+)?(?:\^\{?[−-]?\d+\}?)?(?![\w])")
CITES = re.compile(r"\{cite(:[tp])?\}`|`[\w./-]+\.(c|cc|cpp|h|py|in)`|`src/[\w./-]+`|\b[\w-]+#\d+")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    number: str
    text: str

    def __str__(self):
        return f"{self.path}:{self.line}: typed number {self.number!r} in: {self.text.strip()[:160]}"


def prose_lines(text: str):
    """(line number, line) of the prose: outside front matter, code and math blocks."""
    lines = text.split("\n")
    start = lines.index("---", 1) + 1 if lines and lines[0] == "---" else 0
    fences: list[tuple[str, str | None]] = []
    in_math = False
    for number, line in enumerate(lines[start:], start + 1):
        stripped = line.strip()
        fence = FENCE.match(stripped)
        if fence:
            if fences and stripped == fences[-1][0]:
                fences.pop()
            else:  # a directive, or a code block (inside a directive too)
                fences.append((fence.group(1), fence.group(3) or "code"))
            continue
        if any(kind not in PROSE_DIRECTIVES for _, kind in fences):
            continue
        if fences and stripped.startswith(":"):
            continue  # a directive's options
        if stripped.startswith("$$"):
            if stripped == "$$" or not stripped.endswith("$$") or len(stripped) == 2:
                in_math = not in_math
            continue
        if not in_math:
            yield number, line


def load_allowlist(path: Path = ALLOWLIST) -> list[dict]:
    entries = yaml.safe_load(path.read_text()) or []
    for entry in entries:
        if not entry.get("reason"):
            raise ValueError(f"allow-list entry {entry!r} has no reason")
        entry["regex"] = re.compile(entry["pattern"], re.IGNORECASE)
    return entries


def _allowed_spans(text: str, path: str, allowlist: list[dict]) -> list[tuple[int, int]]:
    spans = []
    for entry in allowlist:
        if fnmatch.fnmatch(path, entry.get("files", "*")):
            spans += [m.span() for m in entry["regex"].finditer(text)]
    return spans


def scan_text(text: str, path: str, allowlist: list[dict]) -> list[Finding]:
    findings = []
    for number, line in prose_lines(text):
        if CITES.search(line):
            continue
        stripped = line
        for pattern in REMOVED:
            stripped = re.sub(pattern, lambda m: " " * len(m.group(0)), stripped)
        spans = _allowed_spans(stripped, path, allowlist)
        for found in NUMBER.finditer(stripped):
            if not any(lo <= found.start() and found.end() <= hi for lo, hi in spans):
                findings.append(Finding(path, number, found.group(0), line))
    return findings


def pages() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*.md")) + sorted((ROOT / "book").glob("*.md"))


def scan(allowlist: list[dict] | None = None) -> list[Finding]:
    allowlist = load_allowlist() if allowlist is None else allowlist
    return [f for p in pages() for f in scan_text(p.read_text(), str(p.relative_to(ROOT)), allowlist)]


def unused_entries(allowlist: list[dict] | None = None) -> list[dict]:
    """Allow-list entries that no page needs any more."""
    allowlist = load_allowlist() if allowlist is None else allowlist
    used = set()
    for p in pages():
        rel = str(p.relative_to(ROOT))
        for _, line in prose_lines(p.read_text()):
            for i, entry in enumerate(allowlist):
                if fnmatch.fnmatch(rel, entry.get("files", "*")) and entry["regex"].search(line):
                    used.add(i)
    return [e for i, e in enumerate(allowlist) if i not in used]
