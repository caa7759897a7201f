"""The raw schema: its DDL, and loading one batch with COPY in one transaction that replaces the interval's rows."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import psycopg2
from psycopg2.extensions import connection as Connection

from ingest.formats import FormatSpec
from ingest.models import Batch, BatchStats, IngestError, ParsedRecord, Quarantined

SCHEMA = "raw"
DSN_ENV = "WAREHOUSE_DSN"
_DDL_LOCK_KEY = 7_240_511  # any constant: serialises concurrent `create ... if not exists`

DDL = """
create schema if not exists raw;

create table if not exists raw.ingest_batches (
    batch_id text primary key,
    provider_id text not null,
    source_format text not null,
    interval_start timestamptz not null,
    interval_end timestamptz not null,
    files_read int not null,
    records_read int not null,
    records_loaded int not null,
    records_quarantined int not null,
    bytes_read bigint not null,
    started_at timestamptz not null,
    finished_at timestamptz not null
);
create index if not exists ingest_batches_interval_idx
    on raw.ingest_batches (provider_id, interval_start, interval_end);

create table if not exists raw.quarantine (
    batch_id text not null,
    provider_id text not null,
    source_format text not null,
    interval_start timestamptz not null,
    interval_end timestamptz not null,
    source_file text not null,
    source_location text,
    reason text not null,
    raw_record text,
    quarantined_at timestamptz not null
);
create index if not exists quarantine_interval_idx on raw.quarantine (provider_id, interval_start, interval_end);
"""

RECORD_META_COLUMNS = (
    "batch_id", "provider_id", "interval_start", "interval_end", "source_file", "source_location", "loaded_at",
    "record_hash",
)  # fmt: skip
BATCH_COLUMNS = (
    "batch_id", "provider_id", "source_format", "interval_start", "interval_end", "files_read", "records_read",
    "records_loaded", "records_quarantined", "bytes_read", "started_at", "finished_at",
)  # fmt: skip
QUARANTINE_COLUMNS = (
    "batch_id", "provider_id", "source_format", "interval_start", "interval_end", "source_file", "source_location",
    "reason", "raw_record", "quarantined_at",
)  # fmt: skip


class ReconciliationError(IngestError):
    """Rows written do not add up to records read: the transaction is rolled back, nothing is committed."""


def connect(dsn: str | None = None) -> Connection:
    """Connect to the warehouse: the given libpq URL, else $WAREHOUSE_DSN, else libpq defaults (PG* variables)."""
    dsn = dsn if dsn is not None else os.environ.get(DSN_ENV, "")
    try:
        return psycopg2.connect(dsn)
    except psycopg2.OperationalError as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise IngestError(f"cannot connect to the warehouse: {first_line}") from err


def ensure_tables(conn: Connection, spec: FormatSpec | None = None) -> None:
    """Create the raw schema, the shared tables and the format's table (every format's without one) when missing.

    Safe when several runs start at once.
    """
    from ingest.formats import all_formats

    specs = [spec] if spec is not None else all_formats()
    with conn, conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(%s)", (_DDL_LOCK_KEY,))
        cur.execute(DDL)
        for format_spec in specs:
            cur.execute(format_spec.ddl)


def replace_interval(
    conn: Connection,
    batch: Batch,
    spec: FormatSpec,
    records: Sequence[ParsedRecord],
    quarantined: Sequence[Quarantined],
    stats: BatchStats,
) -> tuple[int, int]:
    """In one transaction: delete the provider's rows for this exact interval, COPY the new ones, record the batch.

    Returns (records loaded, records quarantined) as counted by PostgreSQL; raises ReconciliationError, rolling
    back, when they do not add up to the records read.
    """
    key = (batch.provider_id, batch.interval_start, batch.interval_end)
    with conn, conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", ("|".join(map(str, key)),))
        for table in (spec.table, "quarantine", "ingest_batches"):
            cur.execute(
                f"delete from {SCHEMA}.{table} where provider_id = %s and interval_start = %s and interval_end = %s",
                key,
            )
        finished_at = stats.finished_at
        record_rows = (
            (
                batch.batch_id, batch.provider_id, batch.interval_start, batch.interval_end, r.source_file,
                r.source_location, finished_at, r.record_hash, *(r.columns[c] for c in spec.columns),
            )
            for r in records
        )  # fmt: skip
        loaded = _copy(cur, spec.table, RECORD_META_COLUMNS + spec.columns, record_rows)
        quarantine_rows = (
            (
                batch.batch_id, batch.provider_id, batch.source_format, batch.interval_start, batch.interval_end,
                q.source_file, q.source_location, q.reason, q.raw_record, finished_at,
            )
            for q in quarantined
        )  # fmt: skip
        in_quarantine = _copy(cur, "quarantine", QUARANTINE_COLUMNS, quarantine_rows)
        if stats.records_read != loaded + in_quarantine:
            raise ReconciliationError(
                f"records read ({stats.records_read}) != loaded ({loaded}) + quarantined ({in_quarantine}); rolled back"
            )
        cur.execute(
            f"insert into {SCHEMA}.ingest_batches ({', '.join(BATCH_COLUMNS)})"
            f" values ({', '.join(['%s'] * len(BATCH_COLUMNS))})",
            (
                batch.batch_id, batch.provider_id, batch.source_format, batch.interval_start, batch.interval_end,
                stats.files_read, stats.records_read, loaded, in_quarantine, stats.bytes_read,
                stats.started_at, finished_at,
            ),
        )  # fmt: skip
    return loaded, in_quarantine


def _copy(cur: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows into raw.<table> from an in-memory CSV buffer; returns the row count PostgreSQL reports."""
    buffer = io.StringIO()
    for row in rows:
        buffer.write(",".join(_csv_value(value) for value in row))
        buffer.write("\n")
    buffer.seek(0)
    cur.copy_expert(f"copy {SCHEMA}.{table} ({', '.join(columns)}) from stdin with (format csv)", buffer)
    return int(cur.rowcount)


def _csv_value(value: Any) -> str:
    """One CSV field: NULL unquoted-empty, every other value quoted, so '' stays an empty string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime | date):
        text = value.isoformat()
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    return '"' + text.replace("\x00", "\ufffd").replace('"', '""') + '"'
