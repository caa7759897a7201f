"""Blocking: an index of the registry so each asset is compared with a handful of records, never with all of them.

Keys are normalised title keys (exact), and for fuzzy lookups the title's rarest tokens plus a 4-character prefix
and suffix of the squeezed title (a typo rarely hits all of them), each combined with the release year. An asset
looks up its year +- the window, so the cost grows with the number of assets, not assets x registry.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace

from eidr_matching.models import CONTAINER_TYPES, EPISODE_TYPES, RegistryRecord
from eidr_matching.normalize import TitleKey, blocking_tokens, country_code, split_people, title_key

NO_YEAR = 0
AFFIX = 4
LONG_LIST = 16
MAX_DELETION_WORD = 12
PREFIX = 10  # characters of the squeezed title a title cut at a field limit is looked up by


class Entry:
    """A registry record prepared for scoring: normalised names at once; people and country when first scored."""

    __slots__ = ("record", "names", "series", "matchable", "_directors", "_country")

    def __init__(self, record: RegistryRecord, names: tuple[TitleKey, ...], series: TitleKey | None, matchable: bool):
        self.record = record
        self.names = names
        self.series = series
        self.matchable = matchable
        self._directors: tuple[str, ...] | None = None
        self._country: str | None | bool = False

    @property
    def directors(self) -> tuple[str, ...]:
        """Director names as sorted tokens."""
        if self._directors is None:
            self._directors = split_people(self.record.directors)
        return self._directors

    @property
    def country(self) -> str | None:
        """Country of origin as an ISO code."""
        if self._country is False:
            self._country = country_code(self.record.country)
        return self._country  # type: ignore[return-value]


def fuzzy_keys(key: TitleKey) -> list[str]:
    """Blocking keys of one title: its tokens (no stopwords), '^' + first and '$' + last 4 squeezed characters.

    A one-word title has no second token to fall back on when the word has a typo, so it also gets its
    one-deletion neighbourhood ('~' keys): any single slip (drop, insert, replace, swap) shares one of them.
    """
    keys = blocking_tokens(key)
    compact = key.compact
    if len(compact) >= AFFIX:
        keys += ["^" + compact[:AFFIX], "$" + compact[-AFFIX:]]
    if len(keys) <= 3 and len(key.tokens) == 1 and 3 <= len(compact) <= MAX_DELETION_WORD:
        deletions = ["~" + compact[:i] + compact[i + 1 :] for i in range(len(compact))]
        keys += list(dict.fromkeys(["~" + compact, *deletions]))
    return keys


class RegistryIndex:
    """The registry in memory with blocking indexes for films (title, year) and episodes (series, season)."""

    def __init__(self, records: Iterable[RegistryRecord], structural_types: tuple[str, ...] = ("Abstraction",)):
        raw = list(records)
        self.structural_types = {t.lower() for t in structural_types}
        self.entries: list[Entry] = []
        self.by_id: dict[str, int] = {}
        self.exact: dict[str, list[int]] = defaultdict(list)
        self.fuzzy: dict[tuple[str, int], list[int]] = defaultdict(list)
        self.prefixes: dict[str, list[int]] = defaultdict(list)
        self.key_frequency: dict[str, int] = {}
        self.episodes: dict[str, list[int]] = defaultdict(list)
        self.episode_fuzzy: dict[str, list[int]] = defaultdict(list)
        self.children: dict[str, list[str]] = defaultdict(list)
        self.years: tuple[int, int] = (NO_YEAR, NO_YEAR)
        by_id = {r.eidr_id: r for r in raw}
        years = [r.release_year for r in raw if r.release_year]
        if years:
            self.years = (min(years), max(years))
        for record in raw:
            if record.eidr_id in self.by_id:
                continue
            self._add(self._resolve(record, by_id))
        self._exact_years: dict[str, list[int]] = {}
        for key, hits in self.exact.items():
            if len(hits) > LONG_LIST:
                hits.sort(key=lambda i: self.entries[i].record.release_year or NO_YEAR)
                self._exact_years[key] = [self.entries[i].record.release_year or NO_YEAR for i in hits]

    @staticmethod
    def _resolve(record: RegistryRecord, by_id: dict[str, RegistryRecord]) -> RegistryRecord:
        """An episode's series title and season number from its parents (episode -> season -> series)."""
        if record.kind not in EPISODE_TYPES or record.series_title:
            return record
        parent = by_id.get(record.parent_eidr_id or "")
        season = record.season_number
        for _ in range(3):
            if parent is None:
                break
            if parent.kind == "season":
                season = season if season is not None else parent.season_number
                parent = by_id.get(parent.parent_eidr_id or "")
                continue
            if parent.kind == "series":
                return replace(record, series_title=parent.resource_name, season_number=season)
            break
        return record

    def _add(self, record: RegistryRecord) -> None:
        index = len(self.entries)
        if record.alternate_names:
            names = tuple(dict.fromkeys(title_key(n) for n in (record.resource_name, *record.alternate_names) if n))
        else:
            names = (title_key(record.resource_name),)
        kind = record.kind
        structural = (record.structural_type or "").lower()
        is_episode = kind in EPISODE_TYPES
        matchable = kind not in CONTAINER_TYPES and (
            is_episode or not structural or structural in self.structural_types
        )
        series = title_key(record.series_title) if is_episode and record.series_title else None
        self.entries.append(Entry(record, names, series, matchable))
        self.by_id[record.eidr_id] = index
        if record.parent_eidr_id:
            self.children[record.parent_eidr_id].append(record.eidr_id)
        if not matchable:
            return
        if is_episode:
            if series is None:
                return
            self.episodes[series.key].append(index)
            for key in set(fuzzy_keys(series)):
                self.episode_fuzzy[key].append(index)
            return
        year = record.release_year or NO_YEAR
        exact, fuzzy, frequency = self.exact, self.fuzzy, self.key_frequency
        keys = fuzzy_keys(names[0]) if len(names) == 1 else list(dict.fromkeys(k for n in names for k in fuzzy_keys(n)))
        for name in names:
            exact[name.key].append(index)
            if name.main != name.key:
                exact[name.main].append(index)
            if len(name.compact) > PREFIX:
                self.prefixes[name.compact[:PREFIX]].append(index)
        for key in keys:
            frequency[key] = frequency.get(key, 0) + 1
            fuzzy[(key, year)].append(index)

    def __len__(self) -> int:
        return len(self.entries)

    def entry(self, eidr_id: str) -> Entry | None:
        """The entry of an ID, matchable or not (edits, series and seasons too, for provided IDs)."""
        index = self.by_id.get(eidr_id)
        return self.entries[index] if index is not None else None

    def exact_candidates(self, names: Iterable[TitleKey], year: int | None = None, window: int = 2) -> set[int]:
        """Films whose normalised title or main title equals one of the asset's, within the year window if known.

        Common titles ("Hamlet", "Home") have hundreds of records over the decades: only the window's are scored.
        """
        found: set[int] = set()
        entries = self.entries
        for name in names:
            for key in {name.key, name.main}:
                hits: Sequence[int] = self.exact.get(key, ())
                if year and len(hits) > LONG_LIST:
                    years = self._exact_years[key]  # sorted by year, NO_YEAR (0) first
                    found.update(hits[: bisect_right(years, NO_YEAR)])
                    hits = hits[bisect_left(years, year - window) : bisect_right(years, year + window)]
                elif year and len(hits) > 1:
                    hits = [i for i in hits if not (y := entries[i].record.release_year) or abs(y - year) <= window]
                found.update(hits)
        return found

    def prefix_candidates(self, names: Iterable[TitleKey], year: int | None = None, window: int = 2) -> set[int]:
        """Films whose title starts like one of the names (titles cut at a field limit), within the year window."""
        found: set[int] = set()
        entries = self.entries
        for name in names:
            if len(name.compact) < PREFIX:
                continue
            for i in self.prefixes.get(name.compact[:PREFIX], ()):
                y = entries[i].record.release_year
                if not year or not y or abs(y - year) <= window:
                    found.add(i)
        return found

    def fuzzy_candidates(self, names: Iterable[TitleKey], year: int | None, window: int, pool: int) -> list[int]:
        """Films sharing a rare token or a title prefix/suffix within the year window, most shared keys first."""
        if year:
            years = [*range(year - window, year + window + 1), NO_YEAR]
        else:
            years = [*range(self.years[0], self.years[1] + 1), NO_YEAR]
        hits: Counter[int] = Counter()
        for name in names:
            keys = fuzzy_keys(name)
            # the rarest tokens the registry knows: a token with a typo is in no title, so it would waste a slot
            frequency = self.key_frequency
            tokens = sorted(
                (k for k in keys if k[0] not in "^$~"), key=lambda k: (k not in frequency, frequency.get(k, 0))
            )
            chosen = tokens[:2] + [k for k in keys if k[0] in "^$~"]
            for key in chosen:
                for y in years:
                    hits.update(self.fuzzy.get((key, y), ()))
        return [index for index, _ in hits.most_common(pool)]

    def episode_candidates(self, series: TitleKey, pool: int) -> list[int]:
        """Episodes of series with the same normalised name, else of series sharing a rare token or an affix."""
        exact = self.episodes.get(series.key)
        if exact:
            return list(exact)
        hits: Counter[int] = Counter()
        for key in fuzzy_keys(series):
            hits.update(self.episode_fuzzy.get(key, ()))
        return [index for index, _ in hits.most_common(pool)]
