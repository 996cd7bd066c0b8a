"""The built book, as a reader's browser shows it (headless Debian chromium via Playwright).

Every page listed in _toc.yml is opened once from its file:// URL, with requests
to anything outside the book aborted and recorded. Then, per page:

* it renders: main content with a heading and some text; a full-page screenshot
  is saved to _build/screenshots/<page-stem>.png;
* every <img> in the main content has loaded;
* no cell output is an error or a traceback, no JavaScript error is thrown or
  logged to the console, and no request for a file of the book fails;
* glued values are shown ({glue:text} roles became text);
* no ipywidget is shown: without a kernel it would be a control that does
  nothing (the panels' cells are tagged remove-output; explorers replace them);
* tables (pandas HTML tables in outputs, Markdown tables in prose) render;
* math is typeset by the book's own MathJax;
* no request leaves the book: only file:// URLs inside the build, and data:;
  the same pages are opened once more from a local http server, with the same
  checks on errors and requests.

The explorers (kernels/bench/explorer.py, book/_extra/_static/explorer/) are
checked control by control: every visible control on every page changes
something besides itself (counted per page in _build/screenshots/controls-*.json);
each measurement explorer's plotted series equal its data for every measure,
size range, series choice and baseline (paired ratios, as analysis.paired_ratio
computes them from the saved samples); hover shows a point's values; the CSV
download equals the data; the overflow slider shows the build's numpy results
at every step; the ExtExp explorer equals the library's vextexp kernels bit for
bit; loading the explorer.json of a quick sweep overlays its curves, labelled
with both machines. Screenshots before and after a control changes go to
_build/screenshots/explorer-*.png.

Last, a live JupyterLab on 127.0.0.1 (with a token): a double-click on a
chapter opens it as a notebook, Run All runs it without an error output, and
moving its slider redraws the figure.

Where the HTML comes from: see tests/book_fixture.py ($BOOK_HTML_DIR, or a quick
build made once per test run). Skipped only when chromium is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import pytest
from book_fixture import ROOT, Page, book_html, book_http, toc_pages, your_results  # noqa: F401  (fixtures)
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


def has_panel(page: Page) -> bool:
    """A measurement chapter: it has a live re-measuring panel (for Jupyter)."""
    return re.search(r"\bpanel\(", source_text(page)) is not None


def has_sweep_panel(page: Page) -> bool:
    """Its live panel is the sweep's (kernels.bench.widgets), so its explorers
    are over a saved sweep (explorer.measurements)."""
    return "from kernels.bench.widgets import panel" in source_text(page)


def has_explorer(page: Page) -> bool:
    return "kernels.bench import explorer" in source_text(page)


WIDGET_PAGES = [page for page in PAGES if uses_widgets(page)]
EXPLORER_PAGES = [page for page in PAGES if has_explorer(page)]


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
    console_errors: list[str] = field(default_factory=list)
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
    streams: Array.from(main.querySelectorAll(".output.stream")).map(e => e.textContent.trim().slice(0, 400)),
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
    explorers: Object.fromEntries(Array.from(main.querySelectorAll(".sx-explorer")).map(e =>
      [e.dataset.name, !!e.sxExplorer && e.classList.contains("sx-ready")])),
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

EXPLORERS_DRAWN_JS = """
() => Array.from(document.querySelectorAll(".sx-explorer")).every(e => e.sxExplorer)
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


def listen(tab, rendered: Rendered) -> None:
    """Records the tab's requests and errors into `rendered`."""
    tab.on("request", lambda request: rendered.requests.append(request.url))
    tab.on("requestfailed", lambda request: rendered.failed_requests.append(f"{request.url} ({request.failure})"))
    tab.on("pageerror", lambda error: rendered.page_errors.append(error.message))
    tab.on("console", lambda message: rendered.console_errors.append(message.text) if message.type == "error" else None)


STRAY_OUTPUT = re.compile(r"already loaded|Warning\b|warnings\.warn|Traceback|\w+Error\b")
"""What a printed output must never say: chatter of the setup ("The Cython
extension is already loaded"), warnings and errors."""


def new_context(browser, local_origin: str | None = None, **options):
    """A browser context in which no request reaches the network: anything
    outside `local_origin` (the book's http server, if any) is aborted."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)

    def route(route):
        if local_origin and route.request.url.startswith(local_origin):
            route.continue_()
        else:
            route.abort()

    context.route(re.compile(r"^(https?|wss?|ftp)://"), route)
    return context


def settle(tab, rendered: Rendered) -> None:
    """Waits for what the page draws after 'load': widgets, explorers, math, fonts, images."""
    for what, script in (("widgets", WIDGETS_RENDERED_JS), ("explorers", EXPLORERS_DRAWN_JS)):
        try:
            tab.wait_for_function(script, timeout=TIMEOUT_MS)
        except PlaywrightError as error:
            rendered.wait_problems.append(f"waiting for {what}: {error.message.splitlines()[0]}")
    tab.evaluate(MATHJAX_DONE_JS)
    tab.evaluate("() => document.fonts.ready.then(() => true)")
    # A loaded machine (CI, parallel workers, the live-JupyterLab test running a
    # chapter beside) can take seconds to read the page's local files; a page
    # still loading after twice TIMEOUT_MS is a defect (one that keeps loading
    # never goes idle, however long the wait).
    for attempt in range(2):
        try:
            tab.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
            break
        except PlaywrightError:
            if attempt:
                rendered.wait_problems.append(f"the page kept loading for {2 * TIMEOUT_MS // 1000} s after 'load'")
    tab.evaluate(IMAGES_SETTLED_JS)


def save_screenshot(path: Path, png: bytes) -> None:
    """Written atomically: under pytest-xdist two workers may shoot the same page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(png)
    os.replace(partial, path)


@contextmanager
def tab_at(browser, rendered: Rendered, local_origin: str | None = None):
    """A tab that has loaded rendered.url, recording into `rendered`."""
    context = new_context(browser, local_origin=local_origin)
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    listen(tab, rendered)
    try:
        tab.goto(rendered.url, wait_until="load")
        yield tab
    finally:
        context.close()


