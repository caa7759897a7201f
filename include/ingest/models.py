"""Values passed between discovery, parsing and loading (files, records, blocks, batches), and the errors they raise."""

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


class Rejected(ValueError):
    """A document or record that is not loaded (it is quarantined): the reason, and where in the file when known.

    `position` is (line, column) for a document that does not parse; `fragment` an XPath-like path to the element
    or row, e.g. /CoreMetadata/Basic[1]. Every format raises this one type; `location` turns it into the
    quarantine row's source_location.
    """

    def __init__(self, reason: str, fragment: str | None = None, position: tuple[int, int] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.fragment = fragment
        self.position = position

    def location(self, source_file: str, default: str | None = None) -> str:
        """`file:line:column`, `file#fragment`, else `default` (the file itself when not given)."""
        if self.position:
            return f"{source_file}:{self.position[0]}:{self.position[1]}"
        if self.fragment:
            return f"{source_file}#{self.fragment}"
        return source_file if default is None else default


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


class JsonRecord(dict):
    """The original record as a dict that also carries its JSON text, so the loader does not serialise it twice.

    Treat it as immutable: `json_text` is what raw.<table>.record receives, and record_hash is its SHA-256.
    """

    __slots__ = ("json_text",)
    json_text: str


@dataclass(frozen=True)
class RecordBlock:
    """Records as columns: pyarrow arrays of equal length, loaded with binary COPY. A column-wise parser makes one
    per file; ingest.load.record_blocks makes one of a group of files' records.

    `columns` holds the format's columns (FormatSpec.columns) and `pg_types` their PostgreSQL types for binary COPY
    (see ingest.load.copy_binary); a `record` column holds the original record's JSON text. records() gives the same
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
class LedgerFile:
    """One file as the ledger knows it: where it is, what it looked like, and the interval that loaded it."""

    file_path: str
    size_bytes: int | None
    modified_at: datetime | None
    etag: str | None
    checksum: str | None
    batch_id: str = ""
    interval_start: datetime | None = None
    interval_end: datetime | None = None

    def same_content(self, other: LedgerFile) -> bool:
        """Same file: sizes agree when both are known, and the etag, else the checksum, agrees when both have one.

        The modification time is not compared: a touched but unchanged file is still the same delivery.
        """
        if None not in (self.size_bytes, other.size_bytes) and self.size_bytes != other.size_bytes:
            return False
        if self.etag and other.etag:
            return self.etag == other.etag
        if self.checksum and other.checksum:
            return self.checksum == other.checksum
        return self.size_bytes is not None and self.size_bytes == other.size_bytes

    def needs_checksum(self, other: LedgerFile) -> bool:
        """Whether only the checksum (i.e. reading the bytes) can tell if `other` is this file."""
        if not (self.etag and other.etag) and self.checksum and not other.checksum:
            return None in (self.size_bytes, other.size_bytes) or self.size_bytes == other.size_bytes
        return False


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
