"""Every book notebook executes top to bottom in quick mode (BOOK_QUICK=1).

nbmake and nbval only collect .ipynb files, so the MyST notebooks are read
with jupytext and run with nbclient, in their own folder like the book build."""

import sys
from pathlib import Path

import jupytext
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import nbclient_wakeup  # noqa: E402

nbclient_wakeup.install()

# Every MyST notebook of the book: the chapters, and executable pages under book/.
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.md")) + sorted(
    p for p in (ROOT / "book").glob("*.md") if "format_name: myst" in p.read_text()
)


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch):
    monkeypatch.setenv("BOOK_QUICK", "1")
    notebook = jupytext.read(path)
    # A notebook's own front-matter timeout (mystnb: execution_timeout), as in the book build.
    timeout = int(notebook.metadata.get("mystnb", {}).get("execution_timeout", 900))
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError at the first failing cell
