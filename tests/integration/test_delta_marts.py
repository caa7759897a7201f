"""The marts' delta contract on real dbt and PostgreSQL: tombstones, stable changed_at, no-change builds, refresh."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from eidr_matching import store
from ingest.load import warehouse as raw_warehouse
from ingest.models import Batch, BatchStats, ParsedRecord
from ingest.parse.formats import get_format
from ingest.parse.formats.titles_common import TITLE_COLUMNS
from ingest.run import batch_id

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_DIR = PROJECT_ROOT / "include" / "dbt"
DBT = Path(sys.executable).parent / "dbt"
DAY_1 = datetime(2026, 11, 1, tzinfo=UTC)
DAY_2 = DAY_1 + timedelta(days=1)
MARTS = (
    "availability_windows", "eidr_coverage", "eidr_mapping", "eidr_review_queue", "provider_deliveries", "titles",
)  # fmt: skip
# Columns a re-run may change by design: when the delivery run started and finished (a new run of the interval).
RUN_TIMES = {"provider_deliveries": ("started_at", "finished_at", "changed_at")}


def load(conn: Any, provider: str, day: datetime, titles: dict[str, str], file: str = "titles.csv") -> None:
    """Ingest one interval of a CSV provider as the loader does: its rows replace the interval's, one batch."""
    spec = get_format("csv")
    batch = Batch(batch_id(provider, day), provider, "csv", day, day + timedelta(days=1))
    records = [
        ParsedRecord(
            file, f"{file}#{n}", f"h{asset_id}{title}",
            {**dict.fromkeys(TITLE_COLUMNS), "provider_asset_id": asset_id, "title": title, "eidr_status": "missing",
             "release_year": 2001, "record": json.dumps({"id": asset_id, "title": title})},
        )
        for n, (asset_id, title) in enumerate(titles.items())
    ]  # fmt: skip
    now = datetime.now(UTC)
    stats = BatchStats(files_read=1, records_read=len(records), bytes_read=100, started_at=now, finished_at=now)
    raw_warehouse.replace_interval(conn, batch, spec, records, [], stats)


def decide(conn: Any, asset_key: str, provider: str, band: str, eidr_id: str | None) -> None:
    """A matcher decision for one asset (with one candidate), as eidr_matching writes it."""
    with conn.cursor() as cur:
        cur.execute(
            "insert into eidr.match_results (asset_key, provider_id, eidr_id, method, band, score, decided_at, run_id)"
            " values (%s, %s, %s, 'matched', %s, 0.8, now(), 'test') on conflict (asset_key) do update set"
            " band = excluded.band, eidr_id = excluded.eidr_id, decided_at = excluded.decided_at",
            (asset_key, provider, eidr_id, band),
        )
        cur.execute(
            "insert into eidr.match_candidates values (%s, '10.5240/0000-0000-0000-0000-0000-X', 0.8, 1, '{}', now())"
            " on conflict do nothing",
            (asset_key,),
        )


def snapshot(dsn: str, provider: str, drop: Sequence[str] = ("changed_at",), live_only: bool = False) -> dict:
    """Every audit mart's rows of the provider (as json, without the `drop` columns), sorted."""
    tables = {}
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        for mart in MARTS:
            dropped = "".join(f" - '{column}'" for column in (RUN_TIMES.get(mart, ()) if drop == "run" else drop))
            live = " and not is_removed" if live_only else ""
            cur.execute(f"select to_jsonb(t){dropped} from audit.{mart} t where provider_id = %s{live}", (provider,))
            tables[mart] = sorted(json.dumps(row, sort_keys=True) for (row,) in cur.fetchall())
    return tables


