"""Streamed, chunked matching runs on real PostgreSQL: the same results as the in-memory matcher for any chunk size
and worker count, re-runs that leave every row untouched (decided_at included), one transaction, the index cache."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from psycopg2.extras import RealDictCursor, execute_values

from benchmarks.eidr_evaluation import build_evaluation
from demo_feeds.eidr_registry import render_csv
from eidr_matching import store
from eidr_matching.matcher import Matcher
from eidr_matching.models import RegistryRecord
from eidr_matching.scoring import Band
from ingest.eidr import canonical_eidr, check_character
from ingest.load import warehouse
from ingest.models import Batch, BatchStats
from ingest.parse.formats import get_format
from ingest.parse.formats.eidr_registry import parse_registry_records

PROVIDER = "eidr_streaming_test"
T0 = datetime(2026, 11, 3, 6, tzinfo=UTC)
EVALUATION = build_evaluation(seed=11, assets=300, registry_films=1500)


def _load_registry(conn: Any, records: Sequence[RegistryRecord], day: int) -> None:
    """Load records as one registry delivery for one day's interval (what the eidr_registry ingest does)."""
    rows = [
        {
            "ID": r.eidr_id, "ResourceName": r.resource_name, "AlternateResourceName": "|".join(r.alternate_names),
            "ReferentType": r.referent_type or "", "StructuralType": r.structural_type or "",
            "ReleaseDate": str(r.release_year or ""), "ApproximateLength": str(r.length_minutes or ""),
            "CountryOfOrigin": r.country or "", "Directors": r.directors or "", "ParentID": r.parent_eidr_id or "",
            "SeasonNumber": "" if r.season_number is None else str(r.season_number),
            "EpisodeNumber": "" if r.episode_number is None else str(r.episode_number), "Status": "valid",
        }
        for r in records
    ]  # fmt: skip
    outcomes = parse_registry_records(render_csv(rows), f"registry-{day}.csv")
    start = datetime(2026, 11, day, tzinfo=UTC)
    batch = Batch(f"{PROVIDER}-{day}", PROVIDER, "eidr_registry", start, start + timedelta(days=1))
    stats = BatchStats(1, len(outcomes), len(outcomes), T0, T0)
    spec = get_format("eidr_registry")
    warehouse.replace_interval(conn=conn, batch=batch, spec=spec, records=outcomes, quarantined=[], stats=stats)


@pytest.fixture()
def conn(warehouse_dsn: str) -> Any:
    connection = warehouse.connect(warehouse_dsn)
    warehouse.ensure_tables(connection, get_format("eidr_registry"))
    with connection, connection.cursor() as cur:
        cur.execute("drop schema if exists eidr cascade")
    store.ensure_tables(connection)
    _load_registry(connection, EVALUATION[0], 1)
    yield connection
    connection.rollback()
    with connection, connection.cursor() as cur:
        cur.execute("drop schema if exists eidr cascade")
        for table in ("eidr_registry", "ingest_batches", "quarantine"):
            cur.execute(f"delete from raw.{table} where provider_id = %s", (PROVIDER,))
    connection.close()


@pytest.fixture()
def assets(conn: Any, scratch_schema: str) -> str:
    """The labelled evaluation assets in a relation shaped like intermediate.int_titles_for_matching."""
    relation = f"{scratch_schema}.titles"
    rows = [
        (
            a.asset_key, a.provider_id, a.title, json.dumps(list(a.alternate_titles)) if a.alternate_titles else None,
            a.release_year, a.runtime_minutes, a.directors, a.country, a.series_title, a.season_number,
            a.episode_number, a.eidr_id, a.eidr_status or "missing", T0,
        )
        for a in (case.asset for case in EVALUATION[1])
    ]  # fmt: skip
    with conn, conn.cursor() as cur:
        cur.execute(
            f"""
            create table {relation} (
                asset_key text, provider_id text, title text, alternate_titles jsonb, release_year int,
                runtime_minutes int, directors text, country text, series_title text, season_number int,
                episode_number int, eidr_id text, eidr_status text, updated_at timestamptz
            )
            """
        )
        execute_values(cur, f"insert into {relation} values %s", rows)
    return relation