def visit(browser, html_dir: Path, page: Page) -> Rendered:
    html = page.html(html_dir)
    if not html.exists():
        pytest.fail(f"{page.docname} is in _toc.yml but {html} was not built", pytrace=False)
    rendered = Rendered(page, html.as_uri(), SCREENSHOTS / screenshot_name(page), facts={})
    with tab_at(browser, rendered) as tab:
        settle(tab, rendered)
        rendered.facts = tab.evaluate(FACTS_JS)
        save_screenshot(rendered.screenshot, tab.screenshot(full_page=True))
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
    assert not facts["stderr"], f"stray stderr outputs (warnings, compiler chatter): {facts['stderr']}: {detail(shown)}"
    stray = [text for text in facts["streams"] if STRAY_OUTPUT.search(text)]
    assert not stray, f"stray outputs: {stray}: {detail(shown)}"
    assert not shown.page_errors, f"JavaScript errors: {shown.page_errors}: {detail(shown)}"
    assert not shown.console_errors, f"console errors: {shown.console_errors}: {detail(shown)}"
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
def test_no_widget_without_a_kernel(page, rendered):
    """Saved ipywidgets render in a static page but cannot run: a slider that
    moves nothing. Their cells are tagged remove-output; explorers replace them."""
    shown = rendered(page)
    assert shown.facts["widgetViews"] == 0, (
        f"{shown.facts['widgetViews']} ipywidgets shown without a kernel (tag the cell remove-output and give "
        f"the page an explorer): {detail(shown)}"
    )


@pytest.mark.parametrize("page", [p for p in PAGES if has_panel(p)], ids=ids([p for p in PAGES if has_panel(p)]))
def test_measurement_chapters_have_an_explorer(page, rendered):
    shown = rendered(page)
    assert shown.facts["explorers"] and all(shown.facts["explorers"].values()), (
        f"a chapter with a live panel needs an explorer over the build's measurements: "
        f"{shown.facts['explorers']}: {detail(shown)}"
    )


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


# --------------------------------------------------------------------------- over http


def outside_server(url: str, base: str) -> bool:
    return not url.startswith(("data:", "blob:", "about:", base))


@pytest.mark.parametrize("page", PAGES, ids=ids(PAGES))
def test_over_http(page, browser, book_html, book_http):
    """The same page from a local http server: it draws its explorers, logs no
    error, and requests nothing outside the book."""
    rendered = Rendered(page, book_http + f"{page.docname}.html", SCREENSHOTS / "unused", facts={})
    with tab_at(browser, rendered, local_origin=book_http) as tab:
        settle(tab, rendered)
        drawn = tab.evaluate("() => Array.from(document.querySelectorAll('.sx-explorer')).map(e => !!e.sxExplorer)")
    where = f"{page.docname} over http ({rendered.url})"
    assert not rendered.wait_problems, f"{rendered.wait_problems}: {where}"
    assert all(drawn), f"explorers not drawn: {where}"
    assert not rendered.page_errors and not rendered.console_errors, (
        f"errors: {rendered.page_errors + rendered.console_errors}: {where}"
    )
    assert not rendered.failed_requests, f"failed requests: {rendered.failed_requests}: {where}"
    outside = sorted({url for url in rendered.requests if outside_server(url, book_http)})
    assert not outside, f"requests outside the book's server: {outside}: {where}"


# --------------------------------------------------------------------------- explorers: helpers


@contextmanager
def opened(browser, html_dir: Path, page: Page):
    """A tab on the page with its explorers drawn; fails on any error it logged."""
    rendered = Rendered(page, page.html(html_dir).as_uri(), SCREENSHOTS / "unused", facts={})
    with tab_at(browser, rendered) as tab:
        tab.wait_for_function(EXPLORERS_DRAWN_JS)
        yield tab
        errors = rendered.page_errors + rendered.console_errors + rendered.failed_requests
        assert not errors, f"errors while using the explorers of {page.docname}: {errors}"


class Handle:
    """One explorer in a tab: its state (what is plotted), config and controls."""

    def __init__(self, tab, name: str):
        self.tab, self.name = tab, name
        self.root = tab.locator(f'.sx-explorer[data-name="{name}"]')

    def _call(self, body: str, arg=None):
        return self.tab.evaluate(
            "([name, arg]) => { const e = document.querySelector(`.sx-explorer[data-name=\"${name}\"]`).sxExplorer;"
            + body + "}",
            [self.name, arg],
        )

    def state(self) -> dict:
        return self._call("return e.state();")

    def config(self) -> dict:
        return self._call("return e.config;")

    def control(self, name: str):
        return self.root.locator(f'[data-control="{name}"]')

    def point(self, label: str, x):
        return self._call("return e.pointPosition(arg[0], arg[1]);", [label, x])

    def shot(self, step: str) -> Path:
        # The theme's sticky header would cover the part of a tall explorer scrolled under it.
        self.tab.add_style_tag(content=".bd-header-article, .skip-link { visibility: hidden !important; }")
        path = SCREENSHOTS / f"explorer-{self.name}-{step}.png"
        save_screenshot(path, self.root.screenshot())
        return path


# The point moved 1 px inside the plot area where it lies on its edge (the
# largest x is on the right edge, where the canvas, not the plot, is hit), and
# whether the plot area is what the mouse would hit there.
HIT_JS = """([over, x, y]) => {
  const r = over.getBoundingClientRect();
  x = Math.min(Math.max(x, r.left + 1), r.right - 1);
  y = Math.min(Math.max(y, r.top + 1), r.bottom - 1);
  const e = document.elementFromPoint(x, y);
  return {x, y, hit: !!(e && e.closest('.u-over') === over)};
}"""


