"""Values the matcher works on: an asset to match, a registry record, a scored candidate, a decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

EPISODE_TYPES = frozenset({"episode"})
CONTAINER_TYPES = frozenset({"series", "season"})


@dataclass(frozen=True, slots=True)
class Asset:
    """One provider asset as the warehouse knows it (the columns of intermediate.int_titles_for_matching)."""

    asset_key: str
    title: str | None
    provider_id: str | None = None
    alternate_titles: tuple[str, ...] = ()
    release_year: int | None = None
    runtime_minutes: int | None = None
    directors: str | None = None
    country: str | None = None
    series_title: str | None = None
    season_number: int | None = None
    episode_number: int | None = None
    eidr_id: str | None = None  # provided, canonical (None when missing or invalid)
    eidr_status: str | None = None  # valid / invalid / missing, as ingest checked it
    updated_at: datetime | None = None

    @property
    def is_episode(self) -> bool:
        """Episodes are matched on series, season and episode number instead of title and year."""
        return self.episode_number is not None or bool(self.series_title)


@dataclass(frozen=True, slots=True)
class RegistryRecord:
    """One EIDR registry record (latest version per ID); series_title is resolved through the parent chain."""

    eidr_id: str
    resource_name: str
    alternate_names: tuple[str, ...] = ()
    referent_type: str | None = None
    structural_type: str | None = None
    release_year: int | None = None
    length_minutes: int | None = None
    country: str | None = None
    directors: str | None = None
    parent_eidr_id: str | None = None
    season_number: int | None = None
    episode_number: int | None = None
    series_title: str | None = None

    @property
    def kind(self) -> str:
        """Lower-cased referent type, '' when unknown."""
        return (self.referent_type or "").strip().lower()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A registry record scored against an asset: overall score and the per-field similarities behind it."""

    eidr_id: str
    score: float
    field_scores: dict[str, float]
    decisive: bool

    def as_json(self) -> dict[str, Any]:
        """Field scores rounded for storage in match_candidates.field_scores."""
        return {k: round(v, 4) for k, v in self.field_scores.items()}


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one asset: the decided ID (only for provided/auto_accept/override), band, method, why."""

    asset_key: str
    eidr_id: str | None
    method: str
    band: str
    score: float | None
    reason: str | None
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)
    provided_eidr_id: str | None = None

    @property
    def top_candidate(self) -> str | None:
        """The best-scoring registry ID, whatever the band (what a reviewer looks at first)."""
        return self.candidates[0].eidr_id if self.candidates else None
