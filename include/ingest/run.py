"""One ingest run: discover the interval's files, parse them (a thread, or worker processes), load them as one batch."""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingest.contract import DEFAULT_API_PAGING, PROVIDER_ID, PickBy, SourceKind
from ingest.discover import files as discover
from ingest.discover.sources import rest_api
from ingest.discover.transports import safe_url
from ingest.load import ledger, record_blocks, warehouse
from ingest.models import Batch, BatchStats, BatchSummary, LedgerFile, ParsedRecord, RecordBlock, SourceFile, UsageError
from ingest.parse import pool as parse_pool
from ingest.parse.files import ParsedFiles, parse_files
from ingest.parse.formats import FormatSpec, get_format

log = logging.getLogger("ingest")


@dataclass(frozen=True)
class RunRequest:
    """What to ingest: one provider's deliveries in one data interval [interval_start, interval_end).

    source_kind `files` reads a drop location (path or URL) picked by `pick_by`; `api` pages through a REST API.
    """

    provider_id: str
    source_format: str
    location: str
    file_glob: str
    date_in_path: str
    interval_start: datetime
    interval_end: datetime
    format_options: Mapping[str, Any] = field(default_factory=dict)
    source_kind: str = SourceKind.FILES
    pick_by: str = PickBy.PATH_DATE
    api_paging: str = DEFAULT_API_PAGING
    api_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not PROVIDER_ID.match(self.provider_id):
            raise UsageError(f"provider id must match {PROVIDER_ID.pattern}, got {self.provider_id!r}")
        for name in ("interval_start", "interval_end"):
            if getattr(self, name).tzinfo is None:
                raise UsageError(f"{name} must include a timezone offset, e.g. 2026-11-02T00:00:00+00:00")
        if self.interval_start >= self.interval_end:
            raise UsageError(f"interval start {self.interval_start} is not before end {self.interval_end}")
        if self.source_kind not in tuple(SourceKind):
            raise UsageError(f"source kind must be one of {', '.join(SourceKind)}, got {self.source_kind!r}")
        if self.pick_by not in tuple(PickBy):
            raise UsageError(f"pick-by must be one of {', '.join(PickBy)}, got {self.pick_by!r}")


def batch_id(provider_id: str, interval_start: datetime, interval_end: datetime | None = None) -> str:
    """The batch id of a provider's data interval: the same on every run of that interval, so a re-run replaces the
    batch in place and the marts see the same batch with a new finished_at (issue #9's mart delta contract).

    `<provider>-<interval start>`; with `interval_end`, `<provider>-<start>-<end>`, for an interval that starts
    where another of the provider's batches starts (a three-day backfill beside a day: see run_batch_id)."""
    base = f"{provider_id}-{interval_start:%Y%m%dT%H%M%S}"
    return base if interval_end is None else f"{base}-{interval_end:%Y%m%dT%H%M%S}"


def run_batch_id(conn: Any, provider_id: str, interval_start: datetime, interval_end: datetime) -> str:
    """batch_id(provider, start) unless a batch of another interval of the provider already has it, then the id
    with the interval's end too: both are the same on every re-run of the interval."""
    short = batch_id(provider_id, interval_start)
    with conn, conn.cursor() as cur:
        cur.execute("select interval_end from raw.ingest_batches where batch_id = %s", (short,))
        row = cur.fetchone()
    return short if row is None or row[0] == interval_end else batch_id(provider_id, interval_start, interval_end)


def run(request: RunRequest, dsn: str | None = None, env: Mapping[str, str] | None = None) -> BatchSummary:
    """Ingest one interval and return its summary; re-running the same interval replaces its rows."""
    started_at = datetime.now(UTC)
    clock = time.monotonic()
    try:
        spec = get_format(request.source_format)
    except KeyError:
        raise UsageError(f"unknown format {request.source_format!r}") from None
    options = dict(request.format_options)
    if request.source_kind == SourceKind.API:
        where = ledger_key = safe_url(request.location)
        files = rest_api.fetch_pages(
            request.location, request.interval_start, request.interval_end, request.api_paging,
            request.api_options, env,
        )  # fmt: skip
        options.setdefault("items_field", rest_api.ApiOptions.from_mapping(request.api_options).items_field)
    else:
        location = discover.resolve_location(request.location, env)
        where, ledger_key = location.url, location.key
        files = discover.files_for_interval(
            location, request.file_glob, request.date_in_path, request.interval_start, request.interval_end,
            request.pick_by,
        )  # fmt: skip
    conn = warehouse.connect(dsn)
    try:
        warehouse.ensure_tables(conn)  # every format's table: dbt's empty fallbacks read them
        ledger.ensure_table(conn)
        batch = Batch(
            batch_id=run_batch_id(conn, request.provider_id, request.interval_start, request.interval_end),
            provider_id=request.provider_id,
            source_format=spec.name,
            interval_start=request.interval_start,
            interval_end=request.interval_end,
        )
        log.info("batch %s: %d file(s) in %s for [%s, %s)", batch.batch_id, len(files), where, *_bounds(request))
        elsewhere = ledger.loaded_elsewhere(conn, batch, ledger_key) if request.source_kind == SourceKind.FILES else {}

        def write_ledger(cur: Any, parsed: ParsedFiles, stats: BatchStats) -> None:
            ledger.replace_rows(cur, batch, ledger_key, parsed.ledger, stats.finished_at)

        parsed, stats, loaded, quarantined = parse_and_load(
            conn, batch, spec, files, options, elsewhere, started_at, also=write_ledger
        )
    finally:
        conn.close()
    summary = BatchSummary(
        batch_id=batch.batch_id,
        provider_id=batch.provider_id,
        interval_start=request.interval_start.isoformat(),
        interval_end=request.interval_end.isoformat(),
        files_read=stats.files_read,
        files_skipped=parsed.skipped,
        records_read=stats.records_read,
        records_loaded=loaded,
        records_quarantined=quarantined,
        bytes_read=parsed.bytes_read,
        duration_seconds=round(time.monotonic() - clock, 3),
    )
    log.info(
        "batch %s: %d loaded, %d quarantined, %d file(s) skipped", batch.batch_id, loaded, quarantined, parsed.skipped
    )
    return summary


