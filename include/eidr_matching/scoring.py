"""Scoring an asset against one registry record: a weighted similarity over the fields both sides have, and bands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from eidr_matching.normalize import TitleKey

DEFAULT_CONFIG_PATH = Path(__file__).with_name("matching.yaml")

MOVIE_WEIGHTS = {"title": 70.0, "year": 15.0, "director": 10.0, "length": 5.0, "country": 5.0}
EPISODE_WEIGHTS = {
    "series": 40.0, "season": 15.0, "episode": 30.0, "title": 10.0, "year": 5.0, "length": 5.0,
}  # fmt: skip
# Evidence against: a field compared on both sides that disagrees outright (years 3+ apart, another director,
# running times more than 10 minutes apart) takes this much off the weighted sum, so it outweighs a similar title.
CONFLICT_PENALTIES = {"year": 30.0, "director": 25.0, "length": 15.0}
# Delivery formats cut titles at a field limit (ADI Title_Brief: 19 characters): a title exactly that long may be
# the start of a longer one.
TITLE_LIMITS = (19,)
WORD_ORDER_FACTOR = 0.9  # "Fortune Cookie" vs "Cookie's Fortune": the same words are weaker evidence than the title


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
    conflict_penalties: Mapping[str, float] = field(default_factory=lambda: dict(CONFLICT_PENALTIES))
    title_limits: tuple[int, ...] = TITLE_LIMITS

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
        unknown_penalties = set(self.conflict_penalties) - set(MOVIE_WEIGHTS) - set(EPISODE_WEIGHTS)
        if unknown_penalties or any(p < 0 for p in self.conflict_penalties.values()):
            raise ConfigError(
                "conflict_penalties: need fields of the weights with penalties >= 0, got "
                f"{dict(self.conflict_penalties)}"
            )
        if any(int(n) < 2 for n in self.title_limits):
            raise ConfigError(f"title_limits: field lengths must be at least 2, got {list(self.title_limits)}")
        object.__setattr__(self, "conflict_penalties", dict(self.conflict_penalties))
        object.__setattr__(self, "title_limits", tuple(int(n) for n in self.title_limits))
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
    """0..1: equal keys 1; else the best of edit similarity, a typo measure, word order and main titles.

    The typo measure counts edits between the squeezed keys with transpositions as one edit (optimal string
    alignment), so "Teh Matrix", "TheMatrix" and "The Matirx" stay close to "The Matrix"; the same words in another
    order weigh less (WORD_ORDER_FACTOR) than the title itself.
    """
    if a.key == b.key:
        return 1.0
    score = fuzz.ratio(a.key, b.key) / 100
    if a.full != a.key or b.full != b.key:  # a leading article that was dropped may be a real word ("Des Ex")
        score = max(score, fuzz.ratio(a.full, b.full) / 100)
    if score < 0.98:
        score = max(score, typo_similarity(a.compact, b.compact))
    if score < WORD_ORDER_FACTOR:
        score = max(score, fuzz.token_sort_ratio(a.key, b.key) / 100 * WORD_ORDER_FACTOR)
    if a.main != a.key or b.main != b.key:
        main = 1.0 if a.main == b.main else fuzz.ratio(a.main, b.main) / 100
        # one side's whole title is the other's main title (subtitle dropped) is a little more than two subtitles
        dropped = 0.92 if main == 1.0 and (a.main == a.key or b.main == b.key) else 0.9
        score = max(score, dropped * main)
    return score


def typo_similarity(a: str, b: str) -> float:
    """Squeezed titles a slip or two apart: the same letters 0.98 (spacing, punctuation), one edit (a swap counts
    as one) 0.95 from 6 letters on (0.9 from 4), two edits 0.91 from 12; else 0."""
    shorter = min(len(a), len(b))
    if shorter < 4:
        return 0.98 if a == b and a else 0.0
    edits = OSA.distance(a, b, score_cutoff=2)
    if edits == 0:
        return 0.98
    if edits == 1:
        return 0.95 if shorter >= 6 else 0.9  # a short title with a slip needs the other fields to agree
    return 0.91 if edits == 2 and shorter >= 12 else 0.0


def prefix_similarity(truncated: TitleKey, b: TitleKey) -> float:
    """A title cut at a field limit against a longer one: its start, with at most one slip, is a strong match
    (0.97, 0.93 with a slip), a little below an equal title; 0 when the other title is not longer."""
    cut, other = truncated.compact, b.compact
    if len(other) <= len(cut) or len(cut) < 8:
        return 0.0
    edits = OSA.distance(cut, other[: len(cut)], score_cutoff=1)
    return 0.97 if edits == 0 else 0.93 if edits == 1 and len(cut) >= 12 else 0.0


def best_title_similarity(
    names: Sequence[TitleKey], others: Sequence[TitleKey], truncated: Sequence[TitleKey] = ()
) -> float:
    """The best similarity over every name pair (provider alternates x registry alternate and translated names);
    `truncated` names (cut at a field limit) are also compared as the start of each registry name."""
    best = 0.0
    for a in names:
        for b in others:
            s = title_similarity(a, b)
            if s > best:
                best = s
                if best == 1.0:
                    return best
    for a in truncated:
        for b in others:
            best = max(best, prefix_similarity(a, b))
    return best


def year_similarity(a: int, b: int) -> float:
    """Release years: release vs production year often differ by one; two is suspicious; more is another work."""
    return {0: 1.0, 1: 0.8, 2: 0.4}.get(abs(a - b), 0.0)


def length_similarity(a: int, b: int) -> float:
    """Running times in minutes: cuts, credits and PAL speed-up move them a few minutes, rarely more than 10."""
    d = abs(a - b)
    if d <= 2:
        return 1.0
    if d <= 5:
        return 0.8
    return 0.5 if d <= 10 else 0.0  # more than 10 minutes apart: another work (a conflict)


def people_similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """Best name-pair similarity of two director lists (names already as sorted tokens): the same name, or the
    same with a slip (>= 0.9); anything else is another person ("Eva Mueller" is not "Mei Mueller"): 0."""
    best = max((fuzz.ratio(x, y) / 100 for x in a for y in b), default=0.0)
    return best if best >= 0.9 else 0.0


def weighted(
    scores: Mapping[str, float], weights: Mapping[str, float], penalties: Mapping[str, float] | None = None
) -> float:
    """Weighted mean over the fields that were compared (present on both sides), less the penalty of each field
    that disagrees outright (similarity 0): evidence against counts more than the same field agreeing."""
    total = sum(weights[f] for f in scores)
    if not total:
        return 0.0
    against = sum(penalties.get(f, 0.0) for f, s in scores.items() if s == 0.0) if penalties else 0.0
    return max(0.0, (sum(weights[f] * s for f, s in scores.items()) - against) / total)


def conflicts(scores: Mapping[str, float], penalties: Mapping[str, float]) -> list[str]:
    """The fields that disagree outright and carry a penalty (what keeps a candidate out of auto-accept)."""
    return [f for f, s in scores.items() if s == 0.0 and penalties.get(f)]


def explain(scores: Mapping[str, float]) -> str:
    """Which fields agreed, partly agreed or disagreed, e.g. "agree: title 0.95, year; partly: length 0.5;
    disagree: director" (the reason stored with a decision)."""
    groups: dict[str, list[str]] = {"agree": [], "partly": [], "disagree": []}
    for name, value in scores.items():
        label = name if value == 1.0 else f"{name} {value:.2f}"
        group = "agree" if value >= 0.9 else "disagree" if value == 0.0 else "partly"
        groups[group].append(label)
    return "; ".join(f"{group}: {', '.join(labels)}" for group, labels in groups.items() if labels)
