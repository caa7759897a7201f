"""Warehouse runs on real PostgreSQL: incremental matching, overrides that win and survive, the review queue, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eidr_cases import HAMLET_1948, HAMLET_1996, MATRIX, RECORDS, make_id
from psycopg2.extras import RealDictCursor

from demo_feeds.eidr_registry import render_csv
from eidr_matching import store
from ingest.load import warehouse
from ingest.models import Batch, BatchStats
from ingest.parse.formats import get_format
from ingest.parse.formats.eidr_registry import parse_registry_records

PROJECT_ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 2, 6, tzinfo=UTC)
PROVIDER = "eidr_store_test"


def _csv_rows() -> list[dict[str, str]]:
    rows = []
    for r in RECORDS:
        rows.append(
            {
                "ID": r.eidr_id, "ResourceName": r.resource_name, "AlternateResourceName": "|".join(r.alternate_names),
                "ReferentType": r.referent_type or "", "StructuralType": r.structural_type or "",
                "ReleaseDate": str(r.release_year or ""), "ApproximateLength": str(r.length_minutes or ""),
                "CountryOfOrigin": r.country or "", "Directors": r.directors or "", "ParentID": r.parent_eidr_id or "",
                "SeasonNumber": str(r.season_number or ""), "EpisodeNumber": str(r.episode_number or ""),
                "Status": "valid",
            }
        )  # fmt: skip
    return rows


@pytest.fixture()
def conn(warehouse_dsn: str) -> Any:
    connection = warehouse.connect(warehouse_dsn)
    spec = get_format("eidr_registry")
    warehouse.ensure_tables(connection, spec)
    store.ensure_tables(connection)
    outcomes = parse_registry_records(render_csv(_csv_rows()), "registry.csv")
    start = datetime(2026, 11, 1, tzinfo=UTC)
    batch = Batch("eidr-store-registry", PROVIDER, "eidr_registry", start, start + timedelta(days=1))
    stats = BatchStats(1, len(outcomes), 1, T0, T0)
    warehouse.replace_interval(conn=connection, batch=batch, spec=spec, records=outcomes, quarantined=[], stats=stats)
    yield connection
    connection.rollback()
    with connection, connection.cursor() as cur:  # leave the session's warehouse as found for the pipeline tests
        cur.execute("drop schema if exists eidr cascade")
        for table in ("eidr_registry", "ingest_batches", "quarantine"):
            cur.execute(f"delete from raw.{table} where provider_id = %s", (PROVIDER,))
    connection.close()


@pytest.fixture()
def assets(conn: Any, scratch_schema: str) -> str:
    """A relation with the columns of intermediate.int_titles_for_matching; three films and an episode."""
    with conn, conn.cursor() as cur:
        cur.execute(
            f"""
            create table {scratch_schema}.titles (
                asset_key text, provider_id text, title text, alternate_titles jsonb, release_year int,
                runtime_minutes int, directors text, country text, series_title text, season_number int,
                episode_number int, eidr_id text, eidr_status text, updated_at timestamptz
            );
            insert into {scratch_schema}.titles values
                ('p:matrix', 'p', 'Matrix, The', null, 1999, 136, null, 'US', null, null, null, null, 'missing', %(t)s),
                ('p:hamlet', 'p', 'Hamlet', null, null, null, null, null, null, null, null, null, 'missing', %(t)s),
                ('p:ham96', 'p', 'Hamlet', '["Hamlet (1996)"]', 1996, 242, null, null, null, null, null,
                 %(h48)s, 'valid', %(t)s),
                ('p:ep', 'p', 'Harbour Lights S2 E2', null, null, 50, null, null, 'Harbour Lights', 2, 2,
                 null, 'missing', %(t)s);
            """,
            {"t": T0, "h48": HAMLET_1948.eidr_id},
        )
    for key in ("p:matrix", "p:hamlet", "p:ham96", "p:ep"):
        _cleanup(conn, key)
    return f"{scratch_schema}.titles"


def _cleanup(conn: Any, key: str) -> None:
    with conn, conn.cursor() as cur:
        for table in ("match_results", "match_candidates", "overrides"):
            cur.execute(f"delete from eidr.{table} where asset_key = %s", (key,))


def _results(conn: Any) -> dict[str, dict[str, Any]]:
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute("select * from eidr.match_results where asset_key like 'p:%%'")
        rows = {r["asset_key"]: dict(r) for r in cur.fetchall()}
    conn.rollback()
    return rows


def test_incremental_run_matches_only_new_or_changed_assets(conn: Any, assets: str) -> None:
    first = store.run_matching(conn, store.assets_query(assets))
    assert (first.assets_in_source, first.assets_matched) == (4, 4)
    results = _results(conn)
    assert (results["p:matrix"]["band"], results["p:matrix"]["eidr_id"]) == ("auto_accept", MATRIX.eidr_id)
    assert results["p:hamlet"]["band"] == "review" and results["p:hamlet"]["eidr_id"] is None
    assert results["p:ham96"]["band"] == "review" and results["p:ham96"]["provided_eidr_id"] == HAMLET_1948.eidr_id
    assert results["p:ham96"]["top_candidate_eidr_id"] == HAMLET_1996.eidr_id
    assert (results["p:ep"]["band"], results["p:ep"]["eidr_id"]) == ("auto_accept", make_id("Harbour Lights|2|2"))
    with conn.cursor() as cur:
        cur.execute("select count(*), min(rank) from eidr.match_candidates where asset_key = 'p:hamlet'")
        assert cur.fetchone() == (2, 1)
    conn.rollback()

    second = store.run_matching(conn, store.assets_query(assets))
    assert second.assets_matched == 0
    with conn, conn.cursor() as cur:
        cur.execute(
            f"update {assets} set release_year = 1948, updated_at = %s where asset_key = 'p:hamlet'",
            (T0 + timedelta(hours=1),),
        )
    third = store.run_matching(conn, store.assets_query(assets))
    assert third.assets_matched == 1
    after = _results(conn)
    assert (after["p:hamlet"]["band"], after["p:hamlet"]["eidr_id"]) == ("auto_accept", HAMLET_1948.eidr_id)
    assert after["p:matrix"]["run_id"] == results["p:matrix"]["run_id"]  # untouched
    assert store.run_matching(conn, store.assets_query(assets), full=True).assets_matched == 4


def test_override_wins_keeps_an_audit_trail_and_survives_rematching(conn: Any, assets: str) -> None:
    store.run_matching(conn, store.assets_query(assets))
    store.record_override(conn, "p:hamlet", HAMLET_1948.eidr_id, "ana", "checked the credits")
    row = _results(conn)["p:hamlet"]
    assert (row["method"], row["band"], row["eidr_id"]) == ("override", "override", HAMLET_1948.eidr_id)
    assert all(r["asset_key"] != "p:hamlet" for r in store.review_queue(conn, 100))

    later = store.record_override(conn, "p:hamlet", None, "ben", "a stage recording, not in EIDR")
    store.run_matching(conn, store.assets_query(assets), full=True)
    row = _results(conn)["p:hamlet"]
    assert (row["method"], row["eidr_id"]) == ("override", None)
    assert "ben" in row["reason"]
    with conn.cursor() as cur:
        cur.execute(
            "select decided_by, eidr_id, superseded_at is null from eidr.overrides where asset_key = 'p:hamlet' "
            "order by override_id"
        )
        assert cur.fetchall() == [("ana", HAMLET_1948.eidr_id, False), ("ben", None, True)]
    conn.rollback()
    assert store.active_overrides(conn, ["p:hamlet"])["p:hamlet"].decided_at == later.decided_at


def test_override_rejects_an_invalid_id_or_missing_reason(conn: Any) -> None:
    with pytest.raises(store.StoreError, match="check character"):
        store.record_override(conn, "p:x", "10.5240/0344-992B-DF0A-21A5-8BF9-R", "ana", "typo")
    with pytest.raises(store.StoreError, match="--reason"):
        store.record_override(conn, "p:x", MATRIX.eidr_id, "ana", " ")


def _cli(args: list[str], dsn: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "include"), "WAREHOUSE_DSN": dsn}
    return subprocess.run(
        [sys.executable, "-m", "eidr_matching", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_match_review_queue_and_override(conn: Any, assets: str, warehouse_dsn: str) -> None:
    done = _cli(["match", "--assets-relation", assets], warehouse_dsn)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["assets_matched"] == 4
    queue = _cli(["review-queue", "--provider", "p"], warehouse_dsn)
    assert queue.returncode == 0, queue.stderr
    assert "p:hamlet" in queue.stdout and "#1 " in queue.stdout and "Hamlet (1948)" in queue.stdout
    decided = _cli(
        [
            "override",
            "--asset-key",
            "p:hamlet",
            "--eidr-id",
            HAMLET_1996.eidr_id.lower(),
            "--by",
            "cy",
            "--reason",
            "r",
        ],
        warehouse_dsn,
    )
    assert decided.returncode == 0, decided.stderr
    assert json.loads(decided.stdout)["eidr_id"] == HAMLET_1996.eidr_id
    queue = _cli(["review-queue", "--provider", "p", "--json"], warehouse_dsn)
    assert "p:hamlet" not in queue.stdout and "p:ham96" in queue.stdout
    bad = _cli(["override", "--asset-key", "k", "--eidr-id", "nope", "--by", "x", "--reason", "y"], warehouse_dsn)
    assert bad.returncode == 1 and bad.stderr.startswith("eidr_matching: error: not a valid EIDR")