def _tables(conn: Any) -> dict[str, list[tuple]]:
    """Every row of the match tables with its xmin (a row rewritten, even to the same values, gets a new one)."""
    queries = {
        "results": "select xmin::text, * from eidr.match_results order by asset_key",
        "candidates": "select xmin::text, * from eidr.match_candidates order by asset_key, rank",
        "inputs": "select xmin::text, * from eidr.match_inputs order by asset_key",
    }
    found = {}
    with conn.cursor() as cur:
        for name, query in queries.items():
            cur.execute(query)
            found[name] = [tuple(row) for row in cur.fetchall()]
    conn.rollback()
    return found


def _decisions(conn: Any) -> tuple[list[tuple], list[tuple]]:
    """Results and candidates without run bookkeeping (run_id, timestamps): what a matcher decided."""
    with conn.cursor() as cur:
        cur.execute(
            "select asset_key, provider_id, eidr_id, method, band, score, reason, provided_eidr_id,"
            " top_candidate_eidr_id from eidr.match_results order by asset_key"
        )
        results = [tuple(r) for r in cur.fetchall()]
        cur.execute("select asset_key, rank, eidr_id, score, field_scores from eidr.match_candidates order by 1, 2")
        candidates = [tuple(r) for r in cur.fetchall()]
    conn.rollback()
    return results, candidates


def _in_memory_reference(conn: Any, relation: str) -> tuple[list[tuple], list[tuple]]:
    """What the earlier whole-list path gives: every asset and the whole registry in memory, one matcher."""
    matcher = Matcher.from_records(store.load_registry(conn))
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(f"select * from {relation}")
        assets = [store._asset(row) for row in cur.fetchall()]
    conn.rollback()
    results, candidates = [], []
    for asset in assets:
        d = matcher.decide(asset)
        provided = d.provided_eidr_id or asset.eidr_id
        results.append(
            (asset.asset_key, asset.provider_id, d.eidr_id, d.method, d.band, d.score, d.reason, provided,
             d.top_candidate)
        )  # fmt: skip
        candidates += [
            (asset.asset_key, rank, c.eidr_id, round(c.score, 4), c.as_json())
            for rank, c in enumerate(d.candidates, start=1)
        ]
    return sorted(results), sorted(candidates, key=lambda c: (c[0], c[1]))


def _clear(conn: Any) -> None:
    with conn, conn.cursor() as cur:
        cur.execute("truncate eidr.match_results, eidr.match_candidates, eidr.match_inputs, eidr.match_runs")


def test_streamed_chunks_decide_as_the_in_memory_matcher_for_any_chunk_size(conn: Any, assets: str) -> None:
    expected = _in_memory_reference(conn, assets)
    truth = {case.asset.asset_key: case.truth for case in EVALUATION[1]}
    auto = [r for r in expected[0] if r[4] == Band.AUTO_ACCEPT]
    assert len(auto) > 200 and sum(truth[r[0]] == r[2] for r in auto) >= 0.99 * len(auto)
    for chunk_size, workers in ((1, 1), (7, 2), (100_000, 2)):
        _clear(conn)
        summary = store.run_matching(conn, store.assets_query(assets), chunk_size=chunk_size, workers=workers)
        assert (summary.assets_matched, summary.results_changed, summary.workers) == (300, 300, workers)
        assert _decisions(conn) == expected, (chunk_size, workers)


