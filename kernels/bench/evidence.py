"""The tuner's rule of evidence, shared by the variant tuner (tune.py) and
the decision-map tuner (tune_dispatch.py): a candidate replaces the
incumbent only on a convincing per-round gain, above MIN_GAIN and twice the
apparent gain of an A/A pair timed in the same rounds."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

MIN_GAIN = 1.05
"""The smallest gain worth a change, whatever the statistics say: on the
shared 2-core build machine an A/A pair's per-round ratios spread by 3 to 18 %
and their medians over 21 rounds by up to 5 %."""
CONFIDENCE = 0.95
"""One-sided confidence of the lower bound on the median per-round gain."""
MAJORITY = 0.8
"""The share of rounds a candidate must win when the bound is inconclusive."""
NOISE_FACTOR = 2.0
"""A gain must exceed this multiple of the A/A pair's apparent gain."""
MARGINAL_BAND = 0.03
"""How near the threshold a decision is marginal: a gain within this factor
of the threshold, above or below, can land on the other side in another run
of the tuner (between identical runs of `python -m kernels.bench
tune-agreement` the median gain of one candidate moved by several per cent),
so it is recorded as a tie."""
AA_SUFFIX = " (A/A copy)"


# ------------------------------------------------------------- the rule


def median_lower_bound(values, confidence: float = CONFIDENCE) -> float:
    """Distribution-free lower confidence bound on the median: the k-th
    smallest of m values, for the largest k with P(Binomial(m, 1/2) < k) <=
    1 - confidence; -inf when m is too small for any (m < 5 at 95 %)."""
    ordered = sorted(values)
    m, k, tail = len(ordered), 0, 0.0
    while k < m:
        tail += math.comb(m, k) / 2.0**m  # P(Binomial(m, 1/2) <= k)
        if tail > 1.0 - confidence:
            break
        k += 1
    return ordered[k - 1] if k else -math.inf


@dataclass
class Evidence:
    """Per-round gains time(incumbent) / time(candidate) at one size, and the
    A/A noise measured in the same rounds."""

    gains: np.ndarray
    noise: float

    @property
    def median(self) -> float:
        return float(np.median(self.gains))

    @property
    def lower(self) -> float:
        return median_lower_bound(self.gains)

    @property
    def upper(self) -> float:
        return -median_lower_bound(-self.gains)

    @property
    def wins(self) -> float:
        return float(np.mean(self.gains > 1.0))

    @property
    def threshold(self) -> float:
        """The gain worth a change: above MIN_GAIN and the noise."""
        return max(MIN_GAIN, 1.0 + NOISE_FACTOR * self.noise)

    def convincing(self) -> bool:
        """The rule: a lower confidence bound above 1 (or a clear majority of
        rounds won), and a median gain above the threshold."""
        significant = self.lower > 1.0 or (len(self.gains) >= 5 and self.wins >= MAJORITY)
        return significant and self.median > self.threshold

    def clearly_short(self) -> bool:
        """The gain is confidently below the threshold, outside its marginal
        band (upper confidence bound)."""
        return self.upper < self.threshold / (1.0 + MARGINAL_BAND)

    def clearly_above(self) -> bool:
        """The median gain is above the threshold's marginal band."""
        return self.median > self.threshold * (1.0 + MARGINAL_BAND)

    def describe(self) -> str:
        return (f"gain {self.median:.3f} in [{self.lower:.3f}, {self.upper:.3f}], "
                f"threshold {self.threshold:.3f}")


class Rounds:
    """The samples of one interleaved measurement, as a rep x case table."""

    def __init__(self, samples: list[dict]):
        self.table = pd.DataFrame(samples).pivot_table(index="rep", columns="case", values="ns_per_call")

    def gains(self, incumbent: str, candidate: str) -> np.ndarray:
        return (self.table[incumbent] / self.table[candidate]).to_numpy()

    def noise(self, reference: str) -> float:
        """The apparent gain of an identical copy of `reference` timed in the
        same rounds: |median per-round ratio - 1|, which no real gain can be
        told from."""
        return abs(float(np.median(self.gains(reference, reference + AA_SUFFIX))) - 1.0)

    def median_ns(self, case: str) -> float:
        return float(self.table[case].median())


def evidence(rounds_per_size: list[Rounds], incumbent: str, candidate: str, reference: str) -> list[Evidence]:
    return [Evidence(r.gains(incumbent, candidate), r.noise(reference)) for r in rounds_per_size]


def verdict(evidence_per_size: list[Evidence]) -> str:
    """"better" (convincing at every size), "short" (confidently below the
    threshold's marginal band at some size) or "tie": the evidence cannot
    tell, and the simpler choice stays, recorded as a tie."""
    if all(e.convincing() for e in evidence_per_size):
        return "better"
    return "short" if any(e.clearly_short() for e in evidence_per_size) else "tie"


def marginal(evidence_per_size: list[Evidence]) -> bool:
    """Better, but within the marginal band of the threshold at some size:
    another run may decide otherwise."""
    return verdict(evidence_per_size) == "better" and not all(e.clearly_above() for e in evidence_per_size)


def beats(rounds_per_size: list[Rounds], incumbent: str, candidate: str, reference: str) -> bool:
    """Whether candidate beats incumbent convincingly at every size."""
    return verdict(evidence(rounds_per_size, incumbent, candidate, reference)) == "better"