def hover(tab, handle: Handle, label: str, x, attempts: int = 5) -> str:
    """The tooltip shown with the mouse on a point of the series label.  The
    plot is scrolled to the middle of the viewport, and further until the
    point is the plot's and not the sticky header's (which covers the top of
    the viewport); the mouse moves again until the tooltip names the series
    (uPlot re-reads its bounding box after a scroll), or gives up and returns
    what shows."""
    over = handle.root.locator(".u-over").first
    over.evaluate("e => e.scrollIntoView({block: 'center', inline: 'center'})")
    tooltip = ""
    for _ in range(attempts):
        point = handle.point(label, x)
        where = tab.evaluate(HIT_JS, [over.element_handle(), point["x"], point["y"]])
        if not where["hit"]:
            tab.mouse.wheel(0, where["y"] - tab.viewport_size["height"] / 2)
            tab.wait_for_timeout(200)
            continue
        tab.mouse.move(0, 0)
        tab.mouse.move(where["x"], where["y"])
        try:
            tab.wait_for_function("([tip, label]) => tip.textContent.includes(label) && !tip.hidden",
                                  arg=[handle.root.locator(".sx-tooltip").element_handle(), label], timeout=2000)
        except PlaywrightError:
            pass
        tooltip = handle.state()["tooltip"]
        if label in tooltip:
            break
    return tooltip


def explorer_names(tab, kind: str = "lines") -> list[str]:
    return tab.evaluate(f"() => Array.from(document.querySelectorAll('.sx-explorer[data-kind=\"{kind}\"]'))"
                        ".map(e => e.dataset.name)")


