"""Publishing marts that follow the delta contract (changed_at, is_removed) against a real PostgreSQL and real GX:
only the delta is written, tombstones delete, quarantined records stay out, reconciliation, and a kill mid-publish."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from media_platform.audit.gx_checkpoint import run_audit
from media_platform.tasks import publish

TABLES = ["titles", "provider_deliveries"]
KEYS = {"titles": ["asset_key"], "provider_deliveries": ["batch_id"]}
T0, T1, T2 = "2026-11-02T01:00:00Z", "2026-11-02T02:00:00Z", "2026-11-02T03:00:00Z"
# The titles mart as the audit schema holds it under the contract: changed_at, is_removed, unique key, index.
SOURCE_DDL = """
create table {s}.titles (
    asset_key text not null, provider_id text not null, provider_asset_id text, title text, asset_type text,
    eidr_status text, runtime_minutes int, release_year int, eidr_id text,
    licensing_window_start timestamptz, licensing_window_end timestamptz, batch_id text,
    changed_at timestamptz not null, is_removed boolean not null default false
);
create unique index on {s}.titles (asset_key);
create index on {s}.titles (changed_at);
create table {s}.provider_deliveries (
    batch_id text not null, provider_id text not null, records_read int, records_loaded int,
    records_quarantined int, changed_at timestamptz not null, is_removed boolean not null default false
);
create unique index on {s}.provider_deliveries (batch_id);
"""


def _execute(conn: psycopg2.extensions.connection, statement: str, *params: object) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(statement, params or None)
        return cur.fetchall() if cur.description else []


def _title(
    conn: psycopg2.extensions.connection,
    schema: str,
    asset: str,
    changed_at: str,
    provider: str = "acme",
    **values: Any,
) -> None:
    """Upsert one titles row as a dbt build would write it: a good row unless `values` say otherwise."""
    row = {
        "asset_key": f"{provider}:{asset}",
        "provider_id": provider,
        "provider_asset_id": asset,
        "title": f"Title {asset}",
        "asset_type": "movie",
        "eidr_status": "missing",
        "runtime_minutes": 90,
        "batch_id": f"{provider}-20261102T000000",
        "changed_at": changed_at,
        "is_removed": False,
        **values,
    }
    columns = ", ".join(row)
    updates = ", ".join(f"{column} = excluded.{column}" for column in row)
    _execute(
        conn,
        f"insert into {schema}.titles ({columns}) values ({', '.join(['%s'] * len(row))})"
        f" on conflict (asset_key) do update set {updates}",
        *row.values(),
    )


def _delivery(
    conn: psycopg2.extensions.connection, schema: str, provider: str, loaded: int, changed_at: str, quarantined: int = 0
) -> None:
    _execute(
        conn,
        f"insert into {schema}.provider_deliveries values (%s, %s, %s, %s, %s, %s, false)"
        " on conflict (batch_id) do update set records_read = excluded.records_read,"
        " records_loaded = excluded.records_loaded, records_quarantined = excluded.records_quarantined,"
        " changed_at = excluded.changed_at",
        f"{provider}-20261102T000000",
        provider,
        loaded + quarantined,
        loaded,
        quarantined,
        changed_at,
    )


def _reporting(conn: psycopg2.extensions.connection, schema: str, table: str = "titles") -> list[tuple]:
    return _execute(conn, f"select * from {schema}.{table} order by 1")


def _titles(conn: psycopg2.extensions.connection, schema: str) -> dict[str, tuple]:
    rows = _execute(conn, f"select asset_key, title, runtime_minutes from {schema}.titles order by 1")
    return {key: (title, runtime) for key, title, runtime in rows}


def _watermark(conn: psycopg2.extensions.connection, source: str, target: str, table: str = "titles") -> str | None:
    found = _execute(
        conn,
        f"select to_char(published_through at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        f" from {source}.publish_watermarks where target_schema = %s and table_name = %s",
        target,
        table,
    )
    return found[0][0] if found else None


def _counts(**counts: int) -> dict[str, int]:
    return {"inserted": 0, "updated": 0, "deleted": 0, "unchanged": 0, "quarantined": 0, **counts}


@pytest.fixture()
def source(warehouse: psycopg2.extensions.connection, scratch_schema: str) -> str:
    """An audit schema under the contract: acme's m1..m3 and its delivery, all changed at T0."""
    _execute(warehouse, SOURCE_DDL.format(s=scratch_schema))
    for asset in ("m1", "m2", "m3"):
        _title(warehouse, scratch_schema, asset, T0)
    _delivery(warehouse, scratch_schema, "acme", 3, T0)
    return scratch_schema