def physical_rows(dsn: str) -> dict[str, list[tuple]]:
    """(ctid, xmin) of every audit mart row: unchanged exactly when no row was written."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        result = {}
        for mart in MARTS:
            cur.execute(f"select ctid::text, xmin::text from audit.{mart} order by 1")
            result[mart] = cur.fetchall()
        return result


@pytest.fixture(scope="module")
def dbt(tmp_path_factory: pytest.TempPathFactory, warehouse_dsn: str) -> Callable[..., dict[str, Any]]:
    """`dbt(*args)` runs dbt on the project against the test warehouse; returns run_results by model name."""
    target = tmp_path_factory.mktemp("dbt_delta")
    conn = psycopg2.connect(warehouse_dsn)
    raw_warehouse.ensure_tables(conn)
    store.ensure_tables(conn)
    conn.close()

    def run(*args: str) -> dict[str, Any]:
        command = [str(DBT), *args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)]
        command += ["--target-path", str(target), "--log-path", str(target / "logs")]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
        results = json.loads((target / "run_results.json").read_text())["results"]
        return {r["unique_id"].split(".")[-1]: r for r in results}

    run("run", "-s", "path:models/staging", "path:models/intermediate")
    return run


@pytest.fixture()
def conn(warehouse_dsn: str) -> Iterator[Any]:
    connection = psycopg2.connect(warehouse_dsn)
    connection.autocommit = True
    try:
        yield connection
    finally:
        connection.close()


def build(dbt: Callable[..., dict[str, Any]], *args: str) -> dict[str, Any]:
    return dbt("build", "-s", "path:models/marts", *args)


def test_a_withdrawn_file_leaves_tombstones_and_the_previous_version_wins(
    dbt: Callable[..., dict[str, Any]], conn: Any, warehouse_dsn: str
) -> None:
    provider = "delta_withdrawn"
    load(conn, provider, DAY_1, {"a": "A first", "b": "B"})
    load(conn, provider, DAY_2, {"a": "A second", "c": "C"}, file="late.csv")
    build(dbt)
    decide(conn, f"{provider}:c", provider, "review", None)
    build(dbt)
    assert query(conn, "select band from audit.eidr_review_queue r join audit.eidr_mapping m using (asset_key)"
                 " where asset_key = %s and not r.is_removed", (f"{provider}:c",)) == [("review",)]  # fmt: skip
    load(conn, provider, DAY_2, {})  # the day-2 file was withdrawn: the interval re-run without it
    build(dbt)
    titles = query(
        conn, "select asset_key, title, is_removed from audit.titles where provider_id = %s order by 1", (provider,)
    )
    assert titles == [(f"{provider}:a", "A first", False), (f"{provider}:b", "B", False), (f"{provider}:c", "C", True)]
    for mart in ("eidr_mapping", "eidr_review_queue"):
        assert query(conn, f"select is_removed from audit.{mart} where asset_key = %s", (f"{provider}:c",)) == [(True,)]
    [(latest_run,)] = query(conn, "select max(changed_at) from audit.titles")
    removed = query(
        conn, "select changed_at = %s from audit.titles where asset_key = %s", (latest_run, f"{provider}:c")
    )
    assert removed == [(True,)]


def test_rerunning_an_interval_three_times_leaves_the_audit_marts_identical(
    dbt: Callable[..., dict[str, Any]], conn: Any, warehouse_dsn: str
) -> None:
    provider = "delta_rerun"
    load(conn, provider, DAY_1, {"x": "X", "y": "Y"})
    load(conn, provider, DAY_2, {"z": "Z"})
    decide(conn, f"{provider}:x", provider, "auto_accept", "10.5240/1111-1111-1111-1111-1111-X")
    build(dbt)
    before = snapshot(warehouse_dsn, provider, drop="run")
    assert len(before["titles"]) == 3 and len(before["eidr_coverage"]) == 1
    with_times = snapshot(warehouse_dsn, provider, drop=())
    for _ in range(3):
        load(conn, provider, DAY_1, {"x": "X", "y": "Y"})
        build(dbt)
        assert snapshot(warehouse_dsn, provider, drop="run") == before
    after = snapshot(warehouse_dsn, provider, drop=())
    assert {m: rows for m, rows in after.items() if m != "provider_deliveries"} == {
        m: rows for m, rows in with_times.items() if m != "provider_deliveries"
    }


def test_a_build_with_no_new_data_writes_no_rows(
    dbt: Callable[..., dict[str, Any]], conn: Any, warehouse_dsn: str
) -> None:
    load(conn, "delta_quiet", DAY_1, {"q": "Q"})
    build(dbt)
    before = physical_rows(warehouse_dsn)
    results = build(dbt)
    assert physical_rows(warehouse_dsn) == before
    nullable = query(
        conn,
        "select table_name, column_name from information_schema.columns where table_schema = 'audit'"
        " and column_name in ('changed_at', 'is_removed') and is_nullable = 'YES'",
    )
    assert nullable == []
    for mart in MARTS:
        assert results[mart]["status"] == "success", mart
        assert results[mart]["adapter_response"].get("rows_affected") == 0, (mart, results[mart]["adapter_response"])


def test_incremental_builds_equal_a_full_refresh(
    dbt: Callable[..., dict[str, Any]], conn: Any, warehouse_dsn: str
) -> None:
    provider = "delta_refresh"
    load(conn, provider, DAY_1, {"m": "M", "n": "N", "o": "O"})
    decide(conn, f"{provider}:m", provider, "review", None)
    build(dbt)
    load(conn, provider, DAY_2, {"m": "M again", "p": "P"})
    decide(conn, f"{provider}:n", provider, "auto_accept", "10.5240/2222-2222-2222-2222-2222-X")
    build(dbt)
    with conn.cursor() as cur:
        cur.execute(
            "insert into eidr.overrides (asset_key, eidr_id, decided_by, decided_at, reason)"
            " values (%s, '10.5240/3333-3333-3333-3333-3333-X', 'ops', now(), 'checked')",
            (f"{provider}:m",),
        )
    build(dbt)
    incremental = snapshot(warehouse_dsn, provider, live_only=True)
    build(dbt, "--full-refresh")
    assert snapshot(warehouse_dsn, provider, live_only=True) == incremental
    assert query(conn, "select count(*) from audit.titles where is_removed") == [(0,)]


def query(conn: Any, sql: str, params: tuple = ()) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def test_a_build_killed_midway_leaves_the_mart_as_it_was_and_the_rerun_completes(
    dbt: Callable[..., dict[str, Any]], conn: Any, warehouse_dsn: str, tmp_path: Path
) -> None:
    """SIGKILL of the marts' build (as when build_marts' worker dies) while titles is being rebuilt: titles and what
    it has seen stay as they were, reporting is not touched (only publish writes it), and the next build completes."""
    import os
    import signal
    import time

    provider = "delta_killed"
    load(conn, provider, DAY_1, {"k1": "K one"})
    build(dbt)
    seen = "select batch_id, finished_at from audit.mart_delta_batches where mart = 'titles' order by 1"
    titles_before, seen_before = physical_rows(warehouse_dsn)["titles"], query(conn, seen)
    reporting = "select count(*), coalesce(sum(hashtext(t::text)), 0) from reporting.titles as t"
    has_reporting = query(conn, "select to_regclass('reporting.titles') is not null") == [(True,)]
    reporting_before = query(conn, reporting) if has_reporting else None
    load(conn, provider, DAY_2, {"k2": "K two"})

    blocker = psycopg2.connect(warehouse_dsn)
    command = [str(DBT), "build", "-s", "path:models/marts", "--project-dir", str(DBT_DIR), "--profiles-dir",
               str(DBT_DIR), "--target-path", str(tmp_path), "--log-path", str(tmp_path / "logs")]  # fmt: skip
    try:
        with blocker.cursor() as cur:  # hold titles, so the build is caught inside its transaction
            cur.execute("lock table audit.titles in access exclusive mode")
            cur.execute("select pg_backend_pid()")
            [(blocker_pid,)] = cur.fetchall()
        killed = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        waiting: list[tuple] = []
        deadline = time.monotonic() + 300
        while not waiting and time.monotonic() < deadline and killed.poll() is None:
            time.sleep(0.2)
            waiting = query(
                conn, "select pid from pg_stat_activity where %s = any(pg_blocking_pids(pid))", (blocker_pid,)
            )
        assert waiting, "the build never reached titles"
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
    finally:
        blocker.rollback()
        blocker.close()
    [(backend,)] = waiting
    deadline = time.monotonic() + 60
    while query(conn, "select 1 from pg_stat_activity where pid = %s", (backend,)) and time.monotonic() < deadline:
        time.sleep(0.2)  # the orphaned session ends at its next write to the dead client, without committing

    assert physical_rows(warehouse_dsn)["titles"] == titles_before
    assert query(conn, seen) == seen_before
    assert not has_reporting or query(conn, reporting) == reporting_before
    results = build(dbt)
    assert results["titles"]["status"] == "success"
    rows = query(conn, "select asset_key, title from audit.titles where provider_id = %s order by 1", (provider,))
    assert rows == [(f"{provider}:k1", "K one"), (f"{provider}:k2", "K two")]
