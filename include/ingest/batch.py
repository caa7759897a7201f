"""One ingest run: find the interval's files, parse each into records or quarantine, load them as one batch."""

from __future__ import annotations

import collections
import contextlib
import gc
import hashlib
import itertools
import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingest import discovery, ledger, parse_pool, record_blocks, warehouse
from ingest.formats import FormatSpec, get_format
from ingest.formats.safe_xml import MAX_FILE_BYTES, raw_text
from ingest.ledger import LedgerFile
from ingest.models import (
    Batch,
    BatchStats,
    BatchSummary,
    IngestError,
    ParsedRecord,
    ParseResult,
    Quarantined,
    RecordBlock,
    SourceFile,
    UsageError,
)
from ingest.transports import safe_url

log = logging.getLogger("ingest")
PROVIDER_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
SOURCE_KINDS = ("files", "api")
READ_CHUNK = 1024 * 1024
GROUP_FILES = 500  # files parsed as one group, at most (and at most FormatSpec.group_bytes or ROW_GROUP_BYTES of them)
ROW_GROUP_BYTES = 1 << 20  # files of a row-by-row format parsed as one group (their records become one block)


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
    source_kind: str = "files"
    pick_by: str = discovery.PATH_DATE
    api_paging: str = "cursor"
    api_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not PROVIDER_ID_PATTERN.match(self.provider_id):
            raise UsageError(f"provider id must match {PROVIDER_ID_PATTERN.pattern}, got {self.provider_id!r}")
        for name in ("interval_start", "interval_end"):
            if getattr(self, name).tzinfo is None:
                raise UsageError(f"{name} must include a timezone offset, e.g. 2026-11-02T00:00:00+00:00")
        if self.interval_start >= self.interval_end:
            raise UsageError(f"interval start {self.interval_start} is not before end {self.interval_end}")
        if self.source_kind not in SOURCE_KINDS:
            raise UsageError(f"source kind must be one of {', '.join(SOURCE_KINDS)}, got {self.source_kind!r}")
        if self.pick_by not in discovery.PICK_BY:
            raise UsageError(f"pick-by must be one of {', '.join(discovery.PICK_BY)}, got {self.pick_by!r}")


@dataclass
class ParsedFiles:
    """Everything read from a batch's files: loadable records, quarantined records, the bytes read, the files
    loaded (for the ledger) and the number skipped because another interval already loaded them."""

    records: list[ParsedRecord]
    quarantined: list[Quarantined]
    bytes_read: int = 0
    ledger: list[LedgerFile] = field(default_factory=list)
    skipped: int = 0
    blocks: list[RecordBlock] = field(default_factory=list)  # records as columns, for binary COPY
    block_rows: int = 0  # records in blocks, including blocks handed to parse_files' on_block instead of kept here
    records_handed_over: int = 0  # records handed to parse_files' on_records instead of kept in `records`

    @property
    def records_read(self) -> int:
        """Every record read: loadable (one by one, handed over or in blocks) plus quarantined."""
        return len(self.records) + self.records_handed_over + self.block_rows + len(self.quarantined)


def run(request: RunRequest, dsn: str | None = None, env: Mapping[str, str] | None = None) -> BatchSummary:
    """Ingest one interval and return its summary; re-running the same interval replaces its rows."""
    started_at = datetime.now(UTC)
    clock = time.monotonic()
    try:
        spec = get_format(request.source_format)
    except KeyError:
        raise UsageError(f"unknown format {request.source_format!r}") from None
    options = dict(request.format_options)
    if request.source_kind == "api":
        from ingest.sources import rest_api

        where = ledger_key = safe_url(request.location)
        files = rest_api.fetch_pages(
            request.location, request.interval_start, request.interval_end, request.api_paging,
            request.api_options, env,
        )  # fmt: skip
        options.setdefault("items_field", rest_api.ApiOptions.from_mapping(request.api_options).items_field)
    else:
        location = discovery.resolve_location(request.location, env)
        where, ledger_key = location.url, location.key
        files = discovery.files_for_interval(
            location, request.file_glob, request.date_in_path, request.interval_start, request.interval_end,
            request.pick_by,
        )  # fmt: skip
    batch = Batch(
        batch_id=f"{request.provider_id}-{request.interval_start:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}",
        provider_id=request.provider_id,
        source_format=spec.name,
        interval_start=request.interval_start,
        interval_end=request.interval_end,
    )
    log.info("batch %s: %d file(s) in %s for [%s, %s)", batch.batch_id, len(files), where, *_bounds(request))
    conn = warehouse.connect(dsn)
    try:
        warehouse.ensure_tables(conn)  # every format's table: dbt's empty fallbacks read them
        ledger.ensure_table(conn)
        elsewhere = ledger.loaded_elsewhere(conn, batch, ledger_key) if request.source_kind == "files" else {}

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

    if as_blocks:
        records, blocks = parsed.records, handed_over()
    else:
        records: Iterable[ParsedRecord] = itertools.chain.from_iterable(handed_over())
        blocks: Iterable[RecordBlock] = ()
    parser.start()
    try:
        loaded, quarantined = warehouse.replace_interval(
            conn, batch, spec, records, parsed.quarantined, stats, also=finish, blocks=blocks
        )
    finally:
        stop.set()
        parser.join()
    return parsed, done[0], loaded, quarantined


