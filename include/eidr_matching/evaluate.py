"""Precision and recall of the matcher per score band, on a labelled set of assets (the truth known for each).

`python -m eidr_matching evaluate --registry EXPORT --assets ASSETS.csv --truth TRUTH.csv` reads a labelled set
from files (layouts in ASSET_COLUMNS / TRUTH_COLUMNS and the README) and prints these figures; `score` does the
same for a set built in memory (the generators under dev/benchmarks).
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eidr_matching.matcher import Matcher
from eidr_matching.models import Asset, RegistryRecord
from eidr_matching.scoring import Band, MatchConfig

# assets.csv: one row per asset, as a provider delivered it (empty cell: not delivered). Only asset_key and title
# are required; alternate_titles are '|'-separated, directors '; '-separated, eidr_id a provided ID in any form.
ASSET_COLUMNS = (
    "asset_key", "title", "provider_id", "alternate_titles", "release_year", "runtime_minutes", "directors",
    "country", "series_title", "season_number", "episode_number", "eidr_id",
)  # fmt: skip
REQUIRED_ASSET_COLUMNS = ("asset_key", "title")
# truth.csv: the registry ID each asset really is (empty: not in the registry) and an optional label to group by.
TRUTH_COLUMNS = ("asset_key", "eidr_id", "perturbation")
REQUIRED_TRUTH_COLUMNS = ("asset_key", "eidr_id")
_INTEGER_COLUMNS = ("release_year", "runtime_minutes", "season_number", "episode_number")


class EvaluationError(ValueError):
    """A labelled set that cannot be scored as given: names the file, the row or column, and what was expected."""


@dataclass(frozen=True)
class Case:
    """One labelled asset: what the provider sent, the registry ID it really is (None: not in the registry), and how
    it differs from the registry's record (a label the report groups by)."""

    asset: Asset
    truth: str | None
    perturbation: str


@dataclass
class BandStats:
    """Counts for one band: assets, right top candidate, wrong one, and assets whose truth is not in the registry."""

    assets: int = 0
    correct: int = 0
    wrong: int = 0
    unmatchable: int = 0


@dataclass
class Report:
    """Evaluation figures: per band, the named recalls, per perturbation, timing."""

    bands: dict[str, BandStats] = field(default_factory=dict)
    positives: int = 0
    negatives: int = 0
    by_perturbation: dict[str, Counter] = field(default_factory=dict)
    seconds: float = 0.0
    registry_size: int = 0

    @property
    def assets(self) -> int:
        """Every labelled asset."""
        return self.positives + self.negatives

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

    @property
    def auto_accept_recall(self) -> float:
        """Assets in the registry auto-accepted with the right ID, of all assets in the registry."""
        return self.recall(Band.AUTO_ACCEPT)

    @property
    def candidate_recall(self) -> float:
        """Assets in the registry whose right ID is auto-accepted or the review queue's top candidate."""
        return self.recall(Band.AUTO_ACCEPT, Band.REVIEW)

    @property
    def absent_wrongly_accepted(self) -> int:
        """Assets not in the registry that were auto-accepted anyway (each one a wrong ID)."""
        return self.bands.get(Band.AUTO_ACCEPT, BandStats()).unmatchable

    def share(self, band: str) -> float:
        """The band's share of all assets."""
        return self.bands.get(band, BandStats()).assets / self.assets if self.assets else 0.0

    def as_json(self) -> dict[str, Any]:
        """The figures as one JSON object (what `evaluate --json` prints)."""
        bands = {
            str(band): {**self.bands.get(band, BandStats()).__dict__, "share": round(self.share(band), 4),
                        "precision": round(self.precision(band), 4)}
            for band in (Band.AUTO_ACCEPT, Band.REVIEW, Band.REJECT)
        }  # fmt: skip
        return {
            "assets": self.assets, "in_registry": self.positives, "not_in_registry": self.negatives,
            "registry_records": self.registry_size, "seconds": round(self.seconds, 2), "bands": bands,
            "auto_accept_precision": round(self.precision(Band.AUTO_ACCEPT), 4),
            "auto_accept_recall": round(self.auto_accept_recall, 4),
            "candidate_recall": round(self.candidate_recall, 4),
            "absent_wrongly_accepted": self.absent_wrongly_accepted,
            "absent_wrongly_accepted_share": round(self.absent_wrongly_accepted / self.negatives, 4)
            if self.negatives else 0.0,
            "review_share": round(self.share(Band.REVIEW), 4),
            "by_perturbation": {name: dict(c) for name, c in sorted(self.by_perturbation.items())},
        }  # fmt: skip

    def render(self) -> str:
        """The figures as a plain-text table: per band, the named recalls, per perturbation."""
        lines = [
            f"evaluation: {self.assets} assets ({self.positives} in the registry, {self.negatives} not) against "
            f"{self.registry_size} registry records in {self.seconds:.1f} s",
            f"{'band':<12} {'assets':>7} {'share':>7} {'right ID':>9} {'wrong ID':>9} {'absent':>7} {'precision':>10}",
        ]
        for band in (Band.AUTO_ACCEPT, Band.REVIEW, Band.REJECT):
            s = self.bands.get(band, BandStats())
            lines.append(
                f"{band.value:<12} {s.assets:>7} {self.share(band):>7.1%} {s.correct:>9} {s.wrong:>9} "
                f"{s.unmatchable:>7} {self.precision(band):>10.4f}"
            )
        negatives = self.negatives or 1
        in_review = self.bands.get(Band.REVIEW, BandStats()).assets
        lines += [
            "(precision: right ID among the band's assets; for reject, share of its assets truly not in the registry)",
            f"auto-accept precision:        {self.precision(Band.AUTO_ACCEPT):.4f}",
            f"auto-accept recall:           {self.auto_accept_recall:.4f}  (in-registry assets auto-accepted with "
            "the right ID)",
            f"candidate recall:             {self.candidate_recall:.4f}  (right ID auto-accepted or top of the "
            "review queue)",
            f"absent wrongly auto-accepted: {self.absent_wrongly_accepted} of {self.negatives} "
            f"({self.absent_wrongly_accepted / negatives:.2%})",
            f"review share:                 {self.share(Band.REVIEW):.2%} ({in_review} assets)",
            "per perturbation (auto_accept right / review right / wrong / rejected, of assets):",
        ]
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


