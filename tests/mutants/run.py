"""Mutation run: does the default test suite catch deliberate bugs?

    flock /work/wt/cpu.lock -c '.venv/bin/python tests/mutants/run.py'   # all (~30 minutes on 2 cores)
    .venv/bin/python tests/mutants/run.py --only exp-c4-off-by-0.1-percent,timer-writes-no-sentinel
    .venv/bin/python tests/mutants/run.py --list

Each mutant (tests/mutants/mutants.py) is applied, alone, to a copy of the
working tree (tracked and untracked files that git does not ignore) in a
temporary folder with its own kernel cache; then the mutant's test files run
there (`pytest -n 2 --maxfail`), fastest first.  A mutant is caught when a
test fails or errors; the report names the tests.  Mutants of code this CPU
cannot run (an ISA it lacks) are listed as unverified.  The tests are those
of the default `make test`, so a mutant caught here is caught there.  Heavy:
run it under the CPU lock on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
from mutants import MUTANTS, Mutant  # noqa: E402

FAILURE = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)


def copy_tree(destination: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def runnable_isas(env: dict, tree: Path) -> list[str]:
    check = ("import kernels, pathlib, sys; "
             "assert pathlib.Path(kernels.__file__).is_relative_to(sys.argv[1]), kernels.__file__; "
             "print(','.join(kernels.available_isas()))")
    result = subprocess.run([sys.executable, "-c", check, str(tree)], cwd=tree, env=env, capture_output=True,
                            text=True)
    if result.returncode:
        raise SystemExit(f"the copy does not import its own kernels:\n{result.stderr}")
    return result.stdout.strip().split(",")


def run_tests(mutant: Mutant, tree: Path, env: dict, maxfail: int, timeout: int) -> dict:
    command = [sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider", "-rfE",
               f"--maxfail={maxfail}", *mutant.tests]
    start = time.time()
    try:
        result = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
        output, code = result.stdout + result.stderr, result.returncode
    except subprocess.TimeoutExpired as expired:
        output, code = str(expired.stdout or "") + "\ntimed out", -1
    failures = sorted(set(FAILURE.findall(output)))
    return {"caught": code != 0, "exit code": code, "tests": failures, "seconds": round(time.time() - start, 1),
            "tail": "" if failures else output[-2000:]}


def mutate(mutant: Mutant, tree: Path) -> str:
    path = tree / mutant.path
    text = path.read_text()
    if text.count(mutant.old) != 1:
        raise SystemExit(f"{mutant.name}: its snippet occurs {text.count(mutant.old)} times in {mutant.path}")
    path.write_text(text.replace(mutant.old, mutant.new))
    return text


def report(results: list[dict]) -> str:
    lines = ["| mutant | caught | by | seconds |", "|---|---|---|---|"]
    for r in results:
        if r.get("unverified"):
            lines.append(f"| {r['name']} | unverified: this CPU lacks {r['isa']} | | |")
            continue
        by = ", ".join(t.removeprefix("tests/") for t in r["tests"][:3]) or f"exit code {r['exit code']}"
        lines.append(f"| {r['name']} | {'yes' if r['caught'] else '**no**'} | {by} | {r['seconds']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated mutant names")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--maxfail", type=int, default=3)
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per mutant")
    args = parser.parse_args(argv)
    chosen = MUTANTS
    if args.only:
        names = set(args.only.split(","))
        chosen = [m for m in MUTANTS if m.name in names]
        if unknown := names - {m.name for m in chosen}:
            parser.error(f"unknown mutants: {', '.join(sorted(unknown))}")
    if args.list:
        for m in chosen:
            print(f"{m.name:45s} {m.path:40s} {m.what}")
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="softmax-mutants-") as scratch:
        tree = Path(scratch) / "tree"
        copy_tree(tree)
        env = {**os.environ, "SOFTMAX_KERNELS_CACHE": str(Path(scratch) / "kcache"), "PYTHONPATH": str(tree)}
        env.pop("SOFTMAX_TEST_HIDE_ISAS", None)
        isas = runnable_isas(env, tree)
        for m in chosen:
            if m.isa and m.isa not in isas:
                results.append({"name": m.name, "unverified": True, "isa": m.isa, "what": m.what})
                continue
            original = mutate(m, tree)
            try:
                outcome = run_tests(m, tree, env, args.maxfail, args.timeout)
            finally:
                (tree / m.path).write_text(original)
            results.append({"name": m.name, "what": m.what, "path": m.path, **outcome})
            print(f"{m.name}: {'caught' if outcome['caught'] else 'NOT CAUGHT'} {outcome['tests'][:3]}", flush=True)
    print(report(results))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    return 0 if all(r["caught"] for r in results if not r.get("unverified")) else 1


if __name__ == "__main__":
    sys.exit(main())