@pytest.fixture()
def target(warehouse: psycopg2.extensions.connection, scratch_schema: str) -> Iterator[str]:
    name = f"{scratch_schema}_rpt"
    _execute(warehouse, f"drop schema if exists {name} cascade")
    yield name
    _execute(warehouse, f"drop schema if exists {name} cascade")


def _publish(dsn: str, source: str, target: str, tables: list[str] | None = None, **kwargs: Any) -> dict:
    return publish.publish_tables(dsn, tables or TABLES, KEYS, source_schema=source, target_schema=target, **kwargs)


def _audit(dsn: str, source: str, target: str, gx_root: Path, tables: list[str] | None = None) -> Any:
    return run_audit(dsn, source, tables or TABLES, gx_root, KEYS, target_schema=target)


def test_only_the_delta_is_published_and_the_watermark_moves_with_it(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str
) -> None:
    first = _publish(warehouse_dsn, source, target)
    assert first["titles"] == _counts(inserted=3)
    assert _watermark(warehouse, source, target) == "2026-11-02T01:00:00Z"
    described = _execute(
        warehouse,
        "select column_name from information_schema.columns where table_schema = %s and table_name = 'titles'",
        target,
    )
    assert "is_removed" not in {name for (name,) in described} and "changed_at" in {name for (name,) in described}
    # A row outside the delta that differs from reporting is not even looked at: no full-table comparison.
    _execute(warehouse, f"update {source}.titles set title = 'not in any delta' where asset_key = 'acme:m3'")
    _title(warehouse, source, "m1", T1, title="One, again")
    _title(warehouse, source, "m4", T1)
    _delivery(warehouse, source, "acme", 4, T1)

    second = _publish(warehouse_dsn, source, target)

    assert second["titles"] == _counts(inserted=1, updated=1)
    assert second["provider_deliveries"] == _counts(updated=1)
    assert _titles(warehouse, target) == {
        "acme:m1": ("One, again", 90),
        "acme:m2": ("Title m2", 90),
        "acme:m3": ("Title m3", 90),
        "acme:m4": ("Title m4", 90),
    }
    assert _watermark(warehouse, source, target) == "2026-11-02T02:00:00Z"
    assert _execute(
        warehouse,
        f"select records_published, records_quarantined_at_audit, records_superseded from {target}.provider_deliveries",
    ) == [(4, 0, 0)]