def parse_and_load(
    conn: Any,
    batch: Batch,
    spec: FormatSpec,
    files: Sequence[SourceFile],
    options: Mapping[str, Any] | None = None,
    loaded_elsewhere: Mapping[str, Sequence[LedgerFile]] | None = None,
    started_at: datetime | None = None,
    also: Callable[[Any, ParsedFiles, BatchStats], None] | None = None,
    workers: int | None = None,
) -> tuple[ParsedFiles, BatchStats, int, int]:
    """Parse the files and load them as one batch (warehouse.replace_interval): (parsed, stats, loaded, quarantined).

    Parsing runs in a thread while what it parsed is COPYed, so PostgreSQL loads one group of files while Python
    parses the next (on two cores about max(parse, load) instead of their sum). Records go to COPY as RecordBlocks
    (binary COPY) where the table's column types allow it, else as records (CSV COPY). Only a few groups' records
    wait in memory. A batch big enough (parse_pool.worth_it) of a format that gains from it
    (FormatSpec.in_processes) is parsed by `workers` processes (default parse_pool.default_workers()).
    `also(cursor, parsed, stats)` runs last in the load's transaction.
    """
    workers = parse_pool.default_workers() if workers is None else workers
    kinds = record_blocks.copy_kinds(warehouse.column_types(conn, spec.table), spec.columns)
    with gc_paused(), contextlib.ExitStack() as stack:
        pool = None
        if spec.in_processes and parse_pool.worth_it(files, workers):
            pool = stack.enter_context(parse_pool.started(workers, spec.name, options, kinds))
        return _parse_and_load(conn, batch, spec, files, options, loaded_elsewhere, started_at, also, kinds, pool)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cycle collector off for the block: parsing keeps every record until it is loaded, and with each
    new object the collector scans them all again (it took 40 % of ADI parsing, see BENCHMARKS.md). Parsers make
    no reference cycles worth collecting within one batch; the collector is back on afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _parse_and_load(
    conn: Any,
    batch: Batch,
    spec: FormatSpec,
    files: Sequence[SourceFile],
    options: Mapping[str, Any] | None,
    loaded_elsewhere: Mapping[str, Sequence[LedgerFile]] | None,
    started_at: datetime | None,
    also: Callable[[Any, ParsedFiles, BatchStats], None] | None,
    kinds: Mapping[str, str] | None,
    pool: parse_pool.ParsePool | None,
) -> tuple[ParsedFiles, BatchStats, int, int]:
    started_at = started_at or datetime.now(UTC)
    parsed = ParsedFiles([], [])
    ready: queue.Queue[Any] = queue.Queue(maxsize=_AHEAD)
    stop = threading.Event()
    failed: list[BaseException] = []

    def hand_over(item: Any) -> None:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    as_blocks = spec.parse_many is not None or kinds is not None

    def produce() -> None:
        try:
            if as_blocks:
                parse_files(spec, files, options, loaded_elsewhere, parsed, hand_over, kinds=kinds, pool=pool)
            else:
                parse_files(spec, files, options, loaded_elsewhere, parsed, on_records=hand_over, pool=pool)
        except BaseException as err:  # noqa: BLE001 - handed to the loading thread, which raises it
            failed.append(err)
        finally:
            hand_over(_DONE)

    parser = threading.Thread(target=produce, name=f"ingest-parse-{batch.batch_id}", daemon=True)

    def handed_over() -> Iterator[Any]:
        try:
            while (item := ready.get()) is not _DONE:
                yield item
            parser.join()
            if failed:
                raise failed[0]
        finally:
            stop.set()  # the load failed or finished: the parser must not wait for room any more

    done: list[BatchStats] = []

    def stats() -> BatchStats:
        done.append(BatchStats(len(files) - parsed.skipped, parsed.records_read, parsed.bytes_read, started_at,
                               datetime.now(UTC)))  # fmt: skip
        return done[0]

    def finish(cur: Any) -> None:
        if also is not None:
            also(cur, parsed, done[0])

    records: Iterable[ParsedRecord]
    blocks: Iterable[RecordBlock]
    if as_blocks:
        records, blocks = parsed.records, handed_over()
    else:
        records = itertools.chain.from_iterable(handed_over())
        blocks = ()
    parser.start()
    try:
        loaded, quarantined = warehouse.replace_interval(
            conn, batch, spec, records, parsed.quarantined, stats, also=finish, blocks=blocks,
            delivered_at={source.relative: source.modified_at for source in files},
        )  # fmt: skip
    finally:
        stop.set()
        parser.join()
    return parsed, done[0], loaded, quarantined


_AHEAD = 8  # blocks or groups' records the parser may have ready before the load takes them
_DONE = object()


def _bounds(request: RunRequest) -> tuple[str, str]:
    return request.interval_start.isoformat(), request.interval_end.isoformat()
