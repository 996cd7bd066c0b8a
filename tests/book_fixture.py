"""The built book the browser tests look at, and what _toc.yml says it contains.

``book_html`` (session-scoped) is the HTML folder of a build:

* ``$BOOK_HTML_DIR`` when it is set: an existing build (the folder holding
  ``index.html``, e.g. ``_build/html``); nothing is built;
* otherwise a fresh quick build (``BOOK_QUICK=1``) made by this test session
  into ``_build/quick/`` so the full build in ``_build/html`` is left alone.
  Under pytest-xdist the workers share one build: a file lock lets the first
  worker build while the others wait, and a stamp with the test-run id lets
  them reuse it. A failed build fails every test that needs it, with the log.

``book_http`` serves that folder from a local http server on 127.0.0.1 (the
book must work there as from ``file://``), and ``your_results`` is the
``explorer.json`` of a quick ``python -m kernels.bench sweep``: what a reader
loads into an explorer to compare their machine with the book's.
"""

from __future__ import annotations

import fcntl
import functools
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TOC = ROOT / "_toc.yml"
QUICK_DIR = ROOT / "_build" / "quick"  # jupyter-book writes <path-output>/_build/html
QUICK_HTML = QUICK_DIR / "_build" / "html"
QUICK_LOG = ROOT / "_build" / "quick.log"
QUICK_STAMP = ROOT / "_build" / "quick.stamp.json"
QUICK_LOCK = ROOT / "_build" / "quick.lock"
YOUR_RESULTS_DIR = ROOT / "_build" / "your-results"  # a quick sweep's results, as a reader's machine would make
YOUR_RESULTS_STAMP = ROOT / "_build" / "your-results.stamp.json"
YOUR_RESULTS_LOCK = ROOT / "_build" / "your-results.lock"
YOUR_SWEEP = ["sweep", "--quick", "--sizes", "1K,4K", "--reps", "2", "--no-accuracy", "--no-progress"]
BUILD_TIMEOUT_S = 900  # a quick build takes well under a minute; ipykernel 7 can hang (rarely)
SOURCE_SUFFIXES = (".md", ".ipynb", ".rst")


@dataclass(frozen=True)
class Page:
    """One document of the toc: its docname, source file and built HTML file."""

    docname: str  # e.g. "notebooks/01-overflow"
    source: Path

    @property
    def stem(self) -> str:
        return Path(self.docname).name

    def html(self, html_dir: Path) -> Path:
        return html_dir / f"{self.docname}.html"

    def executed_notebook(self, html_dir: Path) -> Path:
        """myst-nb keeps the executed notebook beside the html folder."""
        return html_dir.parent / "jupyter_execute" / f"{self.docname}.ipynb"


def _strip_suffix(name: str) -> str:
    for suffix in SOURCE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def toc_pages(toc: Path = TOC) -> list[Page]:
    """Every document _toc.yml lists (root, parts, chapters, sections, globs), in order."""
    data = yaml.safe_load(toc.read_text())
    docnames: list[str] = [_strip_suffix(data["root"])]

    def walk(node):
        if isinstance(node, list):
            for child in node:
                walk(child)
        elif isinstance(node, dict):
            if "file" in node:
                docnames.append(_strip_suffix(node["file"]))
            if "glob" in node:
                matches = sorted(
                    p for suffix in SOURCE_SUFFIXES for p in ROOT.glob(node["glob"] + suffix)
                )
                docnames.extend(_strip_suffix(p.relative_to(ROOT).as_posix()) for p in matches)
            for key in ("parts", "chapters", "sections", "subtrees", "entries"):
                walk(node.get(key) or [])

    walk(data)
    pages = []
    for docname in dict.fromkeys(docnames):  # ordered, without duplicates
        sources = [ROOT / f"{docname}{suffix}" for suffix in SOURCE_SUFFIXES]
        source = next((s for s in sources if s.exists()), None)
        if source is None:
            raise FileNotFoundError(f"_toc.yml lists {docname!r} but there is no {docname}.md/.ipynb/.rst")
        pages.append(Page(docname, source))
    return pages


@contextmanager
def _exclusive_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # blocks while another worker builds
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _jupyter_book() -> str:
    beside_python = Path(sys.executable).parent / "jupyter-book"
    found = str(beside_python) if beside_python.exists() else shutil.which("jupyter-book")
    if found is None:
        pytest.fail("jupyter-book is not installed in this environment (pip install -e '.[test]')")
    return found


