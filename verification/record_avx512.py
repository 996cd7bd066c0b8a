"""make verify-avx512: run the AVX-512 tests on a CPU that has AVX-512 and
record the pass in verification/avx512.json.

CPUs without AVX-512 compile its kernels but skip their tests (the test
summary says so); this record tells readers and the next developer when and
where those tests last passed in full.  It names the commit whose tree was
tested; the record itself is committed afterwards, so the commit it names is
normally the parent of the commit that adds it.  The tree must be clean
(nothing uncommitted besides this record), every AVX-512 test must pass, and
none may be skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "verification" / "avx512.json"
# The book's tests (notebooks, rendered HTML, prose) and the mutation run hold
# no AVX-512 case of their own; every other file that does is run.
BOOK_TESTS = ("tests/test_notebooks.py", "tests/test_rendered_html.py", "tests/test_prose.py", "tests/test_mutants.py")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def files_with_avx512_tests(env: dict[str, str]) -> list[str]:
    """The test files (outside the book's) whose collected ids name avx512f."""
    ids = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests",
                          *(f"--ignore={path}" for path in BOOK_TESTS)],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.splitlines()
    return sorted({line.split("::")[0] for line in ids if "::" in line and "avx512f" in line})


def avx512_outcomes(junit: Path) -> dict[str, int]:
    """Outcome counts of the test cases whose ids name avx512f."""
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for case in ET.parse(junit).iter("testcase"):
        if "avx512f" not in case.get("name", ""):
            continue
        kinds = {child.tag for child in case}
        outcome = "failed" if kinds & {"failure", "error"} else "skipped" if "skipped" in kinds else "passed"
        counts[outcome] += 1
    return counts


def main() -> int:
    import kernels
    from kernels.bench import machine

    if "avx512f" not in kernels.available_isas():
        print("this CPU cannot run AVX-512 kernels: nothing to verify here", file=sys.stderr)
        return 2
    dirty = [line for line in git("status", "--porcelain").splitlines() if not line.endswith(str(RECORD.relative_to(ROOT)))]
    if dirty:
        print("commit first: the record must name the tree it tested\n" + "\n".join(dirty), file=sys.stderr)
        return 2
    start = time.time()
    with tempfile.TemporaryDirectory() as scratch:
        junit = Path(scratch) / "junit.xml"
        env = {k: v for k, v in os.environ.items() if k != "SOFTMAX_TEST_HIDE_ISAS"}
        test_files = files_with_avx512_tests(env)
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider",
                                 f"--junitxml={junit}", *test_files], cwd=ROOT, env=env)
        counts = avx512_outcomes(junit)
    if result.returncode or counts["failed"] or counts["skipped"] or not counts["passed"]:
        print(f"not recorded: pytest exit code {result.returncode}, AVX-512 tests {counts}", file=sys.stderr)
        return 1
    report = machine.report()
    record = {
        "commit": git("rev-parse", "HEAD"),
        "commit_subject": git("log", "-1", "--format=%s"),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": report["cpu"]["model"],
        "cpu_flags": [f for f in report["cpu"]["flags"] if f.startswith("avx512")],
        "machine": report["id"],
        "compiler": report["compiler"],
        "python": sys.version.split()[0],
        "tests": test_files,
        "avx512_tests_passed": counts["passed"],
        "seconds": round(time.time() - start),
        "note": "commit is the tree that was tested; this record was committed after it "
                "(normally in the commit right after it)",
    }
    RECORD.write_text(json.dumps(record, indent=2) + "\n")
    print(f"recorded {counts['passed']} AVX-512 tests passing at {record['commit'][:12]} in {RECORD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
