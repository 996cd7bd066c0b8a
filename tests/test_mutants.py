"""The mutation run's list stays applicable: every deliberate bug of
tests/mutants/mutants.py still matches exactly one place in its file (the run
itself, tests/mutants/run.py, is heavy and opt-in)."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "mutants"))
from mutants import MUTANTS  # noqa: E402


def test_mutant_names_are_unique():
    names = [m.name for m in MUTANTS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_every_mutant_applies_once(mutant):
    text = (ROOT / mutant.path).read_text()
    assert text.count(mutant.old) == 1, f"{mutant.path} holds the snippet {text.count(mutant.old)} times"
    assert mutant.old != mutant.new
    assert all((ROOT / t).exists() for t in mutant.tests)