def test_a_publish_with_no_delta_does_nothing_and_says_so(
    warehouse: psycopg2.extensions.connection,
    warehouse_dsn: str,
    source: str,
    target: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _publish(warehouse_dsn, source, target)
    versions = _execute(warehouse, f"select asset_key, xmin::text from {target}.titles order by 1")

    with caplog.at_level(logging.INFO, logger="media_platform.tasks.publish"):
        again = _publish(warehouse_dsn, source, target)

    assert again == {"titles": _counts(), "provider_deliveries": _counts()}
    assert _execute(warehouse, f"select asset_key, xmin::text from {target}.titles order by 1") == versions
    assert "nothing changed" in caplog.text


def test_a_tombstone_deletes_its_key_from_reporting(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str
) -> None:
    _publish(warehouse_dsn, source, target)
    _title(warehouse, source, "m2", T1, is_removed=True, title=None, provider_asset_id=None)

    published = _publish(warehouse_dsn, source, target)

    assert published["titles"] == _counts(deleted=1)
    assert set(_titles(warehouse, target)) == {"acme:m1", "acme:m3"}


def test_a_publish_refuses_a_delta_the_audit_did_not_validate(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str, tmp_path: Path
) -> None:
    audited = _audit(warehouse_dsn, source, target, tmp_path).summary()["deltas"]
    _publish(warehouse_dsn, source, target)  # someone else published in between
    _title(warehouse, source, "m4", T1)
    _delivery(warehouse, source, "acme", 4, T1)

    with pytest.raises(publish.PublishError, match="audit it again"):
        _publish(warehouse_dsn, source, target, audited=audited)

    assert _watermark(warehouse, source, target) == "2026-11-02T01:00:00Z"


def test_a_bad_record_is_quarantined_the_rest_published_and_another_provider_is_never_blocked(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str, tmp_path: Path
) -> None:
    first = _audit(warehouse_dsn, source, target, tmp_path)
    _publish(warehouse_dsn, source, target, audited=first.summary()["deltas"])
    # acme re-delivers m1 with an inverted licensing window and m2 fixed up; globex delivers two good titles and
    # one with a runtime of 99 hours.
    _title(
        warehouse, source, "m1", T1,
        title="One (bad window)",
        licensing_window_start="2026-12-31T00:00:00Z",
        licensing_window_end="2026-01-01T00:00:00Z",
    )  # fmt: skip
    _title(warehouse, source, "m2", T1, title="Two, better")
    for asset in ("g1", "g2"):
        _title(warehouse, source, asset, T1, provider="globex")
    _title(warehouse, source, "g3", T1, provider="globex", runtime_minutes=5940)
    _delivery(warehouse, source, "globex", 3, T1)

    audit = _audit(warehouse_dsn, source, target, tmp_path)
    published = _publish(warehouse_dsn, source, target, audited=audit.summary()["deltas"])

    assert audit.success, audit.failures
    assert sorted(entry.describe() for entry in audit.quarantined) == [
        "titles [asset_key=acme:m1] provider acme batch acme-20261102T000000: licensing_window_end"
        " 2026-01-01T00:00:00+00:00 before licensing_window_start 2026-12-31T00:00:00+00:00",
        "titles [asset_key=globex:g3] provider globex batch globex-20261102T000000: runtime_minutes 5940 not"
        " between 1 and 600",
    ]
    assert published["titles"] == _counts(inserted=2, updated=1, quarantined=2)
    assert _titles(warehouse, target) == {
        "acme:m1": ("Title m1", 90),  # its previous published version
        "acme:m2": ("Two, better", 90),
        "acme:m3": ("Title m3", 90),
        "globex:g1": ("Title g1", 90),
        "globex:g2": ("Title g2", 90),
    }
    reconciliation = _execute(
        warehouse,
        f"select batch_id, records_loaded, records_published, records_quarantined_at_audit, records_superseded"
        f" from {target}.provider_deliveries order by 1",
    )
    assert reconciliation == [
        ("acme-20261102T000000", 3, 2, 1, 0),
        ("globex-20261102T000000", 3, 2, 1, 0),
    ]

    # The provider fixes the window: the next delta validates m1 again, closes its entry and publishes it.
    _title(warehouse, source, "m1", T2, title="One, fixed", licensing_window_end="2027-01-01T00:00:00Z")
    fixed = _audit(warehouse_dsn, source, target, tmp_path)
    again = _publish(warehouse_dsn, source, target, audited=fixed.summary()["deltas"])

    assert fixed.success and fixed.quarantined == []
    assert again["titles"] == _counts(updated=1)
    assert _titles(warehouse, target)["acme:m1"] == ("One, fixed", 90)
    assert _execute(warehouse, f"select asset_key from {source}.quarantine where is_open") == [("globex:g3",)]
    assert _execute(
        warehouse,
        f"select records_published, records_quarantined_at_audit, records_superseded"
        f" from {target}.provider_deliveries where batch_id = 'acme-20261102T000000'",
    ) == [(3, 0, 0)]


def test_a_table_level_failure_blocks_every_provider(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str, tmp_path: Path
) -> None:
    _publish(warehouse_dsn, source, target)
    before = _reporting(warehouse, target)
    _title(warehouse, source, "g1", T1, provider="globex")
    _delivery(warehouse, source, "globex", 2, T1, quarantined=0)
    _execute(warehouse, f"update {source}.provider_deliveries set records_read = 9 where provider_id = 'globex'")

    audit = _audit(warehouse_dsn, source, target, tmp_path)

    assert not audit.success
    assert [line.split(":")[0] for line in audit.failures] == ["provider_deliveries"]
    assert "records_read = records_loaded + records_quarantined" in audit.failures[0]
    assert _reporting(warehouse, target) == before


def test_a_collapsing_row_count_blocks(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str, tmp_path: Path
) -> None:
    for number in range(4, 25):
        _title(warehouse, source, f"m{number}", T0)
    _publish(warehouse_dsn, source, target, ["titles"])
    for number in range(1, 20):
        _title(warehouse, source, f"m{number}", T1, is_removed=True)

    audit = _audit(warehouse_dsn, source, target, tmp_path, ["titles"])

    assert not audit.success
    assert audit.failures == [
        f"titles: row count collapsed: {target}.titles would keep 5 of its 24 rows (a publish may remove at most 50%)"
    ]


def test_a_delta_without_its_unique_index_is_refused(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str, tmp_path: Path
) -> None:
    _execute(warehouse, f"drop index {source}.titles_asset_key_idx")

    audit = _audit(warehouse_dsn, source, target, tmp_path, ["titles"])

    assert audit.failures == [f"titles: {source}.titles has no unique index on its publish key ['asset_key']"]


def test_an_audit_with_no_delta_validates_nothing(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str, tmp_path: Path
) -> None:
    first = _audit(warehouse_dsn, source, target, tmp_path)
    _publish(warehouse_dsn, source, target, audited=first.summary()["deltas"])
    _execute(warehouse, f"update {source}.titles set runtime_minutes = 5940")  # outside any delta: not looked at

    again = _audit(warehouse_dsn, source, target, tmp_path)

    assert again.success and again.statistics == {} and again.quarantined == []
    assert all(delta["until"] is None for delta in again.summary()["deltas"].values())
    assert first.statistics["titles"]["evaluated_expectations"] > 0


def test_the_delta_batch_holds_the_changed_live_rows_only(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str, tmp_path: Path
) -> None:
    first = _audit(warehouse_dsn, source, target, tmp_path, ["titles"])
    _publish(warehouse_dsn, source, target, ["titles"], audited=first.summary()["deltas"])
    _title(warehouse, source, "m4", T1)
    _title(warehouse, source, "m2", T1, is_removed=True, title=None)  # a tombstone breaks no record rule

    audit = _audit(warehouse_dsn, source, target, tmp_path, ["titles"])

    assert audit.success and audit.quarantined == []
    stored = (tmp_path / "gx" / "uncommitted" / "validations" / "titles").rglob("*.json")
    first_run, second_run = sorted(stored, key=lambda path: path.stat().st_mtime_ns)
    assert '"element_count": 3,' in first_run.read_text()
    assert '"element_count": 1,' in second_run.read_text()  # m4; the tombstone m2 is not validated


def _waiting_on(warehouse: psycopg2.extensions.connection, holder_pid: int) -> int:
    """Block until a session waits for a lock holder_pid holds: the publish is then mid-transaction."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        waiting = _execute(
            warehouse, "select pid from pg_stat_activity where %s = any(pg_blocking_pids(pid)) limit 1", holder_pid
        )
        if waiting:
            return int(waiting[0][0])
        time.sleep(0.05)
    raise AssertionError(f"no publish ever waited for session {holder_pid}")


def test_a_delta_publish_killed_midway_leaves_reporting_all_old_and_the_rerun_completes(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str, tmp_path: Path
) -> None:
    _publish(warehouse_dsn, source, target)
    before = {table: _reporting(warehouse, target, table) for table in TABLES}
    _title(warehouse, source, "m1", T1, title="One, again")
    _title(warehouse, source, "m3", T1, is_removed=True)
    _title(warehouse, source, "m4", T1)
    _delivery(warehouse, source, "acme", 4, T1)
    audited = _audit(warehouse_dsn, source, target, tmp_path).summary()["deltas"]
    holder = psycopg2.connect(warehouse_dsn)
    try:
        # titles merges first; the publish then waits on the delivery row this session holds, mid-transaction.
        _execute(holder, f"select * from {target}.provider_deliveries for update")
        with ThreadPoolExecutor(max_workers=1) as pool:
            publishing = pool.submit(_publish, warehouse_dsn, source, target, audited=audited)
            pid = _waiting_on(warehouse, holder.get_backend_pid())
            assert {table: _reporting(warehouse, target, table) for table in TABLES} == before
            _execute(warehouse, "select pg_terminate_backend(%s)", pid)
            with pytest.raises(psycopg2.OperationalError):
                publishing.result(timeout=30)
        holder.rollback()
    finally:
        holder.close()

    assert {table: _reporting(warehouse, target, table) for table in TABLES} == before
    assert _watermark(warehouse, source, target) == "2026-11-02T01:00:00Z"

    rerun = _publish(warehouse_dsn, source, target, audited=audited)

    assert rerun["titles"] == _counts(inserted=1, updated=1, deleted=1)
    assert _titles(warehouse, target) == {
        "acme:m1": ("One, again", 90),
        "acme:m2": ("Title m2", 90),
        "acme:m4": ("Title m4", 90),
    }
    assert _watermark(warehouse, source, target) == "2026-11-02T02:00:00Z"
    assert _execute(warehouse, f"select records_loaded, records_published from {target}.provider_deliveries") == [
        (4, 3)
    ]


def test_a_publishing_process_killed_midway_leaves_reporting_all_old_and_the_rerun_completes(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str, tmp_path: Path
) -> None:
    _publish(warehouse_dsn, source, target)
    before = {table: _reporting(warehouse, target, table) for table in TABLES}
    _title(warehouse, source, "m4", T1)
    _delivery(warehouse, source, "acme", 4, T1)
    audited = _audit(warehouse_dsn, source, target, tmp_path).summary()["deltas"]
    script = (
        "import json, sys\n"
        "from media_platform.tasks.publish import publish_tables\n"
        "publish_tables(sys.argv[1], ['titles', 'provider_deliveries'], json.loads(sys.argv[2]),"
        " sys.argv[3], sys.argv[4], audited=json.loads(sys.argv[5]))\n"
    )
    root = Path(__file__).resolve().parents[3]
    # The server notices a vanished client within 100 ms even while the publish waits for a lock.
    env = {
        **os.environ,
        "PYTHONPATH": f"{root / 'plugins'}:{root / 'include'}",
        "PGOPTIONS": "-c client_connection_check_interval=100",
    }
    holder = psycopg2.connect(warehouse_dsn)
    try:
        _execute(holder, f"select * from {target}.provider_deliveries for update")
        process = subprocess.Popen(
            [sys.executable, "-c", script, warehouse_dsn, json.dumps(KEYS), source, target, json.dumps(audited)],
            env=env,
        )
        try:
            pid = _waiting_on(warehouse, holder.get_backend_pid())
            process.kill()
            assert process.wait(timeout=30) == -signal.SIGKILL
        finally:
            process.kill()
        _gone(warehouse, pid)  # its transaction was rolled back while this session still holds the row
        assert {table: _reporting(warehouse, target, table) for table in TABLES} == before
        holder.rollback()
    finally:
        holder.close()
    assert _watermark(warehouse, source, target) == "2026-11-02T01:00:00Z"

    rerun = _publish(warehouse_dsn, source, target, audited=audited)

    assert rerun["titles"] == _counts(inserted=1)
    assert _watermark(warehouse, source, target) == "2026-11-02T02:00:00Z"


def _gone(warehouse: psycopg2.extensions.connection, pid: int) -> None:
    """Block until the server has ended the backend `pid`."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not _execute(warehouse, "select 1 from pg_stat_activity where pid = %s", pid):
            return
        time.sleep(0.05)
    raise AssertionError(f"backend {pid} outlived its client")
