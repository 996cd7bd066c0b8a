"""The built book, as a reader's browser shows it (headless Debian chromium via Playwright).

Every page listed in _toc.yml is opened once from its file:// URL, with requests
to anything outside the book aborted and recorded. Then, per page:

* it renders: main content with a heading and some text; a full-page screenshot
  is saved to _build/screenshots/<page-stem>.png;
* every <img> in the main content has loaded;
* no cell output is an error or a traceback, no JavaScript error is thrown, and
  no request for a file of the book fails;
* glued values are shown ({glue:text} roles became text);
* pages whose notebook uses ipywidgets show the rendered widgets, with the
  Output widget's image loaded;
* tables (pandas HTML tables in outputs, Markdown tables in prose) render;
* math is typeset by the book's own MathJax;
* no request leaves the book: only file:// URLs inside the build, and data:.

Where the HTML comes from: see tests/book_fixture.py ($BOOK_HTML_DIR, or a quick
build made once per test run). Skipped only when chromium is not installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from book_fixture import ROOT, Page, book_html, toc_pages  # noqa: F401  (book_html is a fixture)
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "_build" / "screenshots"
TIMEOUT_MS = 20_000

# JavaScript errors that are known, understood and harmless; anything else fails.
KNOWN_PAGE_ERRORS = {
    # sphinx-thebe (a Jupyter Book 1 dependency) adds its inline config script
    # (`const THEBE_JS_URL = ...`) twice to every page; the second copy throws.
    # Thebe (live code) is not enabled in this book.
    "Identifier 'THEBE_JS_URL' has already been declared",
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"),
]

PAGES = toc_pages()
_stem_counts = Counter(page.stem for page in PAGES)


def screenshot_name(page: Page) -> str:
    unique = _stem_counts[page.stem] == 1
    return (page.stem if unique else page.docname.replace("/", "__")) + ".png"


def source_text(page: Page) -> str:
    return page.source.read_text(encoding="utf-8")


def uses_widgets(page: Page) -> bool:
    return re.search(r"\bipywidgets\b", source_text(page)) is not None


WIDGET_PAGES = [page for page in PAGES if uses_widgets(page)]


def ids(pages):
    return [page.docname for page in pages]


# --------------------------------------------------------------------------- browser


@dataclass
class Rendered:
    """What one page showed and did in the browser."""

    page: Page
    url: str
    screenshot: Path
    facts: dict
    requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    wait_problems: list[str] = field(default_factory=list)


# One evaluate() call collects every fact the tests check.
FACTS_JS = r"""
() => {
  const main = document.querySelector("main") || document.body;
  const article = main.querySelector("article") || main;
  const shown = el => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
  };
  const collapsed = el => !!el.closest("details:not([open]), .toggle-hidden, .dropdown:not(.toggle-shown)");
  const views = Array.from(main.querySelectorAll("script[type='application/vnd.jupyter.widget-view+json']"));
  return {
    hasMain: !!document.querySelector("main"),
    headings: Array.from(article.querySelectorAll("h1")).map(h => h.textContent.trim()),
    textLength: article.textContent.trim().length,
    images: Array.from(main.querySelectorAll("img")).map(i => ({
      src: (i.currentSrc || i.src).slice(0, 120), naturalWidth: i.naturalWidth})),
    tracebacks: main.querySelectorAll(".output.traceback, .output.error, .traceback").length,
    tracebackText: main.textContent.includes("Traceback (most recent call last)"),
    stderr: Array.from(main.querySelectorAll(".output.stderr")).map(e => e.textContent.trim().slice(0, 400)),
    literalGlue: (main.textContent.match(/\{glue(:[a-z]+)?\}/g) || []).length,
    pastedText: main.querySelectorAll(".pasted-text").length,
    widgetViews: views.length,
    widgetViewsRendered: views.filter(s => {
      const area = s.parentElement.querySelector(".widget-subarea .jupyter-widgets");
      return area && shown(area);
    }).length,
    widgetErrors: main.querySelectorAll(".jupyter-widgets-error-widget").length,
    widgetSliders: Array.from(main.querySelectorAll(".widget-slider")).filter(shown).length,
    widgetOutputs: Array.from(main.querySelectorAll(".widget-output")).map(o => ({
      shown: shown(o),
      images: Array.from(o.querySelectorAll("img")).map(i => i.naturalWidth),
      textLength: o.textContent.trim().length})),
    tables: Array.from(main.querySelectorAll("table")).map(t => ({
      className: t.className,
      inOutput: !!t.closest(".cell_output"),
      rows: t.querySelectorAll("tbody tr").length,
      shown: shown(t) || collapsed(t)})),
    math: main.querySelectorAll(".math").length,
    mathTypeset: main.querySelectorAll("mjx-container").length,
    mathErrors: main.querySelectorAll("mjx-merror").length,
  };
}
"""

IMAGES_SETTLED_JS = """
() => Promise.all(Array.from(document.images).map(i => i.complete ? null :
    new Promise(done => { i.addEventListener("load", done); i.addEventListener("error", done); })))
