"""Precision and recall of the matcher per score band, on a labelled set of assets (the truth known for each)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from eidr_matching.matcher import Matcher
from eidr_matching.models import Asset, RegistryRecord
from eidr_matching.scoring import Band, MatchConfig


@dataclass(frozen=True)
class Case:
    """One labelled asset: what the provider sent, the registry ID it really is (None: not in the registry), and how
    it differs from the registry's record (a label the report groups by)."""

    asset: Asset
    truth: str | None
    perturbation: str


@dataclass
class BandStats:
    """Counts for one band: assets, correct top candidate, and assets whose truth is not in the registry."""

    assets: int = 0
    correct: int = 0
    wrong: int = 0
    unmatchable: int = 0


@dataclass
class Report:
    """Evaluation figures: per band, overall recall, per perturbation, timing."""

    bands: dict[str, BandStats] = field(default_factory=dict)
    positives: int = 0
    negatives: int = 0
    by_perturbation: dict[str, Counter] = field(default_factory=dict)
    seconds: float = 0.0
    registry_size: int = 0

    def precision(self, band: str) -> float:
        """Share of the band's assets whose top candidate is the true ID; for reject, share truly without an ID."""
        stats = self.bands.get(band, BandStats())
        right = stats.unmatchable if band == Band.REJECT else stats.correct
        return right / stats.assets if stats.assets else 1.0

    def recall(self, *bands: str) -> float:
        """Share of assets with a true registry ID landing correctly in the bands; for reject, of those without."""
        if tuple(bands) == (Band.REJECT,):
            rejected = self.bands.get(Band.REJECT, BandStats()).unmatchable
            return rejected / self.negatives if self.negatives else 1.0
        correct = sum(self.bands.get(b, BandStats()).correct for b in bands)
        return correct / self.positives if self.positives else 1.0

    def render(self) -> str:
        """The figures as a plain-text table: per band, overall recall, per perturbation."""
        lines = [
            f"evaluation: {self.positives + self.negatives} assets ({self.positives} with a registry ID, "
            f"{self.negatives} without) against {self.registry_size} registry records in {self.seconds:.1f} s",
            f"{'band':<12} {'assets':>7} {'correct':>8} {'wrong':>6} {'no ID':>6} {'precision':>10} {'recall':>7}",
        ]
        for band in (Band.AUTO_ACCEPT, Band.REVIEW, Band.REJECT):
            s = self.bands.get(band, BandStats())
            lines.append(
                f"{band.value:<12} {s.assets:>7} {s.correct:>8} {s.wrong:>6} {s.unmatchable:>6} "
                f"{self.precision(band):>10.4f} {self.recall(band):>7.4f}"
            )
        lines.append(
            f"recall overall (auto_accept + review): {self.recall(Band.AUTO_ACCEPT, Band.REVIEW):.4f}; "
            f"auto-accepted without a registry ID: {self.bands.get(Band.AUTO_ACCEPT, BandStats()).unmatchable}"
        )
        lines.append("per perturbation (auto_accept correct / review correct / wrong / rejected, of assets):")
        for name, c in sorted(self.by_perturbation.items()):
            lines.append(
                f"  {name:<28} {c['auto_ok']:>5} / {c['review_ok']:>5} / {c['wrong']:>4} / {c['reject']:>5} "
                f"of {c['assets']}"
            )
        return "\n".join(lines)


def score(records: Sequence[RegistryRecord], cases: Iterable[Case], config: MatchConfig | None = None) -> Report:
    """Match every labelled asset against the records and count per band; the timing covers indexing and matching.

    The labelled set comes from elsewhere (a hand-checked sample of a provider's assets, or a generated set); this
    is the part that judges the matcher, so a set from any source gets the same figures.
    """
    started = time.perf_counter()
    matcher = Matcher.from_records(records, config)
    report = Report(registry_size=len(records))
    for case in cases:
        decision = matcher.decide(case.asset)
        stats = report.bands.setdefault(decision.band, BandStats())
        per = report.by_perturbation.setdefault(case.perturbation, Counter())
        stats.assets += 1
        per["assets"] += 1
        top = decision.eidr_id if decision.band == Band.AUTO_ACCEPT else decision.top_candidate
        if case.truth is None:
            report.negatives += 1
            stats.unmatchable += 1
            per["reject"] += decision.band == Band.REJECT
            per["wrong"] += decision.band == Band.AUTO_ACCEPT
            continue
        report.positives += 1
        if decision.band == Band.REJECT:
            per["reject"] += 1
        elif top == case.truth:
            stats.correct += 1
            per["auto_ok" if decision.band == Band.AUTO_ACCEPT else "review_ok"] += 1
        else:
            stats.wrong += 1
            per["wrong"] += 1
    report.seconds = time.perf_counter() - started
    return report
