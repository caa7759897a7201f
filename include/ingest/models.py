"""Values passed between discovery, parsing and loading: source files, parsed records, quarantined records, batches."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, BinaryIO


class IngestError(Exception):
    """A run cannot proceed (bad arguments, missing location, database failure): reported as one line, exit non-zero."""

    exit_code = 1


class UsageError(IngestError):
    """The arguments or the drop location are wrong: nothing was read or written."""

    exit_code = 2


@dataclass(frozen=True)
class SourceFile:
    """One delivered file on any transport: its path relative to the provider's location (what we record), size and
    modification time as listed, and how to open it. `rejected` says why it must not be read (e.g. it escapes the
    location); such a file becomes a quarantine row instead.
    """

    relative: str
    size: int | None
    modified_at: datetime | None
    opener: Callable[[], BinaryIO] = field(compare=False, repr=False)
    etag: str | None = None
    rejected: str | None = None


@dataclass(frozen=True)
class ParsedRecord:
    """A record that parsed: the format's columns plus where it came from and a hash of its content."""

    source_file: str
    source_location: str
    record_hash: str
    columns: dict[str, Any]


@dataclass(frozen=True)
class Quarantined:
    """A record that could not be loaded: why, where, and its raw text so nothing is lost."""

    source_file: str
    source_location: str
    reason: str
    raw_record: str


ParseOutcome = ParsedRecord | Quarantined


@dataclass(frozen=True)
class RecordBlock:
    """Records as columns: pyarrow arrays of equal length, loaded with binary COPY. A column-wise parser makes one
    per file; ingest.record_blocks makes one of a group of files' records.

    `columns` holds the format's columns (FormatSpec.columns) and `pg_types` their PostgreSQL types for binary COPY
    (see ingest.copy_binary); a `record` column holds the original record's JSON text. records() gives the same
    records as ParsedRecord objects, for tests and for any code that wants rows.
    """

    source_file: Any  # the file's path, or a pyarrow string array of each row's file (records of several files)
    source_locations: Any  # pyarrow string array
    record_hashes: Any  # pyarrow string array
    columns: Mapping[str, Any]  # name -> pyarrow array
    pg_types: Mapping[str, str]

    @property
    def num_rows(self) -> int:
        return len(self.source_locations)

    def records(self) -> list[ParsedRecord]:
        """The rows as ParsedRecord, values as Python objects (a `record` is a JsonRecord carrying its text)."""
        from ingest.formats.titles_common import JsonRecord

        names = list(self.columns)
        values = [self.columns[name].to_pylist() for name in names]
        one_file = isinstance(self.source_file, str)
        files = [self.source_file] * self.num_rows if one_file else self.source_file.to_pylist()
        out = []
        for source_file, location, record_hash, row in zip(
            files,
            self.source_locations.to_pylist(),
            self.record_hashes.to_pylist(),
            zip(*values, strict=True),
            strict=True,
        ):
            columns = dict(zip(names, row, strict=True))
            if "record" in columns:
                record = JsonRecord(json.loads(columns["record"]))
                record.json_text = columns["record"]
                columns["record"] = record
            out.append(ParsedRecord(source_file, location, record_hash, columns))
        return out


ParseResult = ParseOutcome | RecordBlock


@dataclass(frozen=True)
class Batch:
    """One run of one provider over one data interval: the unit that is replaced atomically on re-runs."""

    batch_id: str
    provider_id: str
    source_format: str
    interval_start: datetime
    interval_end: datetime


@dataclass(frozen=True)
class BatchStats:
    """What a batch read, and when: recorded in raw.ingest_batches next to the counts PostgreSQL reports."""

    files_read: int
    records_read: int
    bytes_read: int
    started_at: datetime
    finished_at: datetime


@dataclass(frozen=True)
class BatchSummary:
    """What a run did; printed as the last stdout line and written to --summary-file for XCom."""

    batch_id: str
    provider_id: str
    interval_start: str
    interval_end: str
    files_read: int
    files_skipped: int
    records_read: int
    records_loaded: int
    records_quarantined: int
    bytes_read: int
    duration_seconds: float

    def to_json(self) -> str:
        """One JSON line, keys in the documented order."""
        return json.dumps(asdict(self))