_AHEAD = 8  # blocks or groups' records the parser may have ready before the load takes them
_DONE = object()


def parse_files(
    spec: FormatSpec,
    files: Sequence[SourceFile],
    options: Mapping[str, Any] | None = None,
    loaded_elsewhere: Mapping[str, Sequence[LedgerFile]] | None = None,
    into: ParsedFiles | None = None,
    on_block: Callable[[RecordBlock], None] | None = None,
    on_records: Callable[[list[ParsedRecord]], None] | None = None,
    kinds: Mapping[str, str] | None = None,
    pool: parse_pool.ParsePool | None = None,
) -> ParsedFiles:
    """Read and parse every file; an unreadable or unparseable file becomes quarantine rows, never an abort.

    A file that `loaded_elsewhere` (the ledger's other intervals) already holds with the same content is skipped.
    Files are parsed in groups (parse_group), by the `pool`'s worker processes when given, and their outcomes taken
    in the files' order: outcomes go `into` the given ParsedFiles (default a new one), blocks to `on_block` and
    records to `on_records` when given. With `kinds` (record_blocks.copy_kinds of the format's table), a group's
    records become one RecordBlock where their values allow it.
    """
    parsed = into if into is not None else ParsedFiles([], [])
    on_block = on_block or parsed.blocks.append
    loaded_elsewhere = loaded_elsewhere or {}
    group: list[tuple[bytes, str]] = []  # files read but not parsed yet: they are parsed together
    group_bytes = 0
    limit = spec.group_bytes if spec.parse_many is not None else ROW_GROUP_BYTES
    in_flight: collections.deque[Any] = collections.deque()  # the pool's futures, in the files' order

    def take(outcomes: list[ParseResult]) -> None:
        records = []
        for outcome in outcomes:
            if isinstance(outcome, ParsedRecord):
                records.append(outcome)
            elif isinstance(outcome, RecordBlock):
                parsed.block_rows += outcome.num_rows
                on_block(outcome)
            else:
                _quarantine(parsed, outcome)
        if on_records is None:
            parsed.records.extend(records)
        elif records:
            parsed.records_handed_over += len(records)
            on_records(records)

    def parse_pending_group() -> None:
        if not group:
            return
        if pool is None:
            take(parse_group(spec, group, options, kinds))
        else:
            in_flight.append(pool.submit(group))
            while len(in_flight) > pool.ahead:
                take(parse_pool.result(in_flight.popleft()))
        group.clear()

    for source in files:
        if source.rejected:
            _quarantine(parsed, Quarantined(source.relative, source.relative, f"rejected: {source.rejected}", ""))
            continue
        seen = LedgerFile(source.relative, source.size, source.modified_at, source.etag, None)
        priors = loaded_elsewhere.get(source.relative, ())
        if _skip(source, seen, [p for p in priors if not p.needs_checksum(seen)], parsed):
            continue
        if source.size is not None and source.size > MAX_FILE_BYTES:
            reason = f"file too large: {source.size} bytes, more than {MAX_FILE_BYTES}"
            _quarantine(parsed, Quarantined(source.relative, source.relative, reason, ""))
            parsed.ledger.append(seen)
            continue
        try:
            data = _read_capped(source)
        except OSError as err:
            reason = f"cannot read file: {err.strerror or err}"
            _quarantine(parsed, Quarantined(source.relative, source.relative, reason, ""))
            continue
        seen = LedgerFile(source.relative, len(data), source.modified_at, source.etag, _checksum(data))
        if _skip(source, seen, priors, parsed):
            continue
        parsed.bytes_read += len(data)
        parsed.ledger.append(seen)
        if len(data) > MAX_FILE_BYTES:
            reason = f"file too large: more than {MAX_FILE_BYTES} bytes"
            _quarantine(parsed, Quarantined(source.relative, source.relative, reason, raw_text(data)))
            continue
        group.append((data, source.relative))
        group_bytes += len(data)
        if len(group) >= GROUP_FILES or group_bytes >= limit:
            parse_pending_group()
            group_bytes = 0
    parse_pending_group()
    while in_flight:
        take(parse_pool.result(in_flight.popleft()))
    return parsed


