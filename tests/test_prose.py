"""Every number in the book's prose is glued, cited or a listed definition."""

import pytest

from tests import prose_scan


def test_no_typed_numbers_in_prose():
    findings = prose_scan.scan()
    assert not findings, "numbers typed into prose (glue them, cite them, or list them with a reason in " \
                         "tests/prose_allowlist.yml):\n" + "\n".join(map(str, findings))


def test_allowlist_entries_are_all_needed():
    assert not prose_scan.unused_entries(), prose_scan.unused_entries()


@pytest.mark.parametrize("text, typed", [
    ("At 2^26 elements torch reaches about 0.001.", ["2^26", "0.001"]),
    ("The pass runs at 0.31 ns per element on this CPU.", ["0.31"]),
    ("It is 1.25 times as fast.", ["1.25"]),
    ("A 40,000-output check.", ["40,000"]),
    ("It took 12 seconds ({glue:text}`t`).", ["12"]),
])
def test_scan_finds_typed_numbers(text, typed):
    found = [f.number for f in prose_scan.scan_text(text, "x.md", prose_scan.load_allowlist())]
    assert found == typed


@pytest.mark.parametrize("text", [
    "At {glue:text}`n` elements it is {glue:text}`ratio` times as fast.",
    "The paper reports 1.28 {cite}`dukhan2020twopass`.",
    "Inline `x = 12` code and $2^{26}$ math are not prose.",
    "```{code-cell} ipython3\nx = 0.31\n```",
    "$$\ny = 3.5\n$$",
    "In pass 2 the output is 0.",
])
def test_scan_skips_what_is_not_a_typed_figure(text):
    assert prose_scan.scan_text(text, "x.md", prose_scan.load_allowlist()) == []
