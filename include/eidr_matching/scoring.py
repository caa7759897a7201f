"""Scoring an asset against one registry record: a weighted similarity over the fields both sides have, and bands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from eidr_matching.normalize import TitleKey

DEFAULT_CONFIG_PATH = Path(__file__).with_name("matching.yaml")

MOVIE_WEIGHTS = {"title": 70.0, "year": 15.0, "director": 10.0, "length": 5.0, "country": 5.0}
EPISODE_WEIGHTS = {
    "series": 40.0, "season": 15.0, "episode": 30.0, "title": 10.0, "year": 5.0, "length": 5.0,
}  # fmt: skip


class Band(StrEnum):
    """What happens to an asset's best candidate."""

    PROVIDED = "provided"  # the provider's valid ID agrees with the registry
    AUTO_ACCEPT = "auto_accept"
    REVIEW = "review"
    REJECT = "reject"
    OVERRIDE = "override"  # an operator's decision in eidr.overrides


class Method(StrEnum):
    """How the asset's EIDR ID was decided."""

    PROVIDED = "provided"
    MATCHED = "matched"
    OVERRIDE = "override"
    NONE = "none"


class ConfigError(ValueError):
    """A matching config that cannot work (thresholds out of order, unknown fields, negative weights)."""


@dataclass(frozen=True)
class MatchConfig:
    """Weights, thresholds and blocking settings; validated on creation, loadable from matching.yaml."""

    auto_accept: float = 0.92
    review: float = 0.70
    ambiguity_margin: float = 0.04
    year_window: int = 2
    candidates_kept: int = 5
    fuzzy_pool: int = 400
    fuzzy_shortlist: int = 12
    title_floor: float = 0.55
    movie_weights: Mapping[str, float] = field(default_factory=lambda: dict(MOVIE_WEIGHTS))
    episode_weights: Mapping[str, float] = field(default_factory=lambda: dict(EPISODE_WEIGHTS))
    match_structural_types: tuple[str, ...] = ("Abstraction",)

    def __post_init__(self) -> None:
        if not 0 < self.review <= self.auto_accept <= 1:
            raise ConfigError(f"need 0 < review <= auto_accept <= 1, got review={self.review} auto={self.auto_accept}")
        if not 0 <= self.ambiguity_margin < 1:
            raise ConfigError(f"ambiguity_margin must be in [0, 1), got {self.ambiguity_margin}")
        if self.year_window < 0 or self.candidates_kept < 1 or self.fuzzy_shortlist < 1:
            raise ConfigError("year_window must be >= 0, candidates_kept and fuzzy_shortlist >= 1")
        for name, weights, known in (
            ("movie_weights", self.movie_weights, MOVIE_WEIGHTS),
            ("episode_weights", self.episode_weights, EPISODE_WEIGHTS),
        ):
            unknown = set(weights) - set(known)
            if unknown:
                raise ConfigError(f"{name}: unknown fields {sorted(unknown)}, expected some of {sorted(known)}")
            if any(w < 0 for w in weights.values()) or not weights.get("title" if name[0] == "m" else "series"):
                raise ConfigError(f"{name}: weights must be >= 0 and the title (series) weight > 0")
        object.__setattr__(self, "movie_weights", dict(self.movie_weights))
        object.__setattr__(self, "episode_weights", dict(self.episode_weights))
        object.__setattr__(self, "match_structural_types", tuple(self.match_structural_types))

    def band(self, score: float, decisive: bool, ambiguous: bool) -> Band:
        """Auto-accept needs the score, a discriminating field (year or episode number) and no close runner-up."""
        if score >= self.auto_accept and decisive and not ambiguous:
            return Band.AUTO_ACCEPT
        return Band.REVIEW if score >= self.review else Band.REJECT


def load_config(path: Path | str | None = None) -> MatchConfig:
    """Read matching.yaml (or another file with the same keys); missing keys keep their defaults."""
    import yaml

    source = Path(path) if path else DEFAULT_CONFIG_PATH
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{source}: cannot read matching config: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("thresholds", "blocking") and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    known = {f.name for f in fields(MatchConfig)}
    unknown = set(flat) - known
    if unknown:
        raise ConfigError(f"{source}: unknown settings {sorted(unknown)}")
    try:
        return MatchConfig(**flat)
    except TypeError as err:
        raise ConfigError(f"{source}: {err}") from err


def title_similarity(a: TitleKey, b: TitleKey) -> float:
    """0..1: equal keys 1; else edit similarity, word order, and main titles when a subtitle is on one side only."""
    if a.key == b.key:
        return 1.0
    score = fuzz.ratio(a.key, b.key) / 100
    if a.full != a.key or b.full != b.key:  # a leading article that was dropped may be a real word ("Des Ex")
        score = max(score, fuzz.ratio(a.full, b.full) / 100)
    if score < 0.97:
        score = max(score, fuzz.token_sort_ratio(a.key, b.key) * 0.0097)
    if a.main != a.key or b.main != b.key:
        main = 1.0 if a.main == b.main else fuzz.ratio(a.main, b.main) / 100
        score = max(score, 0.9 * main)
    return score


def best_title_similarity(names: Sequence[TitleKey], others: Sequence[TitleKey]) -> float:
    """The best similarity over every name pair (provider alternates x registry alternate and translated names)."""
    best = 0.0
    for a in names:
        for b in others:
            s = title_similarity(a, b)
            if s > best:
                best = s
                if best == 1.0:
                    return best
    return best


def year_similarity(a: int, b: int) -> float:
    """Release years: release vs production year often differ by one; two is suspicious; more is another work."""
    return {0: 1.0, 1: 0.8, 2: 0.4}.get(abs(a - b), 0.0)


def length_similarity(a: int, b: int) -> float:
    """Running times in minutes: cuts, credits and PAL speed-up move them a few minutes."""
    d = abs(a - b)
    if d <= 2:
        return 1.0
    if d <= 5:
        return 0.8
    if d <= 10:
        return 0.5
    return 0.2 if d <= 20 else 0.0


def people_similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """Best name-pair similarity of two director lists (names already as sorted tokens)."""
    best = max((fuzz.ratio(x, y) / 100 for x in a for y in b), default=0.0)
    return best if best >= 0.6 else 0.0


def weighted(scores: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Weighted mean over the fields that were compared (present on both sides)."""
    total = sum(weights[f] for f in scores)
    return sum(weights[f] * s for f, s in scores.items()) / total if total else 0.0
