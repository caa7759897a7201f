"""Records and files as text for PostgreSQL: compact JSON, JSON that jsonb accepts, a file's text for quarantine."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ingest.limits import MAX_RAW_RECORD_CHARS

_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


try:  # msgspec (pinned in requirements.txt, an Airflow dependency) encodes about ten times faster than json.dumps
    from msgspec import EncodeError
    from msgspec.json import Encoder as _Encoder

    _encode_json: Callable[[Any], bytes] = _Encoder().encode
    _ENCODE_ERRORS: tuple[type[Exception], ...] = (TypeError, OverflowError, EncodeError)
except ImportError:  # pragma: no cover - the stdlib encoder gives the same text, only slower
    _ENCODE_ERRORS = (TypeError, OverflowError)

    def _encode_json(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def encode_json(value: Any) -> bytes:
    """Compact JSON as UTF-8: msgspec, or the stdlib for what msgspec refuses (an integer beyond 64 bits)."""
    try:
        return _encode_json(value)
    except _ENCODE_ERRORS:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def jsonb_text(text: str) -> str:
    """JSON text PostgreSQL jsonb accepts: the escape \\u0000 (jsonb cannot hold NUL) becomes \\ufffd."""
    return _NUL_ESCAPE.sub(r"\1\\ufffd", text) if "\\u0000" in text else text


def raw_text(data: bytes) -> str:
    """The file as text for raw.quarantine: UTF-8 when it is, else Latin-1 (byte-for-byte reversible).

    NUL characters, which PostgreSQL text cannot hold, become U+FFFD; an oversized file keeps its head only.
    """
    head = data[:MAX_RAW_RECORD_CHARS]
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    text = text.replace("\x00", "\ufffd")
    if len(data) > MAX_RAW_RECORD_CHARS:
        text += f"\n[truncated: file has more than {MAX_RAW_RECORD_CHARS} bytes]"
    return text
