"""CSV COPY, the reference load path: rows formatted chunk by chunk, and the text PostgreSQL gets for a value."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from itertools import islice
from typing import Any

from ingest.record_text import encode_json, jsonb_text

COPY_CHUNK_ROWS = 2_000
# Placeholders while a chunk is built: field separator, row separator, NULL. A chunk whose values contain any of them
# (counted, never assumed) is formatted value by value instead.
_FS, _RS, _NL = "\x1c", "\x1d", "\x1e"


class CopyStream:
    """A file-like COPY source: each read() formats the next chunk of rows as PostgreSQL CSV (every value quoted,
    NULL unquoted-empty, so '' stays an empty string).

    A chunk is built with a handful of C-level string operations instead of quoting value by value: the values of
    a row are joined with _FS, rows with _RS, then quotes are doubled and the separators become `","` and `"\\n"`
    in one pass each over the chunk.
    """

    def __init__(self, rows: Iterable[Sequence[Any]]):
        self._rows = iter(rows)
        self._datetimes: dict[Any, str] = {}

    def read(self, size: int = -1) -> bytes:
        chunk = list(islice(self._rows, COPY_CHUNK_ROWS))
        if not chunk:
            return b""
        text = self._fast(chunk)
        if text is None:
            text = "".join(",".join(map(_csv_value, row)) + "\n" for row in chunk)
        if "\x00" in text:  # PostgreSQL text cannot hold NUL
            text = text.replace("\x00", "\ufffd")
        return text.encode("utf-8")

    def _fast(self, chunk: list[Sequence[Any]]) -> str | None:
        """The chunk as CSV text, or None when a value contains a placeholder character."""
        as_text, fields, nulls = self._as_text, 0, 0
        lines = []
        for row in chunk:
            lines.append(_FS.join([v if type(v) is str else as_text(v) for v in row]))
            fields += len(row) - 1
            nulls += row.count(None)
        joined = _RS.join(lines)
        if joined.count(_FS) != fields or joined.count(_RS) != len(chunk) - 1 or joined.count(_NL) != nulls:
            return None
        if '"' in joined:
            joined = joined.replace('"', '""')
        joined = '"' + joined.replace(_FS, '","').replace(_RS, '"\n"') + '"\n'
        return joined.replace(f'"{_NL}"', "") if nulls else joined

    def _as_text(self, value: Any) -> str:
        if value is None:
            return _NL
        if type(value) is datetime:  # the batch's interval and load time repeat on every row
            text = self._datetimes.get(value)
            if text is None:
                text = self._datetimes[value] = value.isoformat()
            return text
        return copy_text(value)


def copy_text(value: Any) -> str:
    """A non-NULL value as the text PostgreSQL parses: booleans true/false, dates ISO, dict and list JSON.

    A record that carries its JSON text (`json_text`, see ingest.models.JsonRecord) is not
    serialised again.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        text = getattr(value, "json_text", None)
        return text if text is not None else jsonb_text(encode_json(value).decode("utf-8"))
    return str(value)


def _csv_value(value: Any) -> str:
    """One CSV field: NULL unquoted-empty, every other value quoted, so '' stays an empty string."""
    if value is None:
        return ""
    return '"' + copy_text(value).replace('"', '""') + '"'
