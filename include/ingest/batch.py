"""One ingest run: find the interval's files, parse each into records or quarantine, load them as one batch."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingest import discovery, warehouse
from ingest.formats import FormatSpec, get_format
from ingest.formats.safe_xml import MAX_FILE_BYTES, raw_text
from ingest.models import Batch, BatchStats, BatchSummary, ParsedRecord, Quarantined, SourceFile, UsageError

log = logging.getLogger("ingest")
PROVIDER_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


@dataclass(frozen=True)
class RunRequest:
    """What to ingest: one provider's deliveries in one data interval [interval_start, interval_end)."""

    provider_id: str
    source_format: str
    location: str
    file_glob: str
    date_in_path: str
    interval_start: datetime
    interval_end: datetime
    format_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not PROVIDER_ID_PATTERN.match(self.provider_id):
            raise UsageError(f"provider id must match {PROVIDER_ID_PATTERN.pattern}, got {self.provider_id!r}")
        for name in ("interval_start", "interval_end"):
            if getattr(self, name).tzinfo is None:
                raise UsageError(f"{name} must include a timezone offset, e.g. 2026-11-02T00:00:00+00:00")
        if self.interval_start >= self.interval_end:
            raise UsageError(f"interval start {self.interval_start} is not before end {self.interval_end}")


@dataclass
class ParsedFiles:
    """Everything read from a batch's files: loadable records, quarantined records, and the bytes read."""

    records: list[ParsedRecord]
    quarantined: list[Quarantined]
    bytes_read: int = 0


def run(request: RunRequest, dsn: str | None = None, env: Mapping[str, str] | None = None) -> BatchSummary:
    """Ingest one interval and return its summary; re-running the same interval replaces its rows."""
    started_at = datetime.now(UTC)
    clock = time.monotonic()
    try:
        spec = get_format(request.source_format)
    except KeyError:
        raise UsageError(f"unknown format {request.source_format!r}") from None
    root = discovery.resolve_location(request.location, env)
    files = discovery.files_for_interval(
        root, request.file_glob, request.date_in_path, request.interval_start, request.interval_end
    )
    batch = Batch(
        batch_id=f"{request.provider_id}-{request.interval_start:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}",
        provider_id=request.provider_id,
        source_format=spec.name,
        interval_start=request.interval_start,
        interval_end=request.interval_end,
    )
    log.info("batch %s: %d file(s) in %s for [%s, %s)", batch.batch_id, len(files), root, *_bounds(request))
    conn = warehouse.connect(dsn)
    try:
        warehouse.ensure_tables(conn, spec)
        parsed = parse_files(spec, files, request.format_options)
        records_read = len(parsed.records) + len(parsed.quarantined)
        stats = BatchStats(len(files), records_read, parsed.bytes_read, started_at, datetime.now(UTC))
        loaded, quarantined = warehouse.replace_interval(conn, batch, spec, parsed.records, parsed.quarantined, stats)
    finally:
        conn.close()
    summary = BatchSummary(
        batch_id=batch.batch_id,
        provider_id=batch.provider_id,
        interval_start=request.interval_start.isoformat(),
        interval_end=request.interval_end.isoformat(),
        files_read=len(files),
        records_read=records_read,
        records_loaded=loaded,
        records_quarantined=quarantined,
        bytes_read=parsed.bytes_read,
        duration_seconds=round(time.monotonic() - clock, 3),
    )
    log.info("batch %s: %d loaded, %d quarantined", batch.batch_id, loaded, quarantined)
    return summary


def parse_files(spec: FormatSpec, files: list[SourceFile], options: Mapping[str, Any] | None = None) -> ParsedFiles:
    """Read and parse every file; an unreadable or unparseable file becomes quarantine rows, never an abort."""
    parsed = ParsedFiles([], [])
    for source in files:
        try:
            with source.path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as err:
            reason = f"cannot read file: {err.strerror or err}"
            parsed.quarantined.append(Quarantined(source.relative, source.relative, reason, ""))
            log.warning("quarantined %s: %s", source.relative, reason)
            continue
        parsed.bytes_read += len(data)
        outcomes = _parse_safely(spec, data, source.relative, options)
        for outcome in outcomes:
            if isinstance(outcome, ParsedRecord):
                parsed.records.append(outcome)
            else:
                parsed.quarantined.append(outcome)
                log.warning("quarantined %s: %s", outcome.source_location, outcome.reason)
    return parsed


def _parse_safely(
    spec: FormatSpec, data: bytes, relative: str, options: Mapping[str, Any] | None
) -> list[ParsedRecord | Quarantined]:
    try:
        outcomes = spec.parse_file(data, relative, options)
    except Exception as err:  # a parser bug must still not lose the file or abort the batch
        reason = f"unexpected parser error: {type(err).__name__}: {err}"
        return [Quarantined(relative, relative, reason, raw_text(data))]
    return outcomes or [Quarantined(relative, relative, "no records in file", raw_text(data))]


def _bounds(request: RunRequest) -> tuple[str, str]:
    return request.interval_start.isoformat(), request.interval_end.isoformat()