def _rows(path: Path, columns: Sequence[str], required: Sequence[str]) -> list[dict[str, str]]:
    """The rows of a labelled-set CSV; a header with unknown or missing required columns is refused."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise EvaluationError(f"{path}: cannot read: {err}") from err
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    unknown = [h for h in header if h not in columns]
    if missing or unknown:
        problem = f"lacks {missing}" if missing else f"has unknown columns {unknown}"
        raise EvaluationError(
            f"{path}: header {problem}: header {header}; expected {list(required)} and any of "
            f"{[c for c in columns if c not in required]}"
        )
    reader.fieldnames = header
    rows = []
    for row in reader:
        if None in row:
            raise EvaluationError(f"{path}:{reader.line_num}: more fields than the header's {len(header)}")
        rows.append({k: (v or "").strip() for k, v in row.items()})
    return rows


def _integer(path: Path, line: int, column: str, value: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise EvaluationError(f"{path}:{line}: {column} {value!r} is not a whole number") from None


def load_assets(path: Path) -> list[Asset]:
    """assets.csv (ASSET_COLUMNS) as assets; a provided ID is checked like ingest checks it (invalid: ignored)."""
    from ingest.eidr import parse_eidr

    assets, seen = [], set()
    for line, row in enumerate(_rows(path, ASSET_COLUMNS, REQUIRED_ASSET_COLUMNS), start=2):
        key = row["asset_key"]
        if not key or key in seen:
            raise EvaluationError(f"{path}:{line}: asset_key {key!r} is {'a duplicate' if key else 'empty'}")
        seen.add(key)
        numbers = {c: _integer(path, line, c, row.get(c, "")) for c in _INTEGER_COLUMNS}
        provided = parse_eidr(row["eidr_id"]) if row.get("eidr_id") else None
        assets.append(
            Asset(
                asset_key=key,
                title=row["title"] or None,
                provider_id=row.get("provider_id") or None,
                alternate_titles=tuple(t.strip() for t in row.get("alternate_titles", "").split("|") if t.strip()),
                directors=row.get("directors") or None,
                country=row.get("country") or None,
                series_title=row.get("series_title") or None,
                eidr_id=provided.canonical if provided else None,
                eidr_status=None if provided is None else ("valid" if provided.canonical else "invalid"),
                release_year=numbers["release_year"],
                runtime_minutes=numbers["runtime_minutes"],
                season_number=numbers["season_number"],
                episode_number=numbers["episode_number"],
            )
        )
    return assets


def load_truth(path: Path) -> dict[str, tuple[str | None, str]]:
    """truth.csv (TRUTH_COLUMNS): per asset key, its true registry ID (None: not in the registry) and its label."""
    from ingest.eidr import parse_eidr

    truth: dict[str, tuple[str | None, str]] = {}
    for line, row in enumerate(_rows(path, TRUTH_COLUMNS, REQUIRED_TRUTH_COLUMNS), start=2):
        key = row["asset_key"]
        if not key or key in truth:
            raise EvaluationError(f"{path}:{line}: asset_key {key!r} is {'a duplicate' if key else 'empty'}")
        eidr_id = None
        if row["eidr_id"]:
            eidr_id = parse_eidr(row["eidr_id"]).canonical
            if eidr_id is None:
                raise EvaluationError(f"{path}:{line}: eidr_id {row['eidr_id']!r} is not a valid EIDR content ID")
        truth[key] = (eidr_id, row.get("perturbation") or ("in_registry" if eidr_id else "not_in_registry"))
    return truth


def load_cases(assets_path: Path, truth_path: Path) -> list[Case]:
    """The labelled cases of two files; every asset needs a truth row and every truth row an asset."""
    assets = load_assets(assets_path)
    truth = load_truth(truth_path)
    keys = {a.asset_key for a in assets}
    unlabelled = [a.asset_key for a in assets if a.asset_key not in truth]
    orphans = [k for k in truth if k not in keys]
    if unlabelled or orphans:
        raise EvaluationError(
            f"{assets_path} and {truth_path} disagree: {len(unlabelled)} assets without a truth row "
            f"{unlabelled[:5]}, {len(orphans)} truth rows without an asset {orphans[:5]}"
        )
    return [Case(a, *truth[a.asset_key]) for a in assets]


def evaluate_files(
    registry_path: Path, assets_path: Path, truth_path: Path, config: MatchConfig | None = None
) -> Report:
    """Score the matcher on a labelled set in files: a registry export (CSV or XML), assets.csv and truth.csv."""
    from eidr_matching.registry import load_export

    records, _ = load_export(registry_path)
    cases = load_cases(assets_path, truth_path)
    known = {r.eidr_id for r in records}
    absent = sorted({c.truth for c in cases if c.truth and c.truth not in known})
    if absent:
        raise EvaluationError(
            f"{truth_path}: {len(absent)} true IDs are not in {registry_path} (first {absent[:3]}); an asset not in "
            "the registry has an empty eidr_id"
        )
    return score(records, cases, config)


def render_json(report: Report) -> str:
    """`evaluate --json`: the figures as one JSON object."""
    import json

    return json.dumps(report.as_json(), sort_keys=True)
