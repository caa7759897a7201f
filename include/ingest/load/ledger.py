"""The processed-files ledger raw.ingest_ledger: which files each interval loaded, so no other interval reloads them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg2.extensions import connection as Connection
from psycopg2.extras import execute_values

from ingest.load import warehouse
from ingest.models import Batch, LedgerFile

_DDL_LOCK_KEY = 7_240_512  # any constant: serialises concurrent `create ... if not exists`

DDL = """
create table if not exists raw.ingest_ledger (
    provider_id text not null,
    location text not null,
    file_path text not null,
    size_bytes bigint,
    modified_at timestamptz,
    etag text,
    checksum text,
    batch_id text not null,
    interval_start timestamptz not null,
    interval_end timestamptz not null,
    loaded_at timestamptz not null,
    primary key (provider_id, location, file_path, interval_start, interval_end)
);
"""

COLUMNS = (
    "provider_id", "location", "file_path", "size_bytes", "modified_at", "etag", "checksum", "batch_id",
    "interval_start", "interval_end", "loaded_at",
)  # fmt: skip


def ensure_table(conn: Connection) -> None:
    """Create raw.ingest_ledger when missing (the raw schema exists: warehouse.ensure_tables runs first); reads the
    catalog first and runs no DDL when the table is there (see warehouse.ensure_tables)."""
    with conn, conn.cursor() as cur:
        if not warehouse.missing_objects(cur, [DDL]):
            return
        warehouse.locked(cur, "select pg_advisory_xact_lock(%s)", (_DDL_LOCK_KEY,), "to create raw.ingest_ledger")
        warehouse.locked(cur, DDL, (), "to create raw.ingest_ledger")


def loaded_elsewhere(conn: Connection, batch: Batch, location: str) -> dict[str, list[LedgerFile]]:
    """Files of this provider and location already loaded for any interval other than the batch's, by path."""
    with conn, conn.cursor() as cur:
        cur.execute(
            "select file_path, size_bytes, modified_at, etag, checksum, batch_id, interval_start, interval_end"
            " from raw.ingest_ledger where provider_id = %s and location = %s"
            " and (interval_start, interval_end) <> (%s, %s) order by loaded_at",
            (batch.provider_id, location, batch.interval_start, batch.interval_end),
        )
        rows = cur.fetchall()
    found: dict[str, list[LedgerFile]] = {}
    for row in rows:
        found.setdefault(row[0], []).append(LedgerFile(*row))
    return found


def replace_rows(cur: Any, batch: Batch, location: str, files: Sequence[LedgerFile], loaded_at: datetime) -> None:
    """Inside the batch's transaction: the interval's ledger rows become exactly the files this batch loaded."""
    cur.execute(
        "delete from raw.ingest_ledger where provider_id = %s and interval_start = %s and interval_end = %s",
        (batch.provider_id, batch.interval_start, batch.interval_end),
    )
    rows = [
        (
            batch.provider_id, location, f.file_path, f.size_bytes, f.modified_at, f.etag, f.checksum,
            batch.batch_id, batch.interval_start, batch.interval_end, loaded_at,
        )
        for f in files
    ]  # fmt: skip
    if rows:
        execute_values(cur, f"insert into raw.ingest_ledger ({', '.join(COLUMNS)}) values %s", rows)


def loaded_files(
    conn: Connection, provider_id: str, location: str, paths: Sequence[str]
) -> dict[str, list[LedgerFile]]:
    """Read-only: the ledger's rows for these files of a provider's location, any interval, by path (what a
    watcher checks before it fires). A warehouse without the ledger yet has loaded nothing."""
    if not paths:
        return {}
    with conn.cursor() as cur:
        if not _exists(cur, "raw.ingest_ledger"):
            return {}
        cur.execute(
            "select file_path, size_bytes, modified_at, etag, checksum, batch_id, interval_start, interval_end"
            " from raw.ingest_ledger where provider_id = %s and location = %s and file_path = any(%s)",
            (provider_id, location, list(paths)),
        )
        rows = cur.fetchall()
    found: dict[str, list[LedgerFile]] = {}
    for row in rows:
        found.setdefault(row[0], []).append(LedgerFile(*row))
    return found


def batches_started(conn: Connection, provider_id: str, since: datetime) -> dict[tuple[datetime, datetime], datetime]:
    """Read-only: per interval (start, end), the latest start of a batch of the provider that started at or after
    `since` (a watcher's sign that a run has looked at an interval's files since it fired)."""
    with conn.cursor() as cur:
        if not _exists(cur, "raw.ingest_batches"):
            return {}
        cur.execute(
            "select interval_start, interval_end, max(started_at) from raw.ingest_batches"
            " where provider_id = %s and started_at >= %s group by interval_start, interval_end",
            (provider_id, since),
        )
        return {(start, end): started for start, end, started in cur.fetchall()}


def _exists(cur: Any, table: str) -> bool:
    cur.execute("select to_regclass(%s) is not null", (table,))
    return bool(cur.fetchone()[0])