def plain(value):
    """A value as the page's JSON has it: NaN is null."""
    if isinstance(value, float) and np.isnan(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def data_frame(config: dict) -> pd.DataFrame:
    return pd.DataFrame(config["data"])


def series_rows(data: pd.DataFrame, config: dict, state: dict, label: str, xs) -> pd.DataFrame:
    """The data rows of one plotted series: its label, the facet values chosen."""
    rows = data[data[config["label"]] == label]
    for facet, value in state["facets"].items():
        if value != "*":
            rows = rows[rows[facet] == value]
    rows = rows.set_index(config["x"]["column"])
    assert rows.index.is_unique, f"{label}: several rows at one x for the facets {state['facets']}"
    return rows.loc[list(xs)]


def paired_ratio(rounds: list, base_rounds: list) -> float | None:
    """analysis.paired_ratio on per-round times: the median of the round-by-round ratios."""
    pairs = [a / b for a, b in zip(rounds, base_rounds) if a is not None and b is not None]
    return float(np.median(pairs)) if pairs else None


def most_separated_point(state: dict):
    """A (series, x) whose value is farthest from every other series' at that x,
    so that hovering it cannot pick a neighbour."""
    drawn = book_series(state)
    best, best_gap = None, -1.0
    for series in drawn:
        for x, y in zip(series["x"], series["y"]):
            if y is None:
                continue
            others = [o["y"][o["x"].index(x)] for o in drawn if o is not series and x in o["x"]]
            gap = min([abs(y - v) for v in others if v is not None] or [np.inf])
            if gap > best_gap:
                best, best_gap = (series, x), gap
    return best


def book_series(state: dict) -> list[dict]:
    return [s for s in state["series"] if s["source"] == "book" and not s["roof"]]


def assert_plots_measure(handle: Handle, data: pd.DataFrame, config: dict, measure: str) -> None:
    state = handle.state()
    assert state["measure"] == measure
    drawn = book_series(state)
    assert drawn, f"{handle.name}: nothing plotted"
    for series in drawn:
        rows = series_rows(data, config, state, series["base"], series["x"])
        assert series["y"] == [plain(v) for v in rows[measure]], f"{handle.name}: {series['label']} is not {measure}"


# --------------------------------------------------------------------------- explorers: every control


CONTROLS_JS = """
() => {
  const article = document.querySelector("main article") || document.querySelector("main");
  const shown = el => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
  };
  // Copy buttons copy a code block to the clipboard: page chrome, not content.
  const controls = Array.from(article.querySelectorAll("input, select, textarea, button, [role=slider]"))
    .filter(c => !c.closest(".copybtn") && !c.classList.contains("copybtn"))
    .filter(c => c.type === "file" ? shown(c.parentElement) : shown(c));
  return controls.map((c, i) => {
    c.setAttribute("data-probe", String(i));
    const label = c.getAttribute("data-control") || c.getAttribute("aria-label") || (c.closest("label") || c).textContent.trim();
    return {index: i, tag: c.tagName.toLowerCase(), type: c.type || "", label: label.slice(0, 80),
            explorer: (c.closest(".sx-explorer") || {dataset: {}}).dataset.name || null};
  });
}
"""

# What a control may change: every explorer's plotted data and readouts, and the
# article's text outside the explorers' control panels (hidden content revealed, ...).
FINGERPRINT_JS = """
() => {
  const article = document.querySelector("main article") || document.querySelector("main");
  let text = article.innerText;
  for (const panel of article.querySelectorAll(".sx-controls, .sx-series")) text = text.replace(panel.innerText, "");
  const drawn = Array.from(document.querySelectorAll(".sx-explorer")).map(e => {
    if (!e.sxExplorer) return null;
    const s = e.sxExplorer.state();
    return [s.series, s.plotted, s.scales, s.yLabel, s.readout, s.text, s.x, s.n, s.t, s.m];
  });
  return JSON.stringify({drawn, text});
}
"""


def change(tab, control: dict, your_results: Path):
    """Changes one control the way a reader would; returns what was done and
    how to undo it (None where only a reload does)."""
    target = tab.locator(f'[data-probe="{control["index"]}"]')
    kind = control["type"] if control["tag"] == "input" else control["tag"]
    if kind in ("checkbox", "radio"):
        target.click()
        return "clicked", target.click
    if kind in ("button", "submit"):
        target.click()
        return "clicked", None
    if kind == "select":
        options = target.locator("option").evaluate_all("os => os.map(o => o.value)")
        current = target.input_value()
        choice = options[(options.index(current) + 1) % len(options)]
        target.select_option(choice)
        return f"chose {choice!r}", lambda: target.select_option(current)
    if kind == "range":
        target.focus()
        key, back = ("ArrowLeft", "ArrowRight") if target.input_value() == target.get_attribute("max") else (
            "ArrowRight", "ArrowLeft")
        tab.keyboard.press(key)
        return f"pressed {key}", lambda: (target.focus(), tab.keyboard.press(back))
    if kind == "file":
        target.set_input_files(str(your_results))
        tab.wait_for_timeout(300)
        return f"loaded {your_results.name}", None
    if kind in ("text", "number", "search", "textarea"):
        current = target.input_value()
        target.fill("-2.5")
        target.press("Enter")
        return "typed -2.5", lambda: (target.fill(current), target.press("Enter"))
    raise AssertionError(f"no way to change {control}")


@pytest.mark.parametrize("page", PAGES, ids=ids(PAGES))
def test_every_control_changes_something(page, browser, book_html, your_results, capsys):
    """Every visible control in the article, changed from the page as it opens,
    changes something besides itself: what an explorer plots or shows, or the
    article's text. Each control starts from the page as it opens: the change
    is undone (and the page checked to be as it was), or the page reloaded.
    The counts per page go to _build/screenshots/controls-<page>.json."""
    live, dead = [], []
    with opened(browser, book_html, page) as tab:
        controls = tab.evaluate(CONTROLS_JS)
        initial = tab.evaluate(FINGERPRINT_JS)
        for control in controls:
            action, undo = change(tab, control, your_results)
            tab.wait_for_timeout(50)
            (live if tab.evaluate(FINGERPRINT_JS) != initial else dead).append({**control, "action": action})
            if undo is not None:
                undo()
            if undo is None or tab.evaluate(FINGERPRINT_JS) != initial:
                tab.reload(wait_until="load")
                tab.wait_for_function(EXPLORERS_DRAWN_JS)
                tab.evaluate(CONTROLS_JS)
                assert tab.evaluate(FINGERPRINT_JS) == initial, f"{page.docname} opens differently twice"
    report = {"page": page.docname, "changes something": len(live), "changes nothing": len(dead),
              "controls": live + dead}
    save_screenshot(SCREENSHOTS / f"controls-{page.stem}.json", json.dumps(report, indent=1).encode())
    with capsys.disabled():
        print(f"\n{page.docname}: {len(live)} controls change something, {len(dead)} change nothing")
    assert not dead, f"controls that change nothing besides themselves on {page.docname}: {dead}"


# --------------------------------------------------------------------------- explorers: measurements


LINES_PAGES = [p for p in EXPLORER_PAGES if has_sweep_panel(p)]
# and the explorers over other measurements across sizes (explorer.over_samples)
MEASUREMENT_PAGES = LINES_PAGES + [p for p in EXPLORER_PAGES if "explorer.over_samples(" in source_text(p)]


@pytest.mark.parametrize("page", MEASUREMENT_PAGES, ids=ids(MEASUREMENT_PAGES))
def test_measurement_explorers(page, browser, book_html):
    """Each control of a measurement explorer changes the plotted data as it
    should: the plotted series are the data's, for every measure, series choice,
    size range and baseline (paired ratios); log axes switch the scales; hover
    shows the point's values."""
    with opened(browser, book_html, page) as tab:
        names = explorer_names(tab)
        assert names, f"no measurement explorer on {page.docname}"
        for name in names:
            handle = Handle(tab, name)
            config = handle.config()
            data = data_frame(config)
            state = handle.state()
            assert {s["base"] for s in book_series(state)} == set(config["selected"] or data[config["label"]]), (
                f"{name}: the series shown first are not the ones the chapter chose"
            )
            assert_plots_measure(handle, data, config, config["measure"])
            handle.shot("measure-before")
            for measure in [m["column"] for m in config["measures"] if m["column"] != config["measure"]]:
                handle.control("measure").select_option(measure)
                assert_plots_measure(handle, data, config, measure)
            handle.shot("measure-after")
            handle.control("measure").select_option(config["measure"])

            # series: hide one, show one that was hidden
            first = book_series(handle.state())[0]["base"]
            handle.control(f"series:{first}").uncheck()
            assert first not in {s["base"] for s in handle.state()["series"]}
            handle.control(f"series:{first}").check()
            hidden = sorted(set(data[config["label"]]) - set(config["selected"] or data[config["label"]]))
            if hidden:
                handle.control(f"series:{hidden[0]}").check()
                assert hidden[0] in {s["base"] for s in handle.state()["series"]}
                handle.control(f"series:{hidden[0]}").uncheck()

            # size range
            xs = range_options(handle)
            shown = sorted({x for series in handle.state()["series"] for x in series["x"]})
            assert set(shown) <= set(xs), f"{name}: sizes plotted that the range does not offer"
            handle.control("x-from").select_option(str(xs[1]))
            handle.control("x-to").select_option(str(xs[-2]))
            for series in handle.state()["series"]:
                assert min(series["x"]) >= xs[1] and max(series["x"]) <= xs[-2], f"{name}: range not applied"
            handle.control("x-from").select_option(str(xs[0]))
            handle.control("x-to").select_option(str(xs[-1]))

            # log axes
            assert handle.state()["scales"] == {"x": "log", "y": "linear"}
            handle.control("x-log").click()
            handle.control("y-log").click()
            assert handle.state()["scales"] == {"x": "linear", "y": "log"}
            handle.control("x-log").click()
            handle.control("y-log").click()

            # roofs, where the series on show have them
            if handle.control("roofs").is_visible():
                handle.control("roofs").check()
                roofs = [s for s in handle.state()["series"] if s["roof"]]
                assert roofs, f"{name}: roofs checked, none drawn"
                roof_column = next(m["roof"] for m in config["measures"] if m["column"] == config["measure"])
                for series in roofs:
                    rows = series_rows(data, config, handle.state(), series["base"], series["x"])
                    assert series["y"] == [plain(v) for v in rows[roof_column]]
                handle.control("roofs").uncheck()

            # hover: the tooltip names the point and shows its values
            series, x = most_separated_point(handle.state())
            tooltip = hover(tab, handle, series["label"], x)
            row = series_rows(data, config, handle.state(), series["base"], [x]).iloc[0]
            assert series["label"] in tooltip, f"{name}: hover shows {tooltip!r}"
            # the tooltip's text runs on into the next label ("0.5910^9 elements/s"): stop before it
            shown = float(re.search(r"ns/element: (\d+(?:\.\d+?)?(?:e[+-]?\d+)?)(?=10\^9|[^\d.]|$)",
                                    tooltip).group(1))
            assert shown == pytest.approx(row["ns_per_element"], rel=1e-3), f"{name}: hover shows {tooltip!r}"
            tab.mouse.move(0, 0)

            # baseline: each series' time over the baseline's, paired round by round
            base = config["selected"][0] if config["selected"] else data[config["label"]].iloc[0]
            handle.shot("baseline-before")
            assert_speedups(handle, data, config, base)
            handle.shot("baseline-after")
            handle.control("baseline").select_option("")

            # facets (the protocol, ...): each value plots its own rows, and speedups pair within it
            for facet in config["facets"]:
                control = handle.control(f"facet:{facet}")
                if not control.count() or control.get_attribute("type") == "range":
                    continue
                start = control.input_value()
                for value in data[facet].dropna().unique():
                    control.select_option(json.dumps(plain(value)))
                    assert handle.state()["facets"][facet] == plain(value), f"{name}: {facet} not set"
                    rows = data[data[facet] == value]
                    assert range_options(handle) == sorted(rows[config["x"]["column"]].unique()), (
                        f"{name}: the size range at {facet} = {value} offers sizes it has no data for")
                    assert_plots_measure(handle, data, config, config["measure"])
                    assert_speedups(handle, data, config, base)
                    handle.control("baseline").select_option("")
                control.select_option(start)


def range_options(handle: Handle) -> list:
    """The x values the size range offers."""
    values = [float(v) for v in handle.control("x-from").locator("option").evaluate_all("os => os.map(o => o.value)")]
    return [int(v) if v.is_integer() else v for v in values]


def assert_speedups(handle: Handle, data: pd.DataFrame, config: dict, base: str) -> None:
    """With `base` as the baseline, each series is its time over the base's at
    each x (for the facet values chosen), paired round by round."""
    handle.control("baseline").select_option(base)
    state = handle.state()
    assert state["yLabel"] == f"speedup of {base}" and book_series(state), f"{handle.name}: no speedup drawn"
    for series in book_series(state):
        rows = series_rows(data, config, state, series["base"], series["x"])
        base_rows = series_rows(data, config, state, base, series["x"])
        expected = [paired_ratio(a, b) for a, b in zip(rows[config["rounds"]], base_rows[config["rounds"]])]
        assert series["y"] == pytest.approx(expected, rel=1e-12), f"{handle.name}: {series['label']} over {base}"
    assert not handle.control("measure").is_visible(), "the measure does not apply to a speedup"


@pytest.mark.parametrize("page", LINES_PAGES, ids=ids(LINES_PAGES))
def test_explorer_data_is_the_saved_sweep(page, browser, book_html, tmp_path):
    """The CSV download equals the explorer's data, and that data is what
    plots.throughput_data makes from the sweep the chapter saved (the frame its
    static figures draw), recomputed here from the saved samples."""
    from kernels.bench import analysis, plots, results

    with opened(browser, book_html, page) as tab:
        for name in explorer_names(tab):
            handle = Handle(tab, name)
            config = handle.config()
            with tab.expect_download() as download:
                handle.root.locator("a.sx-download").click()
            csv_path = tmp_path / download.value.suggested_filename
            download.value.save_as(csv_path)
            csv = pd.read_csv(csv_path, keep_default_na=False, dtype=str)
            data = config["data"]  # as the page has it (a DataFrame would read null as NaN)
            assert list(csv.columns) == list(data) and len(csv) == len(data["n"])
            for column, values in data.items():
                for got, want in zip(csv[column], values):
                    if isinstance(want, list):
                        assert [float(v) if v else None for v in got.split(" ")] == want, column
                    elif want is None:
                        assert got == "", column
                    elif isinstance(want, (int, float)):
                        assert float(got) == want, column
                    else:
                        assert got == want, column

            assert config["source"], f"{name}: no saved sweep named"
            run = results.load(results.results_root().parent / config["source"])
            summary = analysis.summarize(run.samples, run.machine)  # the traffic model of the run's CPU, as the page
            saved = plots.throughput_data(summary, samples=run.samples)
            for column, allowed in config["filter"].items():
                saved = saved[saved[column].isin(allowed)]
            saved = saved.reset_index(drop=True)
            assert list(saved.columns) == list(data)
            for column in saved.columns:
                assert [plain(v) for v in saved[column]] == data[column], f"{name}: {column} differs"

            if page.stem.startswith("04"):  # the speedup figure's own function, on the saved samples
                base = next(c for c in config["selected"] if c.startswith("two-pass ["))
                other = base.replace("two-pass", "three-pass-reload")
                handle.control("baseline").select_option(base)
                series = next(s for s in handle.state()["series"] if s["base"] == other)
                expected = [analysis.paired_ratio(run.samples, "warm", n, other, base) for n in series["x"]]
                assert series["y"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("page", LINES_PAGES, ids=ids(LINES_PAGES))
def test_compare_with_your_machine(page, browser, book_html, your_results):
    """Loading the explorer.json of a quick sweep (`python -m kernels.bench
    sweep`) overlays its curves beside the book's, labelled with both machines;
    removing it restores the book's."""
    results_file = json.loads(your_results.read_text())
    theirs = pd.DataFrame(results_file["data"])
    with opened(browser, book_html, page) as tab:
        for name in explorer_names(tab):
            handle = Handle(tab, name)
            config = handle.config()
            before = handle.state()
            handle.shot("compare-before")
            handle.control("file").set_input_files(str(your_results))
            tab.wait_for_function(
                "name => document.querySelector(`.sx-explorer[data-name=\"${name}\"]`).sxExplorer.state().loaded", arg=name
            )
            handle.shot("compare-after")
            state = handle.state()
            yours = [s for s in state["series"] if s["source"] != "book"]
            assert yours, f"{name}: the file's curves are not drawn"
            for series in yours:
                for column, allowed in config["filter"].items():
                    assert theirs[theirs[config["label"]] == series["base"]][column].isin(allowed).all()
                rows = theirs[theirs[config["label"]] == series["base"]].set_index("n").loc[series["x"]]
                assert series["y"] == [plain(v) for v in rows[config["measure"]]], f"{name}: {series['label']}"
                assert series["label"].endswith(state["loaded"])
            assert any(s["source"] == "book" and "this book's build" in s["label"] for s in state["series"])
            machines = handle.root.locator(".sx-machines").inner_text()
            assert config["machine"]["cpu"] in machines and results_file["machine"]["cpu"] in machines
            assert "explorer.json" in machines
            handle.control("remove").click()
            after = handle.state()
            assert after["loaded"] is None and after["series"] == before["series"]


# --------------------------------------------------------------------------- explorers: the overflow slider


OVERFLOW = [p for p in EXPLORER_PAGES if p.stem.startswith("01")]


@pytest.mark.parametrize("page", OVERFLOW, ids=ids(OVERFLOW))
def test_overflow_slider_draws_every_step(page, browser, book_html):
    """The slider redraws without a kernel: at each step the plotted points are
    the build's numpy results for that scale, and the NaN counts are its own."""
    with opened(browser, book_html, page) as tab:
        handle = Handle(tab, "overflow-slider")
        config = handle.config()
        data = data_frame(config)
        nans = pd.DataFrame(config["readout"]["data"])
        scales = sorted(data["scale"].unique())
        slider = handle.control("facet:scale")

        def check(scale):
            state = handle.state()
            assert state["facets"]["scale"] == scale
            for series in state["series"]:
                rows = data[(data["method"] == series["base"]) & (data["scale"] == scale)].set_index("rank")
                assert series["y"] == [plain(v) for v in rows.loc[series["x"], "probability"]], series["label"]
            for method, count in nans[nans["scale"] == scale][["method", "NaN outputs"]].itertuples(index=False):
                assert f"{method} {count:,}" in state["readout"]

        assert {s["base"] for s in handle.state()["series"]} == set(data["method"])
        check(config["facetDefaults"]["scale"])
        handle.shot("slider-before")
        slider.focus()
        tab.keyboard.press("ArrowRight")
        check(scales[scales.index(config["facetDefaults"]["scale"]) + 1])
        handle.shot("slider-after")
        for index in (0, len(scales) // 3, len(scales) - 1):
            slider.evaluate("(e, i) => { e.value = String(i); e.dispatchEvent(new Event('input')); }", index)
            check(scales[index])
        failing = sorted(nans[(nans["method"] == "naive float32") & (nans["NaN outputs"] > 0)]["scale"])
        assert failing and failing[0] > scales[0], "the slider should span the scale where the naive softmax fails"


# --------------------------------------------------------------------------- explorers: ExtExp


def extexp_inputs() -> np.ndarray:
    """Edges, specials, the boundaries of n, and random inputs and bit patterns."""
    f32 = np.float32
    edges = [0.0, -0.0, 1.0, -1.0, 1000.0, -1000.0, 65000.0, -65000.0, 65536.0, -65536.0, 1e5, -1e5,
             88.72283, -87.33654, 0.5, 1e-3, 1e-30, 1.5e-38, 1e-40, -1e-45, 3.4028235e38, -3.4028235e38,
             np.inf, -np.inf, np.nan]
    edges += [float(np.nextafter(f32(v), f32(d))) for v in (65536.0, -65536.0) for d in (0, 1e9 * np.sign(v))]
    # x * log2(e) near k + 1/2: where the rounding of n changes
    edges += [float(np.nextafter(f32((k + 0.5) * np.log(2)), f32(d))) for k in range(-30, 30) for d in (-1e9, 1e9)]
    rng = np.random.default_rng(2020)
    uniform = rng.uniform(-65536, 65536, 200)
    patterns = rng.integers(0, 2**32, 150, dtype=np.uint64).astype(np.uint32).view(np.float32)
    patterns = patterns[np.isfinite(patterns)]
    return np.concatenate([np.array(edges, np.float32), uniform.astype(np.float32), patterns])


PARETO = [p for p in EXPLORER_PAGES if "pareto_explorer(" in source_text(p)]


@pytest.mark.parametrize("page", PARETO, ids=ids(PARETO))
def test_pareto_explorer_plots_every_isa_and_pass(page, browser, book_html):
    """For every ISA and pass the explorer plots one point per exponential,
    its pass time and excess from kernels.bench.expfamily.pareto_points (the
    static figure's data), and hover names the exponential."""
    with opened(browser, book_html, page) as tab:
        handle = Handle(tab, "exp-pareto")
        config = handle.config()
        data = data_frame(config)
        assert config["facets"] == ["isa", "pass"] and config["yLog"]
        for isa, pass_ in data[["isa", "pass"]].drop_duplicates().itertuples(index=False):
            handle.control("facet:isa").select_option(json.dumps(isa))
            handle.control("facet:pass").select_option(json.dumps(pass_))
            state = handle.state()
            expected = data[(data["isa"] == isa) & (data["pass"] == pass_)].set_index("exp")
            drawn = {s["base"]: s for s in book_series(state)}
            assert set(drawn) == set(expected.index), f"{isa}, {pass_}: {sorted(drawn)}"
            for exp, series in drawn.items():
                points = [(x, y) for x, y in zip(series["x"], series["y"]) if y is not None]
                assert points == [(expected.at[exp, "ns_per_element"], expected.at[exp, "excess"])], (isa, pass_, exp)
        series, x = most_separated_point(handle.state())
        tooltip = hover(tab, handle, series["label"], x)
        assert series["label"] in tooltip and "max ULP" in tooltip, f"hover shows {tooltip!r}"


EXTEXP = [p for p in EXPLORER_PAGES if "explorer.extexp(" in source_text(p)]


@pytest.mark.parametrize("page", EXTEXP, ids=ids(EXTEXP))
def test_extexp_explorer_equals_vextexp(page, browser, book_html):
    """The page's ExtExp (float32 arithmetic in JavaScript) gives the library's
    scalar vextexp kernel's (m, n) bit for bit, and the widest ISA's, on a few
    hundred inputs; typing x shows the kernel's bits."""
    import kernels
    from kernels import registry

    x = extexp_inputs()
    with opened(browser, book_html, page) as tab:
        handle = Handle(tab, "extexp")
        config = handle.config()
        got = tab.evaluate(  # Playwright carries NaN, infinities and -0 to the page as they are
            "([xs, K]) => xs.map(x => { const r = SoftmaxExplorers.extexp(x, K);"
            " return [SoftmaxExplorers.bitsOf32(r.m), SoftmaxExplorers.bitsOf32(r.n), Number.isNaN(r.m), Number.isNaN(r.n)]; })",
            [[float(v) for v in x], config["constants"]],
        )
        got = np.array(got, dtype=np.float64)
        names = [config["variant"], registry.default_variant("vextexp", kernels.available_isas()[-1]).name]
        for variant in names:
            m, n = np.empty_like(x), np.empty_like(x)
            kernels.get_kernel(variant)(x, m, n)
            for column, want in ((0, m), (1, n)):
                nan = np.isnan(want)
                assert np.array_equal(got[:, column + 2].astype(bool), nan), f"NaN pattern differs from {variant}"
                mismatch = ~nan & (got[:, column].astype(np.uint32) != want.view(np.uint32))
                assert not mismatch.any(), (
                    f"{'mn'[column]} differs from {variant} at x = {x[mismatch][:5]}: "
                    f"page {got[mismatch, column][:5].astype(np.uint32)}, kernel {want.view(np.uint32)[mismatch][:5]}"
                )

        # typing x
        kernel = kernels.get_kernel(config["variant"])
        handle.shot("x-before")
        for typed in ("65000", "-1000", "1e5", "0.3466"):
            handle.control("x").fill(typed)
            handle.control("x").press("Enter")
            state = handle.state()
            xs = np.array([float(typed)], np.float32)
            m, n = np.empty_like(xs), np.empty_like(xs)
            kernel(xs, m, n)
            assert (state["m"], state["n"]) == (int(m.view(np.uint32)[0]), int(n.view(np.uint32)[0])), typed
            assert f"0x{int(m.view(np.uint32)[0]):08X}" in state["text"]
            assert ("outside the range" in state["text"]) == (abs(xs[0]) > 2**16), typed
            if typed == "65000":
                handle.shot("x-after")


def round_to_float32(exact: Fraction) -> float:
    """The float32 nearest to an exact rational (ties to even), as a float."""
    if exact == 0:
        return 0.0
    sign, magnitude = (-1 if exact < 0 else 1), abs(exact)
    exponent = magnitude.numerator.bit_length() - magnitude.denominator.bit_length()
    if Fraction(2) ** exponent > magnitude:
        exponent -= 1
    quantum = Fraction(2) ** (max(exponent, -126) - 23)
    value = round(magnitude / quantum) * quantum
    return sign * (np.inf if value >= 2**128 else float(value))


@pytest.mark.parametrize("page", EXTEXP, ids=ids(EXTEXP))
def test_page_fma_is_exact(page, browser, book_html):
    """The page's fused multiply-add equals a*b + c computed exactly and rounded
    once to float32, also where rounding a*b + c to double first would round to
    the wrong float32 (a double that lands on a float32 tie)."""
    rng = np.random.default_rng(7)
    a = rng.uniform(-4, 4, 3000).astype(np.float32) * np.float32(2.0) ** rng.integers(-30, 30, 3000).astype(np.float32)
    b = rng.uniform(-4, 4, 3000).astype(np.float32)
    c = (-(a.astype(np.float64) * b).astype(np.float32) * rng.choice([1, 1 + 2**-20, 0.5], 3000)).astype(np.float32)
    triples = [(float(p), float(q), float(r)) for p, q, r in zip(a, b, c)]
    one = 1.0 + 2.0**-12
    triples += [(one, one, s * 2.0**-80) for s in (1, -1)]  # exact a*b is a float32 tie; c decides
    triples += [(one, -one, s * 2.0**-80) for s in (1, -1)]
    with opened(browser, book_html, page) as tab:
        got = tab.evaluate("ts => ts.map(([a, b, c]) => SoftmaxExplorers.fma32(a, b, c))", triples)
    want = [round_to_float32(Fraction(p) * Fraction(q) + Fraction(r)) for p, q, r in triples]
    want = [0.0 if abs(w) < 2.0**-126 else w for w in want]  # FTZ, as the kernels run
    wrong = [(t, g, w) for t, g, w in zip(triples, got, want) if g != w]
    assert not wrong, f"fma32 differs from the exact rounding: {wrong[:5]}"
    assert got[-4] != float(np.float32(np.float64(one) * one + 2.0**-80)), "the tie case must round up, not to even"


# --------------------------------------------------------------------------- JupyterLab, live


LAB_CHAPTER = "notebooks/01-overflow.md"  # light: numpy and scipy only, runs in seconds
LAB_SETTINGS = Path(sys.prefix) / "etc" / "jupyter" / "labconfig" / "default_setting_overrides.json"
LAB_TIMEOUT_MS = 120_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyter_lab(tmp_path: Path):
    """JupyterLab on 127.0.0.1 at the repository root, with a token, in its own
    config, runtime, settings and workspace folders (autosave off: the test
    never writes the chapter), ended with its kernels."""
    port, token = free_port(), secrets.token_hex(16)
    settings = tmp_path / "settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws")}
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = open(tmp_path / "lab.log", "w")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}api/status?token={token}", timeout=2).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start: {(tmp_path / 'lab.log').read_text()[-3000:]}", pytrace=False)
                time.sleep(0.5)
        yield base, token
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


