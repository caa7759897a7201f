"""Matching on several cores: the registry is split into release-year shards (overlapping by the year window).

Blocking never looks outside an asset's year window, so a film with a year is matched inside one shard; episodes and
films without a year are matched in every shard and their candidates merged. The decision (band, provided-ID rules)
is taken once per asset from the merged candidates.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence

from eidr_matching.blocking import RegistryIndex
from eidr_matching.matcher import Matcher
from eidr_matching.models import Asset, Candidate, Decision, RegistryRecord
from eidr_matching.scoring import MatchConfig

MIN_SHARDED_REGISTRY = 200_000
_STATE: dict[str, object] = {}


def match_all(
    records: Sequence[RegistryRecord], assets: Sequence[Asset], config: MatchConfig | None = None, workers: int = 1
) -> list[Decision]:
    """Decisions for every asset, in order; with workers > 1 and a large registry, one year shard per worker."""
    config = config or MatchConfig()
    if workers <= 1 or len(records) < MIN_SHARDED_REGISTRY or "fork" not in multiprocessing.get_all_start_methods():
        matcher = Matcher.from_records(records, config)
        return [matcher.decide(asset) for asset in assets]
    years = sorted(r.release_year for r in records if r.release_year and r.kind != "episode")
    bounds = [years[len(years) * k // workers] for k in range(workers)] + [years[-1] + 1]
    ranges = [(bounds[k], bounds[k + 1] - 1) for k in range(workers)]
    ranges[0] = (-(10**6), ranges[0][1])
    ranges[-1] = (ranges[-1][0], 10**6)
    _STATE.update(records=records, assets=assets, config=config, ranges=ranges)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            shard_results = pool.map(_match_shard, range(workers))
    finally:
        _STATE.clear()
    merged: dict[int, list[Candidate]] = {}
    for result in shard_results:
        for position, candidates in result:
            merged.setdefault(position, []).extend(candidates)
    provided = {a.eidr_id for a in assets if a.eidr_id}
    by_id = {r.eidr_id: r for r in records}
    wanted = {i for i in provided if i in by_id}
    wanted |= {by_id[i].parent_eidr_id for i in wanted if by_id[i].parent_eidr_id in by_id}  # type: ignore[misc]
    deciding = Matcher(RegistryIndex((by_id[i] for i in wanted), config.match_structural_types), config)
    decisions = []
    keep = max(config.candidates_kept, 2)
    for position, asset in enumerate(assets):
        distinct = {c.eidr_id: c for c in merged.get(position, [])}
        ranked = sorted(distinct.values(), key=lambda c: (-c.score, c.eidr_id))[:keep]
        decisions.append(deciding.decide_with(asset, ranked))
    return decisions


def _shard_of(asset: Asset, ranges: list[tuple[int, int]]) -> list[int]:
    if asset.is_episode or not asset.release_year:
        return list(range(len(ranges)))
    return [k for k, (lo, hi) in enumerate(ranges) if lo <= asset.release_year <= hi]


def _match_shard(shard: int) -> list[tuple[int, list[Candidate]]]:
    records: Sequence[RegistryRecord] = _STATE["records"]  # type: ignore[assignment]
    assets: Sequence[Asset] = _STATE["assets"]  # type: ignore[assignment]
    config: MatchConfig = _STATE["config"]  # type: ignore[assignment]
    ranges: list[tuple[int, int]] = _STATE["ranges"]  # type: ignore[assignment]
    lo, hi = ranges[shard]
    always = ("episode", "series", "season")
    low, high = lo - config.year_window, hi + config.year_window
    mine = [r for r in records if not r.release_year or r.kind in always or low <= r.release_year <= high]
    matcher = Matcher.from_records(mine, config)
    return [
        (position, matcher.candidates(asset))
        for position, asset in enumerate(assets)
        if shard in _shard_of(asset, ranges)
    ]