"""

WIDGETS_RENDERED_JS = """
() => Array.from(document.querySelectorAll("script[type='application/vnd.jupyter.widget-view+json']"))
    .every(s => s.parentElement.querySelector(".widget-subarea"))
"""

MATHJAX_DONE_JS = """
() => window.MathJax && MathJax.startup && MathJax.startup.promise
    ? MathJax.startup.promise.then(() => true) : true
"""


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def visit(browser, html_dir: Path, page: Page) -> Rendered:
    html = page.html(html_dir)
    if not html.exists():
        pytest.fail(f"{page.docname} is in _toc.yml but {html} was not built", pytrace=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    rendered = Rendered(page, html.as_uri(), SCREENSHOTS / screenshot_name(page), facts={})
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # Record every request; never let one reach the network (offline is the point).
    context.route(re.compile(r"^(https?|wss?|ftp)://"), lambda route: route.abort())
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    tab.on("request", lambda request: rendered.requests.append(request.url))
    tab.on("requestfailed", lambda request: rendered.failed_requests.append(f"{request.url} ({request.failure})"))
    tab.on("pageerror", lambda error: rendered.page_errors.append(error.message))
    try:
        tab.goto(rendered.url, wait_until="load")
        try:  # saved widget views are drawn by the widget manager after 'load'
            tab.wait_for_function(WIDGETS_RENDERED_JS, timeout=TIMEOUT_MS)
        except PlaywrightError as error:
            rendered.wait_problems.append(f"waiting for widgets: {error.message.splitlines()[0]}")
        tab.evaluate(MATHJAX_DONE_JS)
        tab.evaluate("() => document.fonts.ready.then(() => true)")
        try:
            tab.wait_for_load_state("networkidle", timeout=5_000)
        except PlaywrightError:
            rendered.wait_problems.append("the page kept loading for 5 s after 'load'")
        tab.evaluate(IMAGES_SETTLED_JS)
        rendered.facts = tab.evaluate(FACTS_JS)
        # Written atomically: under pytest-xdist two workers may shoot the same page.
        partial = rendered.screenshot.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(tab.screenshot(full_page=True))
        os.replace(partial, rendered.screenshot)
    finally:
        context.close()
    return rendered


@pytest.fixture(scope="session")
def rendered(browser, book_html):
    """rendered(page) -> Rendered; each page is opened once per test worker."""
    cache: dict[str, Rendered] = {}

    def get(page: Page) -> Rendered:
        if page.docname not in cache:
            cache[page.docname] = visit(browser, book_html, page)
        return cache[page.docname]

    return get


def detail(rendered: Rendered) -> str:
    return f"{rendered.page.docname} ({rendered.url}); screenshot {rendered.screenshot}"


# --------------------------------------------------------------------------- expectations


def executed_outputs(page: Page, html_dir: Path) -> list[dict] | None:
    """Outputs of the executed notebook (None when the build kept no copy)."""
    path = page.executed_notebook(html_dir)
    if not path.exists():
        return None
    notebook = json.loads(path.read_text(encoding="utf-8"))
    outputs = []
    for cell in notebook.get("cells", []):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell.get("cell_type") != "code" or tags & {"remove-cell", "remove-output", "remove_cell"}:
            continue
        outputs.extend(cell.get("outputs", []))
    return outputs


def expected_output_tables(page: Page, html_dir: Path) -> int:
    """HTML tables (pandas DataFrames) among the notebook's displayed outputs."""
    outputs = executed_outputs(page, html_dir) or []
    count = 0
    for output in outputs:
        html = output.get("data", {}).get("text/html", "")
        html = "".join(html) if isinstance(html, list) else html
        count += html.count("<table")
    return count


def expected_markdown_tables(page: Page) -> int:
    """Markdown tables in the prose: their |---|---| separator lines."""
    separator = re.compile(r"^\s*\|?(\s*:?-{3,}:?\s*\|)+\s*(:?-{3,}:?\s*)?$")
    return sum(1 for line in source_text(page).splitlines() if separator.match(line))


def glue_text_roles(page: Page) -> int:
    return len(re.findall(r"\{glue:text\}`", source_text(page)))


def outside_book(url: str, html_dir: Path) -> bool:
    if url.startswith(("data:", "blob:", "about:")):
        return False
    parsed = urlparse(url)
    if parsed.scheme != "file":
        return True
    return not Path(unquote(parsed.path)).resolve().is_relative_to(html_dir.resolve())


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("page", PAGES, ids=ids(PAGES))
def test_page_renders(page, rendered, capsys):
    shown = rendered(page)
    facts = shown.facts
    with capsys.disabled():
        print(f"\nscreenshot: {shown.screenshot}")
    assert facts["hasMain"], f"no <main> element: {detail(shown)}"
    assert any(facts["headings"]), f"no <h1> heading in the article: {detail(shown)}"
    assert facts["textLength"] > 100, f"the article is (nearly) empty: {detail(shown)}"
    assert shown.screenshot.stat().st_size > 0
    assert not shown.wait_problems, f"{shown.wait_problems}: {detail(shown)}"


