"""Loading into raw: the DDL, COPY fidelity, replacing an interval atomically, and the reconciliation guard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from psycopg2.extras import RealDictCursor

from ingest.load import warehouse
from ingest.models import Batch, BatchStats, ParsedRecord, Quarantined
from ingest.parse.formats import get_format
from ingest.parse.formats.adi import TITLE_COLUMNS, parse_adi_file

START = datetime(2026, 11, 2, tzinfo=UTC)
END = START + timedelta(days=1)
ADI = get_format("adi")


def _batch(provider: str, suffix: str = "1") -> Batch:
    return Batch(f"{provider}-{suffix}", provider, "adi", START, END)


def _stats(records_read: int) -> BatchStats:
    now = datetime.now(UTC)
    return BatchStats(
        files_read=records_read, records_read=records_read, bytes_read=10, started_at=now, finished_at=now
    )


def _rows(conn: Any, sql: str, *params: Any) -> list[dict[str, Any]]:
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(sql, params)
        rows = [dict(r) for r in cur.fetchall()]
    conn.rollback()
    return rows


def _columns(conn: Any, table: str) -> tuple[str, ...]:
    rows = _rows(
        conn,
        "select column_name from information_schema.columns where table_schema = 'raw' and table_name = %s "
        "order by ordinal_position",
        table,
    )
    return tuple(r["column_name"] for r in rows)


def test_ddl_is_idempotent_and_columns_match_the_loader(conn: Any) -> None:
    warehouse.ensure_tables(conn)
    assert _columns(conn, "adi_titles") == warehouse.RECORD_META_COLUMNS + TITLE_COLUMNS
    assert _columns(conn, "quarantine") == warehouse.QUARANTINE_COLUMNS
    assert _columns(conn, "ingest_batches") == warehouse.BATCH_COLUMNS


def test_copy_stores_exactly_what_was_parsed(conn: Any, public_adi: Path) -> None:
    awkward = 'He said "hi", then\nleft; a\\b, tab\there, \\. and \u00e9\u4e2d\U0001f3ac'
    text = (public_adi / "vod_metadata_reference.xml").read_text()
    xml_value = awkward.replace("&", "&amp;").replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")
    text = text.replace('Value="Test Summary_Short"', f'Value="{xml_value}"')
    text = text.replace('Name="Title_Brief" Value="Test Title_Brief"', 'Name="Title_Brief" Value=""')
    record = parse_adi_file(text.encode(), "2026-11-02/awkward.xml")
    assert isinstance(record, ParsedRecord) and record.columns["summary_short"] == awkward
    loaded, quarantined = warehouse.replace_interval(conn, _batch("wh_copy"), ADI, [record], [], _stats(1))
    assert (loaded, quarantined) == (1, 0)
    [row] = _rows(conn, "select * from raw.adi_titles where provider_id = 'wh_copy'")
    assert {c: row[c] for c in TITLE_COLUMNS} == record.columns
    assert row["title_brief"] is None
    assert row["record"]["assets"][0]["app_data"]["Title_Brief"] == [""]  # empty stays empty inside the record
    assert (row["source_file"], row["record_hash"]) == ("2026-11-02/awkward.xml", record.record_hash)


def test_reload_replaces_only_that_provider_interval(conn: Any, public_adi: Path) -> None:
    record = parse_adi_file((public_adi / "HBO_ADI_OK.XML").read_bytes(), "2026-11-02/HBO_ADI_OK.XML")
    bad = Quarantined("2026-11-02/bad.xml", "2026-11-02/bad.xml:1:0", "malformed XML: boom", "<ADI")
    assert isinstance(record, ParsedRecord)
    other = Batch("wh_replace-next", "wh_replace", "adi", END, END + timedelta(days=1))
    warehouse.replace_interval(conn, other, ADI, [record], [], _stats(1))
    warehouse.replace_interval(conn, _batch("wh_replace", "a"), ADI, [record, record], [bad], _stats(3))
    warehouse.replace_interval(conn, _batch("wh_replace", "b"), ADI, [record], [bad], _stats(2))
    counts = _rows(
        conn,
        "select b.batch_id, b.records_loaded, b.records_quarantined,"
        " (select count(*) from raw.adi_titles t where t.batch_id = b.batch_id) as titles,"
        " (select count(*) from raw.quarantine q where q.batch_id = b.batch_id) as quarantined"
        " from raw.ingest_batches b where b.provider_id = 'wh_replace' order by b.batch_id",
    )
    assert counts == [
        {"batch_id": "wh_replace-b", "records_loaded": 1, "records_quarantined": 1, "titles": 1, "quarantined": 1},
        {"batch_id": "wh_replace-next", "records_loaded": 1, "records_quarantined": 0, "titles": 1, "quarantined": 0},
    ]
    assert _rows(conn, "select count(*) as n from raw.adi_titles where batch_id = 'wh_replace-a'") == [{"n": 0}]


def test_counts_that_do_not_reconcile_roll_everything_back(conn: Any, public_adi: Path) -> None:
    record = parse_adi_file((public_adi / "HBO_ADI_OK.XML").read_bytes(), "2026-11-02/HBO_ADI_OK.XML")
    assert isinstance(record, ParsedRecord)
    warehouse.replace_interval(conn, _batch("wh_guard", "good"), ADI, [record], [], _stats(1))
    with pytest.raises(warehouse.ReconciliationError, match=r"records read \(5\) != loaded \(1\) \+ quarantined \(0\)"):
        warehouse.replace_interval(conn, _batch("wh_guard", "bad"), ADI, [record], [], _stats(5))
    rows = _rows(conn, "select batch_id from raw.adi_titles where provider_id = 'wh_guard'")
    assert rows == [{"batch_id": "wh_guard-good"}]
    assert _rows(conn, "select batch_id from raw.ingest_batches where provider_id = 'wh_guard'") == rows


def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(warehouse.IngestError, match="cannot connect to the warehouse"):
        warehouse.connect("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_dsn_defaults_to_the_environment(warehouse_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREHOUSE_DSN", warehouse_dsn)
    connection = warehouse.connect()
    try:
        assert isinstance(connection, psycopg2.extensions.connection)
    finally:
        connection.close()


def test_ensure_tables_never_deadlocks_with_a_load_under_way(conn: Any, warehouse_dsn: str) -> None:
    import threading

    warehouse.ensure_tables(conn)
    loading = psycopg2.connect(warehouse_dsn)  # a run in its load transaction: row locks on two raw tables
    try:
        with loading.cursor() as cur:
            cur.execute("select pg_advisory_xact_lock(1)")  # an open transaction
            cur.execute("delete from raw.quarantine where provider_id = 'deadlock_test'")
        errors: list[BaseException] = []

        def other_run() -> None:
            other = psycopg2.connect(warehouse_dsn)
            try:
                warehouse.ensure_tables(other)
            except BaseException as err:  # noqa: BLE001 - reported by the assertion below
                errors.append(err)
            finally:
                other.close()

        thread = threading.Thread(target=other_run)
        thread.start()
        thread.join(2.0)  # it waits for the quarantine index's lock, holding no other table's
        with loading.cursor() as cur:
            cur.execute("delete from raw.ingest_batches where provider_id = 'deadlock_test'")
        loading.commit()
        thread.join(30)
        assert not thread.is_alive() and errors == []
    finally:
        loading.close()