def parse_group(
    spec: FormatSpec,
    group: Sequence[tuple[bytes, str]],
    options: Mapping[str, Any] | None,
    kinds: Mapping[str, str] | None = None,
) -> list[ParseResult]:
    """The outcomes of a group of files (data, relative path), in order; with `kinds`, the records among them as
    one RecordBlock (record_blocks.records_block) unless a value does not allow it. Never raises for a bad file."""
    outcomes = [outcome for found in _parse_safely(spec, group, options) for outcome in found]
    if kinds is None:
        return outcomes
    records = [outcome for outcome in outcomes if isinstance(outcome, ParsedRecord)]
    block = record_blocks.records_block(records, kinds)
    if block is None:
        return outcomes
    return [outcome for outcome in outcomes if not isinstance(outcome, ParsedRecord)] + [block]


def _skip(source: SourceFile, seen: LedgerFile, priors: Sequence[LedgerFile], parsed: ParsedFiles) -> bool:
    """Whether another interval already loaded this very file (then log it and count it as skipped)."""
    earlier = next((p for p in priors if p.same_content(seen)), None)
    if earlier is None:
        return False
    log.info(
        "skipped %s: already loaded by batch %s for [%s, %s)", source.relative, earlier.batch_id,
        earlier.interval_start.isoformat() if earlier.interval_start else "?",
        earlier.interval_end.isoformat() if earlier.interval_end else "?",
    )  # fmt: skip
    parsed.skipped += 1
    return True


def _read_capped(source: SourceFile) -> bytes:
    """The file's bytes, at most MAX_FILE_BYTES + 1 of them: enough to tell that a file is too large."""
    data = bytearray()
    try:
        with source.opener() as handle:
            while len(data) <= MAX_FILE_BYTES:
                chunk = handle.read(min(READ_CHUNK, MAX_FILE_BYTES + 1 - len(data)))
                if not chunk:
                    break
                data += chunk
    except OSError:
        raise
    except Exception as err:  # a transport failure (network, protocol): fail the run so that it is retried
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise IngestError(f"cannot read {source.relative}: {type(err).__name__}: {first}") from err
    return bytes(data)


def _checksum(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _quarantine(parsed: ParsedFiles, outcome: Quarantined) -> None:
    parsed.quarantined.append(outcome)
    log.warning("quarantined %s: %s", outcome.source_location, outcome.reason)


def _parse_safely(
    spec: FormatSpec, files: Sequence[tuple[bytes, str]], options: Mapping[str, Any] | None
) -> list[list[ParseResult]]:
    """One outcome list per file: parse_many when the format has one, else parse_file file by file. A file without
    outcomes gets a "no records" quarantine row; a parser bug quarantines the file, it never aborts the batch."""
    outcomes: list[list[ParseResult]] | None = None
    if spec.parse_many is not None and files:
        try:
            outcomes = spec.parse_many(files, options)
        except Exception:  # noqa: BLE001 - parse each file with the reference parser instead
            log.exception("parse_many failed; parsing the %d file(s) one by one", len(files))
    if outcomes is None:
        outcomes = [_parse_file(spec, data, relative, options) for data, relative in files]
    return [
        found or [Quarantined(relative, relative, "no records in file", raw_text(data))]
        for found, (data, relative) in zip(outcomes, files, strict=True)
    ]


def _parse_file(spec: FormatSpec, data: bytes, relative: str, options: Mapping[str, Any] | None) -> list[ParseResult]:
    try:
        return list(spec.parse_file(data, relative, options))
    except Exception as err:  # a parser bug must still not lose the file or abort the batch
        reason = f"unexpected parser error: {type(err).__name__}: {err}"
        return [Quarantined(relative, relative, reason, raw_text(data))]


def _bounds(request: RunRequest) -> tuple[str, str]:
    return request.interval_start.isoformat(), request.interval_end.isoformat()