ALL_RUN_JS = r"""
() => {
  const prompts = Array.from(document.querySelectorAll(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt"))
    .map(p => p.textContent.trim());
  return prompts.length > 0 && prompts.every(t => /^\[\d+\]:$/.test(t));
}
"""


def test_chapter_runs_live_in_jupyterlab(browser, tmp_path):
    """`make lab` as a reader uses it: a double-click on a chapter opens it as a
    notebook (the project's jupytext default-viewer setting), Run All Cells runs
    it without an error output, and moving its slider redraws the figure."""
    if importlib.util.find_spec("jupyterlab") is None:
        pytest.skip("jupyterlab is not installed (pip install -e '.[lab]'; make test installs it)")
    assert LAB_SETTINGS.exists() and "Jupytext Notebook" in LAB_SETTINGS.read_text(), (
        f"{LAB_SETTINGS} is missing: `make venv` writes it (jupytext-config set-default-viewer markdown myst)"
    )
    folder, name = LAB_CHAPTER.split("/")
    with jupyter_lab(tmp_path) as (base, token):
        outside = []
        context = browser.new_context(viewport={"width": 1400, "height": 1000})

        def route(route):
            if route.request.url.startswith(base):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route(re.compile(r"^(https?|wss?|ftp)://"), route)
        tab = context.new_page()
        tab.set_default_timeout(LAB_TIMEOUT_MS)
        errors = []
        tab.on("pageerror", lambda error: errors.append(error.message))
        try:
            tab.goto(f"{base}lab?token={token}")
            tab.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{folder}$")).dblclick()
            tab.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(name)}$")).dblclick()
            notebook = tab.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
            notebook.wait_for()
            assert tab.locator(".jp-FileEditor").count() == 0, f"{name} opened in the text editor, not as a notebook"
            # A first visit asks which kernel to start, offering the notebook's own: accept it, as a reader does.
            choose = tab.locator(".jp-Dialog .jp-mod-accept", has_text="Select")
            try:
                choose.wait_for(timeout=15_000)
                choose.click()
            except PlaywrightError:
                pass  # no dialog: the kernel started by itself
            tab.locator(".jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-KernelStatus", has_text="Idle").first.wait_for()
            tab.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
            tab.locator(".lm-Menu-itemLabel", has_text=re.compile("^Run All Cells$")).click()
            try:
                tab.wait_for_function(ALL_RUN_JS, timeout=LAB_TIMEOUT_MS)
            except PlaywrightError:
                save_screenshot(SCREENSHOTS / "jupyterlab-run-all-failed.png", tab.screenshot())
                raise
            failures = notebook.locator("[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
            assert not [f for f in failures if re.search(r"Traceback|\w+Error\b", f)], f"error outputs: {failures}"
            assert notebook.locator(".sx-explorer.sx-ready").count() >= 1, "the explorer did not draw in JupyterLab"

            slider = notebook.locator(".widget-slider").first
            slider.scroll_into_view_if_needed()
            output = notebook.locator(".widget-output img").first
            output.wait_for()
            before = output.get_attribute("src")
            save_screenshot(SCREENSHOTS / "jupyterlab-slider-before.png", notebook.screenshot())
            slider.locator(".noUi-handle, .slider-handle, [role=slider]").first.focus()
            tab.keyboard.press("ArrowRight")
            tab.wait_for_function(
                "([sel, before]) => { const i = document.querySelector(sel); return i && i.src !== before; }",
                arg=[".jp-NotebookPanel:not(.lm-mod-hidden) .widget-output img", before], timeout=30_000)
            save_screenshot(SCREENSHOTS / "jupyterlab-slider-after.png", notebook.screenshot())
            assert not errors, f"JavaScript errors in JupyterLab: {errors}"
            assert not outside, f"requests outside the local server: {sorted(set(outside))}"
        finally:
            context.close()


# --------------------------------------------------------------------------- explorers: a new dimension


def test_a_new_column_is_a_new_control(browser, book_html, tmp_path):
    """A dimension the sweeps do not have yet (threads) is only a column: the
    explorer finds it as a facet (and not the kernels column that follows from
    it), shows a control for it, and plots the chosen value, or one line per
    value."""
    from kernels.bench import explorer

    rows = [{"n": n, "case": case, "threads": threads, "variant": f"{case} on {threads}",
             "gelem_per_s": float(n.bit_length() * threads + k)}
            for k, case in enumerate(["two-pass [x]", "online [x]"]) for threads in (1, 2) for n in (1024, 4096, 16384)]
    frame = pd.DataFrame(rows)
    figure = explorer.Explorer(name="threads", title="synthetic", data=frame, x="n", x_label="n",
                               measures=[explorer.Measure("gelem_per_s", "throughput")], key=["case"], label="case",
                               x_log=2, x_format="pow2")
    assert figure.config()["facets"] == ["threads"]
    (tmp_path / "page").mkdir()
    (tmp_path / "_static").symlink_to(book_html / "_static")
    html = tmp_path / "page" / "index.html"
    html.write_text(f'<!DOCTYPE html><html data-content_root="../"><head><meta charset="utf-8"></head>'
                    f"<body><main><article>{figure.html()}</article></main></body></html>")
    rendered = Rendered(PAGES[0], html.as_uri(), SCREENSHOTS / "unused", facts={})
    with tab_at(browser, rendered) as tab:
        tab.wait_for_function(EXPLORERS_DRAWN_JS)
        handle = Handle(tab, "threads")
        control = handle.control("facet:threads")

        def plotted():
            return {s["label"]: s["y"] for s in handle.state()["series"]}

        def expected(threads, suffix=""):
            chosen = frame[frame["threads"] == threads]
            return {case + suffix: part["gelem_per_s"].tolist() for case, part in chosen.groupby("case", sort=False)}

        assert plotted() == expected(1)
        control.select_option("2")
        assert plotted() == expected(2)
        control.select_option('"*"')
        assert plotted() == {**expected(1, " \u00b7 threads 1"), **expected(2, " \u00b7 threads 2")}
    assert not rendered.page_errors and not rendered.console_errors
