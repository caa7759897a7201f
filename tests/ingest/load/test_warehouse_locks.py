"""No run waits on a lock without end: ensure_tables runs no DDL once the tables exist, and every session has a lock
timeout and an idle-in-transaction timeout that the environment sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingest.load import ledger, warehouse
from ingest.models import Batch, BatchStats, UsageError
from ingest.parse.formats import get_format

START = datetime(2026, 11, 2, tzinfo=UTC)


def _setting(conn: Any, name: str) -> str:
    with conn.cursor() as cur:
        cur.execute("select current_setting(%s)", (name,))
        value = cur.fetchone()[0]
    conn.rollback()
    return str(value)


def test_ensure_tables_runs_no_ddl_and_takes_no_lock_when_everything_exists(warehouse_dsn: str) -> None:
    first = warehouse.connect(warehouse_dsn)
    warehouse.ensure_tables(first)
    ledger.ensure_table(first)
    holder = warehouse.connect(warehouse_dsn)
    try:
        with holder.cursor() as cur:  # another run mid-load: its COPY holds this lock until it commits
            cur.execute("lock table raw.adi_titles, raw.quarantine, raw.ingest_ledger in row exclusive mode")
        waiting = warehouse.connect(warehouse_dsn, env={"INGEST_LOCK_TIMEOUT": "2s"})
        try:
            assert warehouse.ensure_tables(waiting) is False
            ledger.ensure_table(waiting)
            with waiting.cursor() as cur:
                cur.execute("select count(*) from pg_locks where pid = pg_backend_pid() and locktype = 'relation'")
                assert cur.fetchone()[0] <= 1  # pg_locks' own lock only
            waiting.rollback()
        finally:
            waiting.close()
    finally:
        holder.rollback()
        holder.close()
        first.close()


def test_missing_objects_names_what_the_ddl_would_create(conn: Any) -> None:
    ddl = (
        "create table if not exists raw.adi_titles (x int);\n"
        "create index if not exists adi_titles_interval_idx on raw.adi_titles (x);\n"
        "create index if not exists no_such_idx on raw.adi_titles (x);\n"
        "create schema if not exists no_such_schema;\n"
    )
    with conn.cursor() as cur:
        assert warehouse.missing_objects(cur, [ddl]) == ["no_such_schema", "raw.no_such_idx"]
    conn.rollback()


def test_sessions_have_a_lock_timeout_and_an_idle_in_transaction_timeout(warehouse_dsn: str) -> None:
    default = warehouse.connect(warehouse_dsn, env={})
    custom = warehouse.connect(
        warehouse_dsn, env={"INGEST_LOCK_TIMEOUT": "1500ms", "INGEST_IDLE_IN_TRANSACTION_TIMEOUT": "2min"}
    )
    try:
        assert _setting(default, "lock_timeout") == "1min"
        assert _setting(default, "idle_in_transaction_session_timeout") == "10min"
        assert _setting(custom, "lock_timeout") == "1500ms"
        assert _setting(custom, "idle_in_transaction_session_timeout") == "2min"
    finally:
        default.close()
        custom.close()
    with pytest.raises(UsageError, match="INGEST_LOCK_TIMEOUT"):
        warehouse.connect(warehouse_dsn, env={"INGEST_LOCK_TIMEOUT": "forever"})


def test_a_load_behind_a_held_lock_fails_after_the_lock_timeout(conn: Any, warehouse_dsn: str) -> None:
    spec = get_format("adi")
    batch = Batch("locked-1", "locked_adi", "adi", START, START + timedelta(days=1))
    holder = warehouse.connect(warehouse_dsn)
    waiting = warehouse.connect(warehouse_dsn, env={"INGEST_LOCK_TIMEOUT": "300ms"})
    try:
        with holder.cursor() as cur:
            cur.execute("lock table raw.adi_titles in exclusive mode")
        now = datetime.now(UTC)
        with pytest.raises(warehouse.LockTimeout, match="lock_timeout"):
            warehouse.replace_interval(waiting, batch, spec, [], [], BatchStats(0, 0, 0, now, now))
    finally:
        holder.rollback()
        holder.close()
        waiting.close()
