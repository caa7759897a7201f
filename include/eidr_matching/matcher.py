"""The matching engine: candidates and scores per asset, a band, and the provided-ID rules."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from eidr_matching.blocking import Entry, RegistryIndex
from eidr_matching.models import Asset, Candidate, Decision, RegistryRecord
from eidr_matching.normalize import TitleKey, country_code, split_people, title_key
from eidr_matching.scoring import (
    Band,
    MatchConfig,
    Method,
    best_title_similarity,
    conflicts,
    explain,
    length_similarity,
    people_similarity,
    title_similarity,
    weighted,
    year_similarity,
)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """An asset's normalised values, computed once per asset."""

    asset: Asset
    names: tuple[TitleKey, ...]
    directors: tuple[str, ...]
    country: str | None
    series: TitleKey | None
    truncated: tuple[TitleKey, ...] = ()  # names exactly at a format's field limit: maybe cut from a longer title


class Matcher:
    """Scores assets against a registry index; `decide` returns the band and the ID to use, if any."""

    def __init__(self, index: RegistryIndex, config: MatchConfig | None = None):
        self.index = index
        self.config = config or MatchConfig()

    @classmethod
    def from_records(cls, records: Iterable[RegistryRecord], config: MatchConfig | None = None) -> Matcher:
        """Build the index from registry records and a matcher over it."""
        config = config or MatchConfig()
        return cls(RegistryIndex(records, config.match_structural_types), config)

    def decide_all(self, assets: Iterable[Asset]) -> Iterator[Decision]:
        """Decisions for many assets, in order."""
        for asset in assets:
            yield self.decide(asset)

    def decide(self, asset: Asset) -> Decision:
        """Candidates, band and decided ID for one asset; a valid provided ID is checked against the registry."""
        prepared = _prepare(asset, self.config.title_limits)
        return self.decide_with(prepared, self.candidates(prepared))

    def decide_with(self, prepared: _Prepared | Asset, candidates: list[Candidate]) -> Decision:
        """The decision from already scored candidates (best first), e.g. merged from registry shards."""
        p = prepared if isinstance(prepared, _Prepared) else _prepare(prepared, self.config.title_limits)
        if p.asset.eidr_id:
            return self._with_provided(p, candidates)
        note = "provided EIDR ID is invalid; " if p.asset.eidr_status == "invalid" else ""
        return self._matched(p.asset, candidates, note)

    def candidates(self, prepared: _Prepared | Asset) -> list[Candidate]:
        """Scored candidates, best first (ties broken by ID so runs are deterministic)."""
        p = prepared if isinstance(prepared, _Prepared) else _prepare(prepared, self.config.title_limits)
        config = self.config
        scored = self._episode_candidates(p) if p.asset.is_episode else self._film_candidates(p)
        scored.sort(key=lambda c: (-c.score, c.eidr_id))
        return scored[: max(config.candidates_kept, 2)]

    def _film_candidates(self, p: _Prepared) -> list[Candidate]:
        index, config = self.index, self.config
        if not p.names:
            return []
        exact = index.exact_candidates(p.names, p.asset.release_year, config.year_window)
        if p.truncated:
            exact |= index.prefix_candidates(p.truncated, p.asset.release_year, config.year_window)
        scored = {i: self._score(p, index.entries[i]) for i in exact if index.entries[i].matchable}
        scored = {i: c for i, c in scored.items() if c.field_scores["title"] >= config.title_floor}
        best = max(scored.values(), key=lambda c: c.score, default=None)
        if best is not None and best.score >= config.auto_accept and best.decisive:
            return list(scored.values())
        pool = [i for i in index.fuzzy_candidates(p.names, p.asset.release_year, config.year_window, config.fuzzy_pool)]
        pool = [i for i in pool if i not in scored]
        for i in self._shortlist(p.names, pool):
            candidate = self._score(p, index.entries[i])
            if candidate.field_scores["title"] >= config.title_floor:
                scored[i] = candidate
        return list(scored.values())

    def _shortlist(self, names: tuple[TitleKey, ...], pool: list[int]) -> list[int]:
        """The pool's entries whose names are closest to the asset's by plain edit similarity (one C call each)."""
        if not pool:
            return []
        choices: list[str] = []
        owners: list[int] = []
        for i in pool:
            for name in self.index.entries[i].names:
                choices.append(name.key)
                owners.append(i)
        best: dict[int, float] = {}
        for name in names:
            for _, score, position in process.extract(
                name.key, choices, scorer=fuzz.ratio, limit=self.config.fuzzy_shortlist * 2
            ):
                owner = owners[position]
                best[owner] = max(best.get(owner, 0.0), score)
        ranked = sorted(best, key=lambda i: -best[i])
        return ranked[: self.config.fuzzy_shortlist]

    def _episode_candidates(self, p: _Prepared) -> list[Candidate]:
        index, asset = self.index, p.asset
        if p.series is None:
            return []
        pool = index.episode_candidates(p.series, self.config.fuzzy_pool)
        if asset.episode_number is not None and len(pool) > 50:
            # long-running series: the same episode number in any season, plus the asked season's episodes
            pool = [
                i
                for i in pool
                if index.entries[i].record.episode_number == asset.episode_number
                or (asset.season_number is not None and index.entries[i].record.season_number == asset.season_number)
            ][:200]
        scored = [self._score_episode(p, index.entries[i]) for i in pool]
        return [c for c in scored if c.field_scores["series"] >= self.config.title_floor]

    def _score(self, p: _Prepared, entry: Entry) -> Candidate:
        """Film scoring: title, release year, director, running time, country, over the fields both sides have."""
        asset, record = p.asset, entry.record
        title = best_title_similarity(p.names, entry.names)
        cut = best_title_similarity((), entry.names, p.truncated) if p.truncated and title < 1.0 else 0.0
        fields: dict[str, float] = {"title": max(title, cut)}
        if asset.release_year and record.release_year:
            fields["year"] = year_similarity(asset.release_year, record.release_year)
        if p.directors and entry.directors:
            fields["director"] = people_similarity(p.directors, entry.directors)
        if asset.runtime_minutes and record.length_minutes:
            fields["length"] = length_similarity(asset.runtime_minutes, record.length_minutes)
        if p.country and entry.country:
            fields["country"] = 1.0 if p.country == entry.country else 0.0
        weights, penalties = self.config.movie_weights, self.config.conflict_penalties
        fields = {k: v for k, v in fields.items() if weights.get(k)}
        decisive = _tells_versions_apart(fields, from_prefix=cut > title) and not conflicts(fields, penalties)
        return Candidate(record.eidr_id, weighted(fields, weights, penalties), fields, decisive)

    def _score_episode(self, p: _Prepared, entry: Entry) -> Candidate:
        """Episode scoring: series title, season and episode numbers, episode title, year and running time."""
        asset, record = p.asset, entry.record
        assert p.series is not None
        fields: dict[str, float] = {"series": title_similarity(p.series, entry.series) if entry.series else 0.0}
        if asset.season_number is not None and record.season_number is not None:
            fields["season"] = float(asset.season_number == record.season_number)
        if asset.episode_number is not None and record.episode_number is not None:
            fields["episode"] = float(asset.episode_number == record.episode_number)
        if p.names and entry.names:
            fields["title"] = best_title_similarity(p.names, entry.names)
        if asset.release_year and record.release_year:
            fields["year"] = year_similarity(asset.release_year, record.release_year)
        if asset.runtime_minutes and record.length_minutes:
            fields["length"] = length_similarity(asset.runtime_minutes, record.length_minutes)
        weights = self.config.episode_weights
        fields = {k: v for k, v in fields.items() if weights.get(k)}
        return Candidate(record.eidr_id, weighted(fields, weights), fields, "episode" in fields)

    def score_record(self, asset: Asset, eidr_id: str) -> Candidate | None:
        """Score one registry ID against an asset whatever its type (used for provided IDs); None if unknown."""
        entry = self.index.entry(eidr_id)
        if entry is None:
            return None
        p = _prepare(asset, self.config.title_limits)
        if p.series is not None and entry.series is not None:
            return self._score_episode(p, entry)
        return self._score(p, entry)

    def _matched(self, asset: Asset, candidates: list[Candidate], note: str = "") -> Decision:
        config = self.config
        if not candidates:
            why = "no registry candidates" if len(self.index) else "the registry mirror is empty (no registry loaded)"
            return Decision(asset.asset_key, None, Method.NONE, Band.REJECT, None, f"{note}{why}")
        top = candidates[0]
        runner_up = candidates[1] if len(candidates) > 1 else None
        ambiguous = (
            runner_up is not None
            and runner_up.score >= config.review
            and top.score - runner_up.score < config.ambiguity_margin
        )
        band = config.band(top.score, top.decisive, ambiguous)
        score = round(top.score, 4)
        fields = explain(top.field_scores)
        if band is Band.AUTO_ACCEPT:
            reason = f"{note}auto-accepted {top.score:.3f}: {fields}"
            return Decision(asset.asset_key, top.eidr_id, Method.MATCHED, band, score, reason, tuple(candidates))
        against = conflicts(top.field_scores, config.conflict_penalties)
        if band is Band.REVIEW:
            if ambiguous:
                assert runner_up is not None  # ambiguous needs a runner-up
                why = f"ambiguous: {top.eidr_id} {top.score:.3f} vs {runner_up.eidr_id} {runner_up.score:.3f}"
            elif top.score >= config.auto_accept and against:
                why = f"strong match but {', '.join(against)} disagree"
            elif top.score >= config.auto_accept and not top.decisive:
                why = (
                    "strong title match but nothing to tell versions apart (no year or episode number, or a cut title)"
                )
            else:
                why = f"best score {top.score:.3f} is in the review band"
        else:
            why = f"best score {top.score:.3f} is below the review threshold"
        return Decision(
            asset.asset_key, None, Method.NONE, band, score, f"{note}{why}; top candidate {fields}", tuple(candidates)
        )

    def _with_provided(self, p: _Prepared, candidates: list[Candidate]) -> Decision:
        """A valid provided ID wins when the registry agrees; a conflict with a strong other match goes to review."""
        asset, config = p.asset, self.config
        provided = asset.eidr_id
        assert provided is not None
        own = next((c for c in candidates if c.eidr_id == provided), None) or self.score_record(asset, provided)
        if own is None:
            decision = self._matched(asset, candidates)
            reason = f"provided ID {provided} is not in the registry mirror"
            if decision.band is Band.AUTO_ACCEPT:
                reason += f"; strong match {decision.eidr_id}"
            return Decision(
                asset.asset_key, None, Method.NONE, Band.REVIEW, decision.score, reason, decision.candidates, provided
            )
        ranked = sorted([own, *(c for c in candidates if c.eidr_id != provided)], key=lambda c: (-c.score, c.eidr_id))
        ranked = ranked[: max(config.candidates_kept, 2)]
        if own not in ranked:
            ranked[-1] = own
        others = [c for c in ranked if c.eidr_id != provided and not self._related(c.eidr_id, provided)]
        strong_other = next((c for c in others if c.score >= config.auto_accept and c.decisive), None)
        score = round(own.score, 4)
        if own.score >= config.auto_accept or (own.score >= config.review and strong_other is None):
            reason = f"provided ID agrees with its registry record {own.score:.3f}: {explain(own.field_scores)}"
            return Decision(
                asset.asset_key, provided, Method.PROVIDED, Band.PROVIDED, score, reason, tuple(ranked), provided
            )
        if strong_other is not None:
            reason = f"provided ID {provided} ({own.score:.3f}) conflicts with strong match {strong_other.eidr_id}"
            reason += f" ({strong_other.score:.3f})"
        else:
            reason = f"provided ID {provided}: its registry record does not match the asset ({own.score:.3f})"
        return Decision(asset.asset_key, None, Method.NONE, Band.REVIEW, score, reason, tuple(ranked), provided)

    def _related(self, a: str, b: str) -> bool:
        """One ID is the other's parent (an edit and its title, an episode and its season)."""
        ea, eb = self.index.entry(a), self.index.entry(b)
        if ea is None or eb is None:
            return False
        pa, pb = ea.record.parent_eidr_id, eb.record.parent_eidr_id
        return pa == b or pb == a


def _tells_versions_apart(fields: dict[str, float], from_prefix: bool) -> bool:
    """Whether a film candidate may be auto-accepted on these fields: the year compared, or without one the same
    director, or the same title and running time. A title matched only by its start (cut at a field limit) needs
    the same year: sequels share their first 19 characters, rarely their year."""
    if from_prefix:
        return fields.get("year") == 1.0
    if "year" in fields:
        return True
    return fields.get("director", 0.0) >= 0.9 or (fields.get("length") == 1.0 and fields["title"] == 1.0)


def _prepare(asset: Asset, limits: tuple[int, ...] = ()) -> _Prepared:
    titles = [t for t in (asset.title, *asset.alternate_titles) if t and t.strip()]
    names = tuple(dict.fromkeys(title_key(t) for t in titles))
    truncated = tuple(dict.fromkeys(title_key(t) for t in titles if len(t) in limits))
    series = title_key(asset.series_title) if asset.series_title and asset.series_title.strip() else None
    if asset.is_episode and series is None and names:
        series = names[0]
    return _Prepared(asset, names, split_people(asset.directors), country_code(asset.country), series, truncated)
