"""The raw schema: its DDL, and loading one batch with COPY in one transaction that replaces the interval's rows."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg2
import psycopg2.errors
from psycopg2.extensions import connection as Connection

from ingest.contract import IDLE_IN_TRANSACTION_TIMEOUT_ENV, LOCK_TIMEOUT_ENV, WAREHOUSE_DSN_ENV
from ingest.load import copy_binary, copy_csv, record_blocks
from ingest.models import Batch, BatchStats, IngestError, ParsedRecord, Quarantined, RecordBlock, UsageError
from ingest.parse.formats import FormatSpec, all_formats

SCHEMA = "raw"
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


def connect(dsn: str | None = None, env: Mapping[str, str] | None = None) -> Connection:
    """Connect to the warehouse: the given libpq URL, else $WAREHOUSE_DSN, else libpq defaults (PG* variables).

    The session waits at most $INGEST_LOCK_TIMEOUT for any lock (DDL, the interval's lock, the delete) and is ended
    by the server after $INGEST_IDLE_IN_TRANSACTION_TIMEOUT idle inside a transaction: a run that cannot get on
    fails with a clear error (and is retried) instead of hanging, and a stuck one does not hold its locks forever.
    """
    env = os.environ if env is None else env
    settings = session_settings(env)
    dsn = dsn if dsn is not None else env.get(WAREHOUSE_DSN_ENV, "")
    try:
        conn = psycopg2.connect(dsn)
    except psycopg2.OperationalError as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise IngestError(f"cannot connect to the warehouse: {first_line}") from err
    try:
        with conn, conn.cursor() as cur:
            for name, value in settings.items():
                cur.execute("select set_config(%s, %s, false)", (name, value))
    except BaseException:
        conn.close()
        raise
    return conn


def original_error(err: BaseException) -> BaseException:
    """The error that lost the connection, when `err` is psycopg2's report of using it afterwards.

    When the server ends a session (shut down, restarted, the backend terminated), the statement fails with an
    OperationalError saying why; the `with conn` that wraps it then rolls back on the closed connection, and the
    InterfaceError "connection already closed" of that rollback is what propagates, with the cause only in its
    context. The cause is what an operator needs to read."""
    seen = err
    while isinstance(seen, psycopg2.InterfaceError) and isinstance(seen.__context__, psycopg2.Error):
        seen = seen.__context__
    return seen


def describe_connection_lost(err: BaseException) -> str | None:
    """One line for a warehouse connection that the server ended during the run, else None (another error)."""
    cause = original_error(err)
    code = getattr(cause, "pgcode", None) or ""
    closed = isinstance(cause, psycopg2.InterfaceError) or cause is not err
    ended = isinstance(cause, psycopg2.OperationalError) and (not code or code.startswith(("57P", "08")))
    if not (closed or ended):
        return None
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    reason = "; ".join(dict.fromkeys(lines)) or type(cause).__name__
    return (
        f"lost the warehouse connection: {reason} (the server shut down, restarted or ended the session);"
        " nothing of this batch was committed, run it again once the warehouse is back"
    )


DEFAULT_LOCK_TIMEOUT = "60s"
DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT = "10min"
_DURATION = re.compile(r"^\d{1,9}(ms|s|min|h)?$")


def session_settings(env: Mapping[str, str]) -> dict[str, str]:
    """The session's lock_timeout and idle_in_transaction_session_timeout from the environment (PostgreSQL
    durations such as 500ms, 30s, 5min; a bare number is milliseconds); raises UsageError for anything else."""
    settings = {}
    for setting, variable, default in (
        ("lock_timeout", LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT),
        ("idle_in_transaction_session_timeout", IDLE_IN_TRANSACTION_TIMEOUT_ENV, DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT),
    ):
        value = env.get(variable, "").strip() or default
        if not _DURATION.match(value) or int(re.sub(r"\D", "", value)) == 0:
            raise UsageError(f"{variable} must be a duration above zero such as 30s, 500ms or 5min; got {value!r}")
        settings[setting] = value
    return settings


def ensure_tables(conn: Connection, spec: FormatSpec | None = None, extra_ddl: Sequence[str] = ()) -> bool:
    """Create the raw schema, the shared tables and the format's table (every format's without one) when missing;
    returns whether it ran any DDL.

    The catalog is read first, without taking any lock: when every table and index the DDL names exists, nothing
    else runs, so a run never queues behind another run's locks for DDL it does not need (`create index if not
    exists` locks its table even when the index exists). Otherwise the DDL runs under an advisory lock, which makes
    concurrent first runs safe. `extra_ddl` (e.g. the ledger's) is checked and run the same way.
    """
    specs = [spec] if spec is not None else all_formats()
    statements = [DDL, *(format_spec.ddl for format_spec in specs), *extra_ddl]
    with conn, conn.cursor() as cur:
        if not missing_objects(cur, statements):
            return False
    with conn, conn.cursor() as cur:
        locked(cur, "select pg_advisory_lock(%s)", (_DDL_LOCK_KEY,), "to create raw tables")
    try:
        with conn, conn.cursor() as cur:
            if not missing_objects(cur, statements):  # another run created them while this one waited
                return False
        # One transaction per statement: `create index if not exists` locks its table even when the index exists,
        # and a transaction holding one such lock while waiting for the next deadlocks with a run that is loading
        # (it holds row locks on those tables and wants the next one).
        # Only what is missing: `create schema if not exists raw` needs the right to create schemas even when raw
        # exists, which ingest_writer (raw's owner, media_platform.warehouse.roles) does not have.
        for statement in (part.strip() for text in statements for part in text.split(";")):
            if statement:
                with conn, conn.cursor() as cur:
                    if _CREATES.search(statement) and not missing_objects(cur, [statement]):
                        continue
                    locked(cur, statement, (), "to create raw tables")
    finally:
        with conn, conn.cursor() as cur:
            cur.execute("select pg_advisory_unlock(%s)", (_DDL_LOCK_KEY,))
    return True


_CREATES = re.compile(
    r"\bcreate\s+(schema|table|(?:unique\s+)?index)\s+if\s+not\s+exists\s+([\w.]+)(?:\s+on\s+(?:only\s+)?([\w.]+))?",
    re.IGNORECASE,
)


def missing_objects(cur: Any, statements: Sequence[str]) -> list[str]:
    """The schemas, tables and indexes that `create ... if not exists` in the statements would create, and that the
    catalog does not have (an index is looked up in its table's schema)."""
    schemas: set[str] = set()
    relations: set[str] = set()
    for statement in statements:
        for kind, name, table in _CREATES.findall(statement):
            if kind.lower() == "schema":
                schemas.add(name)
            elif kind.lower() == "table" or "." in name:
                relations.add(name)
            else:
                relations.add(f"{table.rsplit('.', 1)[0]}.{name}" if "." in table else name)
    cur.execute(
        "select name from unnest(%s::text[]) as name where to_regnamespace(name) is null"
        " union all select name from unnest(%s::text[]) as name where to_regclass(name) is null",
        (sorted(schemas), sorted(relations)),
    )
    return sorted(row[0] for row in cur.fetchall())


class LockTimeout(IngestError):
    """A lock the run needs was held by another session for longer than the lock timeout: nothing was committed."""


def locked(cur: Any, sql: str, params: Sequence[Any], purpose: str) -> None:
    """cur.execute for a statement that may wait on a lock; running out of lock_timeout raises LockTimeout saying
    what waited."""
    try:
        cur.execute(sql, params or None)
    except psycopg2.errors.LockNotAvailable as err:
        raise LockTimeout(
            f"waited longer than lock_timeout ({LOCK_TIMEOUT_ENV}) for a lock {purpose}; another session holds it"
            " (a run of the same interval still loading?); nothing was committed, retry later"
        ) from err


def replace_interval(
    conn: Connection,
    batch: Batch,
    spec: FormatSpec,
    records: Iterable[ParsedRecord],
    quarantined: Sequence[Quarantined],
    stats: BatchStats | Callable[[], BatchStats],
    also: Callable[[Any], None] | None = None,
    blocks: Iterable[RecordBlock] = (),
    delivered_at: Mapping[str, datetime | None] | None = None,
) -> tuple[int, int]:
    """In one transaction: delete the provider's rows for this exact interval, COPY the new ones, record the batch.

    Returns (records loaded, records quarantined) as counted by PostgreSQL; raises ReconciliationError, rolling
    back, when they do not add up to the records read. `also(cursor)` runs last inside the same transaction (the
    processed-files ledger replaces the interval's rows there, see ingest.load.ledger).

    `blocks` (records parsed column-wise) are loaded first, with binary COPY, then `records`; both may be produced
    while they are loaded (ingest.run.parse_and_load parses in a thread meanwhile): `quarantined` and `stats` (then a
    function) are read only once both are exhausted.

    Records sharing the format's version_key are then resolved in the same transaction (supersede_duplicates, by
    `delivered_at`: each source file's delivery time).
    """
    key = (batch.provider_id, batch.interval_start, batch.interval_end)
    with conn, conn.cursor() as cur:
        purpose = f"on {batch.provider_id}'s interval [{batch.interval_start}, {batch.interval_end})"
        locked(cur, "select pg_advisory_xact_lock(hashtextextended(%s, 0))", ("|".join(map(str, key)),), purpose)
        for table in (spec.table, "quarantine", "ingest_batches"):
            locked(
                cur,
                f"delete from {SCHEMA}.{table} where provider_id = %s and interval_start = %s and interval_end = %s",
                key,
                f"on raw.{table}",
            )
        loaded_at = datetime.now(UTC)
        meta = (batch.batch_id, batch.provider_id, batch.interval_start, batch.interval_end, loaded_at)
        loaded = _copy_blocks(cur, spec, meta, blocks)
        record_rows = (
            (
                batch.batch_id, batch.provider_id, batch.interval_start, batch.interval_end, r.source_file,
                r.source_location, loaded_at, r.record_hash, *(r.columns[c] for c in spec.columns),
            )
            for r in records
        )  # fmt: skip
        loaded += _copy(cur, spec.table, RECORD_META_COLUMNS + spec.columns, record_rows)
        stats = stats() if callable(stats) else stats
        finished_at = stats.finished_at
        quarantine_rows = (
            (
                batch.batch_id, batch.provider_id, batch.source_format, batch.interval_start, batch.interval_end,
                q.source_file, q.source_location, q.reason, q.raw_record, loaded_at,
            )
            for q in quarantined
        )  # fmt: skip
        in_quarantine = _copy(cur, "quarantine", QUARANTINE_COLUMNS, quarantine_rows)
        superseded = supersede_duplicates(cur, batch, spec, delivered_at or {}, loaded_at)
        loaded, in_quarantine = loaded - superseded, in_quarantine + superseded
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
        if also is not None:
            also(cur)
    return loaded, in_quarantine


def supersede_duplicates(
    cur: Any, batch: Batch, spec: FormatSpec, delivered_at: Mapping[str, datetime | None], noted_at: datetime
) -> int:
    """Of the batch's records that share the format's version_key (one asset's same version), keep the latest
    delivery's and move the others to raw.quarantine with a reason naming the record kept; returns how many moved.

    The latest delivery: the later file modification time (`delivered_at`, unknown counts as earliest), then the
    later file path (delivery-date folders sort by date), then the later place in the file. Within one batch the
    load time is the same for every row, so without this dbt's tie-break (the file name) would decide.
    """
    if not spec.version_key:
        return 0
    keys = ", ".join(f"t.{column}" for column in spec.version_key)
    described = ", ".join(f"'{column} ' || coalesce(t.{column}::text, 'null')" for column in spec.version_key)
    record = "t.record::text" if "record" in spec.columns else "row_to_json(t)::text"
    files = sorted(delivered_at)
    order = "d.delivered_at desc nulls last, t.source_file desc, length(t.source_location) desc, t.source_location desc"
    sql = f"""
        with delivered (source_file, delivered_at) as (select * from unnest(%s::text[], %s::timestamptz[])),
        ranked as (
            select
                t.ctid as row_id,
                row_number() over latest as rank,
                first_value(t.source_location) over latest as kept,
                concat_ws(', ', {described}) as version
            from {SCHEMA}.{spec.table} as t
            left join delivered as d on d.source_file = t.source_file
            where t.provider_id = %s and t.interval_start = %s and t.interval_end = %s
                and t.{spec.version_key[0]} is not null
            window latest as (partition by {keys} order by {order})
        ),
        moved as (
            delete from {SCHEMA}.{spec.table} as t using ranked as r
            where t.ctid = r.row_id and r.rank > 1
            returning t.*, r.kept, r.version
        )
        insert into {SCHEMA}.quarantine ({", ".join(QUARANTINE_COLUMNS)})
        select
            t.batch_id, t.provider_id, %s, t.interval_start, t.interval_end, t.source_file, t.source_location,
            'duplicate in the batch: ' || t.version || ' is also in ' || t.kept
                || ', delivered later, which is loaded instead (the latest delivery wins)',
            {record}, %s
        from moved as t
    """
    cur.execute(
        sql,
        (
            files, [delivered_at[f] for f in files], batch.provider_id, batch.interval_start, batch.interval_end,
            batch.source_format, noted_at,
        ),
    )  # fmt: skip
    return int(cur.rowcount)


def _copy(cur: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows into raw.<table>; returns the row count PostgreSQL reports.

    The rows are formatted as CSV chunk by chunk while PostgreSQL reads them (copy_csv.CopyStream), so the server
    parses one chunk while Python formats the next: on two cores, load time is about max(formatting, server), not
    their sum.
    """
    sql = f"copy {SCHEMA}.{table} ({', '.join(columns)}) from stdin with (format csv)"
    guarded = _Guarded(rows)
    _copy_expert(cur, sql, copy_csv.CopyStream(guarded), guarded)
    return int(cur.rowcount)


class _Guarded:
    """An iterator that keeps what the wrapped one raised (the parser's failure while COPY reads from it): psycopg2
    reports any error inside a COPY source as "COPY from stdin failed"."""

    def __init__(self, items: Iterable[Any]):
        self._items = iter(items)
        self.failure: BaseException | None = None

    def __iter__(self) -> _Guarded:
        return self

    def __next__(self) -> Any:
        try:
            return next(self._items)
        except StopIteration:
            raise
        except BaseException as err:
            self.failure = err
            raise


def _copy_expert(cur: Any, sql: str, source: Any, guarded: _Guarded) -> None:
    """cur.copy_expert, re-raising the source's own failure instead of psycopg2's report of it."""
    try:
        cur.copy_expert(sql, source, size=_COPY_CHUNK_BYTES)
    except psycopg2.Error:
        if guarded.failure is not None:
            raise guarded.failure from None
        raise


def _copy_blocks(cur: Any, spec: FormatSpec, meta: tuple[Any, ...], blocks: Iterable[RecordBlock]) -> int:
    """Binary COPY of RecordBlocks into raw.<table>, encoded in runs of about _ENCODE_ROWS rows; returns the row
    count.

    Nothing is sent, not even the COPY command, when there is no block.
    """
    batch_id, provider_id, interval_start, interval_end, loaded_at = meta
    pending = _Guarded(blocks)
    first = next(pending, None)
    if first is None:
        return 0
    actual = _column_types(cur, spec.table)

    def encode(block: RecordBlock) -> bytes:
        types = {name: _binary_kind(kind, actual.get(name)) for name, kind in block.pg_types.items()}
        columns = [
            (copy_binary.TEXT, batch_id), (copy_binary.TEXT, provider_id),
            (copy_binary.TIMESTAMPTZ, interval_start), (copy_binary.TIMESTAMPTZ, interval_end),
            (copy_binary.TEXT, block.source_file), (copy_binary.TEXT, block.source_locations),
            (copy_binary.TIMESTAMPTZ, loaded_at), (copy_binary.TEXT, block.record_hashes),
            *((types[name], block.columns[name]) for name in spec.columns),
        ]  # fmt: skip
        return copy_binary.encode_rows(columns, block.num_rows)

    def encoded() -> Iterator[bytes]:
        yield copy_binary.HEADER
        for small in _in_runs(itertools.chain([first], pending)):
            try:
                yield encode(record_blocks.concat(small))
            except ValueError:  # blocks typed differently: each on its own
                yield b"".join(encode(block) for block in small)
        yield copy_binary.TRAILER

    sql = (
        f"copy {SCHEMA}.{spec.table} ({', '.join(RECORD_META_COLUMNS + spec.columns)}) from stdin with (format binary)"
    )
    _copy_expert(cur, sql, _ChunkReader(encoded()), pending)
    return int(cur.rowcount)


def _in_runs(blocks: Iterable[RecordBlock]) -> Iterator[list[RecordBlock]]:
    """Consecutive blocks in runs of at least _ENCODE_ROWS rows (the last may have fewer): encoding a block costs a
    few pyarrow calls per column whatever its size, and a row-by-row format's block may hold a few records."""
    run: list[RecordBlock] = []
    rows = 0
    for block in blocks:
        run.append(block)
        rows += block.num_rows
        if rows >= _ENCODE_ROWS:
            yield run
            run, rows = [], 0
    if run:
        yield run


_ENCODE_ROWS = 2_000


def column_types(conn: Connection, table: str) -> dict[str, str]:
    """raw.<table>'s column name -> PostgreSQL type name, read in a transaction of its own."""
    with conn, conn.cursor() as cur:
        return _column_types(cur, table)


def _column_types(cur: Any, table: str) -> dict[str, str]:
    """raw.<table>'s column name -> PostgreSQL type name (json, jsonb, text...)."""
    cur.execute(
        "select column_name, data_type from information_schema.columns where table_schema = %s and table_name = %s",
        (SCHEMA, table),
    )
    return dict(cur.fetchall())


def _binary_kind(kind: str, actual: str | None) -> str:
    """The binary COPY encoding for a column the parser typed `kind`: a json value goes to a jsonb column (made by
    an earlier version) with jsonb's version byte."""
    return copy_binary.JSONB if kind == copy_binary.JSON and actual == copy_binary.JSONB else kind


class _ChunkReader:
    """A file-like object over an iterator of byte strings, for COPY FROM STDIN."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._pending = memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._pending = memoryview(chunk)
        size = len(self._pending) if size is None or size < 0 else size
        out, self._pending = self._pending[:size], self._pending[size:]
        return bytes(out)


_COPY_CHUNK_BYTES = 1 << 20
