"""A file's records parsed one by one (ADI, MEC, Avails...) turned into one RecordBlock, to load with binary COPY.

The row-by-row formats give ParsedRecords of Python values; formatting them as CSV for COPY cost about 40 us per ADI
package, and PostgreSQL then parses the text again. Here each column becomes one pyarrow array instead (a C loop), and
the block loads like the column-wise formats' blocks. A block also crosses a process boundary almost for free
(ingest.parse.pool), where pickling the records one by one would not.

A value is converted only when its form is certain to give what the CSV path stores: text columns take what
copy_csv.copy_text makes of the value, NUL replaced as there; integers, booleans, dates and aware datetimes must be
exactly those Python types. Any other value makes records_block return None, and the caller loads that file's records
with the CSV COPY, which stays the reference (tests/ingest/load/test_record_blocks.py compares the rows both store).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingest.load import copy_binary
from ingest.load.copy_csv import copy_text
from ingest.models import ParsedRecord, RecordBlock

# information_schema.columns.data_type -> the binary COPY encoding of ingest.load.copy_binary
COPY_KINDS: dict[str, str] = {
    "text": copy_binary.TEXT,
    "json": copy_binary.JSON,
    "jsonb": copy_binary.JSONB,
    "integer": copy_binary.INT4,
    "bigint": copy_binary.INT8,
    "boolean": copy_binary.BOOL,
    "date": copy_binary.DATE,
    "timestamp with time zone": copy_binary.TIMESTAMPTZ,
}
_TEXT_KINDS = (copy_binary.TEXT, copy_binary.JSON, copy_binary.JSONB)
_ARROW_TYPES = {
    copy_binary.INT4: pa.int32(),
    copy_binary.INT8: pa.int64(),
    copy_binary.BOOL: pa.bool_(),
    copy_binary.DATE: pa.date32(),
    copy_binary.TIMESTAMPTZ: pa.timestamp("us", "UTC"),
}


class _Uncertain(Exception):
    """A value whose binary form is not certain to equal what the CSV COPY stores."""


def copy_kinds(column_types: Mapping[str, str], columns: Sequence[str]) -> dict[str, str] | None:
    """The binary COPY encoding of each of `columns`, from their PostgreSQL types (information_schema data_type);
    None when one of them has a type binary COPY is not built for here (then records load with CSV COPY)."""
    kinds = {name: COPY_KINDS.get(column_types.get(name, "")) for name in columns}
    return None if None in kinds.values() else kinds  # type: ignore[return-value]


def records_block(records: Sequence[ParsedRecord], kinds: Mapping[str, str]) -> RecordBlock | None:
    """The records (of one file or several) as one RecordBlock of the columns in `kinds`, or None when a value is
    not in a certain form (see the module's docstring) or there is no record.

    Converting costs a few microseconds per column and call whatever the number of records, so callers give it many
    records at once: an ADI delivery is one package per file.
    """
    if not records:
        return None
    try:
        columns = {name: _array(kind, [r.columns[name] for r in records]) for name, kind in kinds.items()}
        locations = _no_nul(pa.array([r.source_location for r in records], pa.string()))
        hashes = pa.array([r.record_hash for r in records], pa.string())
        files = [r.source_file for r in records]
        source_file: Any = files[0] if files.count(files[0]) == len(files) else _no_nul(pa.array(files, pa.string()))
    except (_Uncertain, KeyError, pa.ArrowException, OverflowError, UnicodeEncodeError):
        return None
    return RecordBlock(source_file, locations, hashes, columns, dict(kinds))


def _array(kind: str, values: list[Any]) -> pa.Array:
    if kind in _TEXT_KINDS:
        texts = [value if type(value) is str or value is None else copy_text(value) for value in values]
        return _no_nul(pa.array(texts, pa.string()))
    if kind in (copy_binary.INT4, copy_binary.INT8):
        wanted: tuple[type, ...] = (int,)
    elif kind == copy_binary.BOOL:
        wanted = (bool,)
    elif kind == copy_binary.DATE:
        wanted = (date,)
    else:
        wanted = (datetime,)
    for value in values:
        if value is not None and type(value) not in wanted:  # bool is not an int here, nor a datetime a date
            raise _Uncertain(kind)
        if kind == copy_binary.TIMESTAMPTZ and value is not None and value.utcoffset() is None:
            raise _Uncertain("a naive datetime: the CSV path reads it in the session's time zone")
    return pa.array(values, _ARROW_TYPES[kind])


def _no_nul(texts: pa.Array) -> pa.Array:
    """NUL replaced by U+FFFD, as the CSV COPY does (PostgreSQL text cannot hold NUL)."""
    if pc.any(pc.match_substring(texts, "\x00")).as_py():
        return pc.replace_substring(texts, "\x00", "\ufffd")
    return texts


def concat(blocks: Sequence[RecordBlock]) -> RecordBlock:
    """Blocks of the same columns and types as one block (rows in order), so that small blocks are encoded for
    COPY in one go; raises ValueError when their columns or types differ."""
    if len(blocks) == 1:
        return blocks[0]
    first = blocks[0]
    if any(block.pg_types != first.pg_types or list(block.columns) != list(first.columns) for block in blocks):
        raise ValueError("blocks of different columns cannot be joined")
    try:
        return RecordBlock(
            _joined([_source_files(block) for block in blocks]),
            _joined([block.source_locations for block in blocks]),
            _joined([block.record_hashes for block in blocks]),
            {name: _joined([block.columns[name] for block in blocks]) for name in first.columns},
            first.pg_types,
        )
    except pa.ArrowInvalid as err:  # the same column typed differently by two parsers
        raise ValueError(f"blocks of different column types cannot be joined: {err}") from err


def _source_files(block: RecordBlock) -> pa.Array:
    if isinstance(block.source_file, str):
        return pa.array([block.source_file] * block.num_rows, pa.string())
    return block.source_file


def _joined(arrays: list[Any]) -> pa.Array:
    return pa.concat_arrays([a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in arrays])