def test_rerunning_on_unchanged_assets_leaves_every_row_untouched(conn: Any, assets: str) -> None:
    source = store.assets_query(assets)
    store.run_matching(conn, source, now=T0, chunk_size=50, workers=2)
    first = _tables(conn)
    assert {row[10] for row in first["results"]} == {T0}  # decided_at

    again = store.run_matching(conn, source, now=T0 + timedelta(hours=1), chunk_size=50)
    assert again.assets_matched == 0
    with conn, conn.cursor() as cur:  # an interval re-run: same content, a new load time
        cur.execute(f"update {assets} set updated_at = %s", (T0 + timedelta(hours=2),))
    reloaded = store.run_matching(conn, source, now=T0 + timedelta(hours=2), chunk_size=50)
    assert reloaded.assets_matched == 0
    full = store.run_matching(conn, source, full=True, now=T0 + timedelta(hours=3), chunk_size=50, workers=2)
    assert (full.assets_matched, full.results_changed, full.candidates_changed) == (300, 0, 0)
    after = _tables(conn)
    assert after["results"] == first["results"] and after["candidates"] == first["candidates"]

    with conn.cursor() as cur:
        cur.execute("select asset_key from eidr.match_results where band = 'auto_accept' order by 1 limit 1")
        [changed] = cur.fetchone()
    with conn, conn.cursor() as cur:
        cur.execute(
            f"update {assets} set title = 'Nothing Like Any Registry Title', alternate_titles = null, eidr_id = null,"
            " series_title = null, episode_number = null where asset_key = %s",
            (changed,),
        )
    later = T0 + timedelta(hours=4)
    moved = store.run_matching(conn, source, now=later, chunk_size=50)
    assert (moved.assets_matched, moved.results_changed) == (1, 1)
    rows = {row[1]: row for row in _tables(conn)["results"]}
    assert rows[changed][5] == Band.REJECT and rows[changed][10] == later
    assert [r for r in _tables(conn)["results"] if r[1] != changed] == [r for r in first["results"] if r[1] != changed]


def test_a_failed_run_leaves_every_table_as_it_was_and_the_rerun_completes(conn: Any, assets: str) -> None:
    source = store.assets_query(assets)
    with conn, conn.cursor() as cur:  # the 200th asset's result cannot be written: chunks before it were
        cur.execute(f"select asset_key from {assets} order by asset_key offset 199 limit 1")
        [poisoned] = cur.fetchone()
        cur.execute(
            f"""
            create function eidr.refuse() returns trigger language plpgsql as $$
            begin
                if new.asset_key = '{poisoned}' then raise exception 'refused %', new.asset_key; end if;
                return new;
            end $$;
            create trigger refuse before insert on eidr.match_results for each row execute function eidr.refuse();
            """
        )
    with pytest.raises(Exception, match="refused"):
        store.run_matching(conn, source, chunk_size=10)
    assert _tables(conn) == {"results": [], "candidates": [], "inputs": []}
    with conn, conn.cursor() as cur:
        cur.execute("drop trigger refuse on eidr.match_results")
    assert store.run_matching(conn, source, chunk_size=10).assets_matched == 300  # the lock was released


def test_the_index_cache_is_used_until_the_registry_changes(conn: Any, assets: str, tmp_path: Path) -> None:
    source = store.assets_query(assets)
    built = store.run_matching(conn, source, index_cache_dir=tmp_path)
    assert not built.index_from_cache and len(list(tmp_path.glob("*.pickle"))) == 1
    before = _decisions(conn)
    cached = store.run_matching(conn, source, full=True, index_cache_dir=tmp_path)
    assert cached.index_from_cache and cached.registry_records == built.registry_records
    assert _decisions(conn) == before and cached.results_changed == 0

    hex20 = "0" * 20
    newcomer_id = canonical_eidr(hex20 + check_character(hex20))
    newcomer = RegistryRecord(
        newcomer_id, "Nothing Like Any Registry Title", referent_type="Movie", structural_type="Abstraction",
        release_year=2020, length_minutes=99,
    )  # fmt: skip
    _load_registry(conn, [newcomer], 2)
    with conn, conn.cursor() as cur:
        cur.execute(f"select asset_key from {assets} order by asset_key limit 1")
        [key] = cur.fetchone()
        cur.execute(
            f"update {assets} set title = %s, release_year = 2020, runtime_minutes = 99, directors = null,"
            " alternate_titles = null, series_title = null, episode_number = null, eidr_id = null where asset_key = %s",
            (newcomer.resource_name, key),
        )
    rebuilt = store.run_matching(conn, source, index_cache_dir=tmp_path)
    assert not rebuilt.index_from_cache and rebuilt.registry_records == built.registry_records + 1
    assert len(list(tmp_path.glob("*.pickle"))) == 1  # the stale file is gone
    result = {r[0]: r for r in _decisions(conn)[0]}[key]
    assert (result[2], result[4]) == (newcomer_id, Band.AUTO_ACCEPT)
