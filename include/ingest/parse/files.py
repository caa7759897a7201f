"""Read a batch's files and parse them in groups, in this process or worker processes; skip what the ledger has."""

from __future__ import annotations

import collections
import errno
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ingest.limits import MAX_FILE_BYTES
from ingest.models import IngestError, LedgerFile, ParsedRecord, ParseResult, Quarantined, RecordBlock, SourceFile
from ingest.parse import pool as parse_pool
from ingest.parse.formats.spec import FormatSpec
from ingest.parse.group import parse_group
from ingest.record_text import raw_text

log = logging.getLogger("ingest")
READ_CHUNK = 1024 * 1024
GROUP_FILES = 500  # files parsed as one group, at most (and at most FormatSpec.group_bytes or ROW_GROUP_BYTES of them)
# OSErrors that are about the file itself (gone, no access, not a file): it is quarantined and the others go on. Any
# other OSError (a reset or closed connection, a timeout) is the transport failing mid-file: the run fails.
FILE_ERRNOS = frozenset({errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.ELOOP})
ROW_GROUP_BYTES = 1 << 20  # files of a row-by-row format parsed as one group (their records become one block)


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
    except OSError as err:
        if err.errno in FILE_ERRNOS:
            raise
        raise _transfer_failed(source, err) from err
    except Exception as err:  # a transport failure (network, protocol): fail the run so that it is retried
        raise _transfer_failed(source, err) from err
    if source.size is not None and len(data) < min(source.size, MAX_FILE_BYTES + 1):
        raise _transfer_failed(source, f"got {len(data)} of its {source.size} bytes (the connection ended early)")
    return bytes(data)


def _transfer_failed(source: SourceFile, cause: BaseException | str) -> IngestError:
    """The transport failed mid-file: the run stops (its one transaction loads nothing) so that a rerun or the
    task's retry reads every file again."""
    if isinstance(cause, BaseException):
        text = str(cause).strip()
        cause = f"{type(cause).__name__}: {text.splitlines()[0] if text else 'no message'}"
    return IngestError(f"cannot read {source.relative}: {cause}; nothing of this batch was loaded, run it again")


def _checksum(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _quarantine(parsed: ParsedFiles, outcome: Quarantined) -> None:
    parsed.quarantined.append(outcome)
    log.warning("quarantined %s: %s", outcome.source_location, outcome.reason)