def _log_tail(log: Path, lines: int = 120) -> str:
    text = log.read_text(errors="replace").splitlines() if log.exists() else ["(no log)"]
    return "\n".join(text[-lines:])


def _quick_build(run_id: str) -> Path:
    """Builds the book in quick mode into _build/quick, from scratch.

    From scratch: an incremental Sphinx build does not re-execute notebooks whose
    kernels changed, skips copying html_extra_path files when no page changed,
    and hides the warnings of pages it does not rebuild."""
    shutil.rmtree(QUICK_DIR, ignore_errors=True)
    QUICK_DIR.mkdir(parents=True)
    command = [_jupyter_book(), "build", "-W", "-n", "--keep-going", "--path-output", str(QUICK_DIR), str(ROOT)]
    env = {**os.environ, "BOOK_QUICK": "1"}
    started = time.perf_counter()
    with open(QUICK_LOG, "w") as log:
        log.write("$ BOOK_QUICK=1 " + " ".join(command) + "\n")
        log.flush()
        # Its own process group, so that a timeout also ends the notebook kernels it started.
        build = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            returncode = build.wait(timeout=BUILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(build.pid, signal.SIGKILL)
            build.wait()
            returncode = f"killed after {BUILD_TIMEOUT_S} s"
            log.write(f"\n*** the build did not finish in {BUILD_TIMEOUT_S} s and was killed ***\n")
    ok = returncode == 0 and (QUICK_HTML / "index.html").exists()
    QUICK_STAMP.write_text(
        json.dumps(
            {
                "run": run_id,
                "ok": ok,
                "returncode": returncode,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    )
    return QUICK_HTML


def _fail_build(stamp: dict):
    pytest.fail(
        f"the quick book build failed (exit code {stamp.get('returncode')}); "
        f"full log: {QUICK_LOG}\n--- last lines ---\n{_log_tail(QUICK_LOG)}",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def book_html() -> Path:
    """The HTML folder of the book under test (see the module docstring)."""
    given = os.environ.get("BOOK_HTML_DIR")
    if given:
        html_dir = Path(given).resolve()
        if not (html_dir / "index.html").exists():
            pytest.fail(f"BOOK_HTML_DIR={given} is not a built book (no index.html there)", pytrace=False)
        return html_dir

    run_id = _run_id()
    with _exclusive_lock(QUICK_LOCK):
        stamp = json.loads(QUICK_STAMP.read_text()) if QUICK_STAMP.exists() else {}
        if stamp.get("run") != run_id:
            _quick_build(run_id)
            stamp = json.loads(QUICK_STAMP.read_text())
    if not stamp.get("ok"):
        _fail_build(stamp)
    return QUICK_HTML


_SOLO_RUN = f"solo-{uuid.uuid4()}"


def _run_id() -> str:
    """One id per test run, shared by the xdist workers of that run."""
    return os.environ.get("PYTEST_XDIST_TESTRUNUID") or _SOLO_RUN


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def book_http(book_html):
    """The book over http: its base URL (http://127.0.0.1:<port>/), served from
    book_html by a server in this process."""
    handler = functools.partial(_QuietHandler, directory=str(book_html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def your_results() -> Path:
    """explorer.json of a quick sweep run through the CLI (once per test run,
    shared by the xdist workers), as a reader would make on their machine."""
    with _exclusive_lock(YOUR_RESULTS_LOCK):
        stamp = json.loads(YOUR_RESULTS_STAMP.read_text()) if YOUR_RESULTS_STAMP.exists() else {}
        if stamp.get("run") != _run_id():
            shutil.rmtree(YOUR_RESULTS_DIR, ignore_errors=True)
            command = [sys.executable, "-m", "kernels.bench", *YOUR_SWEEP, "--out", str(YOUR_RESULTS_DIR)]
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
            saved = re.search(r"^saved (.+)$", done.stdout, re.MULTILINE)
            stamp = {"run": _run_id(), "returncode": done.returncode, "output": (done.stdout + done.stderr)[-4000:],
                     "folder": saved.group(1).strip() if saved else None}
            YOUR_RESULTS_STAMP.write_text(json.dumps(stamp))
    path = Path(stamp["folder"] or "/nonexistent") / "explorer.json"
    if stamp["returncode"] != 0 or not path.exists():
        pytest.fail(f"`python -m kernels.bench {' '.join(YOUR_SWEEP)}` made no explorer.json "
                    f"(exit code {stamp['returncode']}):\n{stamp['output']}", pytrace=False)
    return path