@pytest.mark.parametrize("page", PAGES, ids=ids(PAGES))
def test_images_load(page, rendered):
    shown = rendered(page)
    broken = [image["src"] for image in shown.facts["images"] if image["naturalWidth"] == 0]
    assert not broken, f"images that did not load: {broken}: {detail(shown)}"


@pytest.mark.parametrize("page", PAGES, ids=ids(PAGES))
def test_no_errors(page, rendered):
    shown = rendered(page)
    facts = shown.facts
    assert facts["tracebacks"] == 0 and not facts["tracebackText"], f"a cell output is an error: {detail(shown)}"
    errors_on_stderr = [text for text in facts["stderr"] if re.search(r"Traceback|\w+Error\b", text)]
    assert not errors_on_stderr, f"stderr outputs report errors: {errors_on_stderr}: {detail(shown)}"
    unknown = [message for message in shown.page_errors if message not in KNOWN_PAGE_ERRORS]
    assert not unknown, f"JavaScript errors: {unknown}: {detail(shown)}"
    assert not shown.failed_requests, f"failed requests: {shown.failed_requests}: {detail(shown)}"


@pytest.mark.parametrize("page", PAGES, ids=ids(PAGES))
def test_glue_values_shown(page, rendered):
    shown = rendered(page)
    facts = shown.facts
    assert facts["literalGlue"] == 0, f"unresolved {{glue}} roles are shown as text: {detail(shown)}"
    expected = glue_text_roles(page)
    assert facts["pastedText"] >= expected, (
        f"{expected} {{glue:text}} roles in {page.source.name} but {facts['pastedText']} pasted values: "
        f"{detail(shown)}"
    )


@pytest.mark.parametrize("page", WIDGET_PAGES, ids=ids(WIDGET_PAGES))
def test_widgets_render(page, rendered):
    shown = rendered(page)
    facts = shown.facts
    assert facts["widgetViews"] > 0, (
        f"{page.source.name} uses ipywidgets but the page has no saved widget view "
        f"(widget state not saved at execution?): {detail(shown)}"
    )
    assert facts["widgetViewsRendered"] == facts["widgetViews"], (
        f"{facts['widgetViewsRendered']} of {facts['widgetViews']} widgets rendered "
        f"(is the widget JavaScript served by the book?): {detail(shown)}"
    )
    assert facts["widgetErrors"] == 0, f"a widget rendered as an error: {detail(shown)}"
    if re.search(r"Slider\(", source_text(page)):
        assert facts["widgetSliders"] > 0, f"no visible slider: {detail(shown)}"
    for output in facts["widgetOutputs"]:
        assert output["shown"], f"an Output widget is not visible: {detail(shown)}"
        assert output["images"] or output["textLength"], f"an Output widget is empty: {detail(shown)}"
        assert all(width > 0 for width in output["images"]), f"an Output widget's image is broken: {detail(shown)}"


@pytest.mark.parametrize("page", PAGES, ids=ids(PAGES))
def test_tables_render(page, rendered, book_html):
    shown = rendered(page)
    tables = shown.facts["tables"]
    in_outputs = [t for t in tables if t["inOutput"]]
    in_prose = [t for t in tables if not t["inOutput"]]
    assert len(in_outputs) >= expected_output_tables(page, book_html), (
        f"the notebook displays {expected_output_tables(page, book_html)} tables, the page {len(in_outputs)}: "
        f"{detail(shown)}"
    )
    assert len(in_prose) >= expected_markdown_tables(page), f"Markdown tables missing: {detail(shown)}"
    for table in tables:
        assert table["rows"] > 0 and table["shown"], f"table {table} did not render: {detail(shown)}"
    if expected_output_tables(page, book_html):
        assert any("dataframe" in t["className"] for t in in_outputs), f"no table.dataframe: {detail(shown)}"


@pytest.mark.parametrize("page", PAGES, ids=ids(PAGES))
def test_math_typeset(page, rendered):
    shown = rendered(page)
    facts = shown.facts
    if facts["math"]:
        assert facts["mathTypeset"] >= facts["math"], (
            f"{facts['mathTypeset']} of {facts['math']} formulas typeset by MathJax: {detail(shown)}"
        )
        assert facts["mathErrors"] == 0, f"MathJax reports TeX errors: {detail(shown)}"


@pytest.mark.parametrize("page", PAGES, ids=ids(PAGES))
def test_no_request_leaves_the_book(page, rendered, book_html):
    shown = rendered(page)
    outside = sorted({url for url in shown.requests if outside_book(url, book_html)})
    assert not outside, f"requests outside the built book ({book_html}): {outside}: {detail(shown)}"
