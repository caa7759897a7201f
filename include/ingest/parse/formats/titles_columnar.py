"""The canonical title conversion of TitleConverter, done a column at a time with pyarrow for rows in common forms.

TitleConverter (titles_common) is the reference: it converts one row in about 15 microseconds of Python. Here each
mapped column is checked and converted for a whole file at once, in C. A value is converted here only in the forms
whose result is certain (plain text, `123`, `2026-11-02`, `2026-11-02T10:00:00Z`, a date pattern with two-digit
fields that reads back the same, a canonical EIDR ID); a row holding any other value is marked `slow`, and the caller
runs it through TitleConverter, which gives it its typed columns or its exact rejection reason. So every row gets the
outcome the reference would give it; tests/ingest/test_ingest_columnar_equivalence.py checks that on generated
files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import sha256

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest import eidr
from ingest.models import RecordBlock
from ingest.parse.formats import fields
from ingest.parse.formats.titles_common import (
    _TIME_DIRECTIVES,
    INTEGER_COLUMNS,
    REQUIRED_COLUMNS,
    TITLE_COLUMNS,
    TitleConverter,
)

# Python's str.strip() removes more than spaces: values with any other leading or trailing whitespace, and values
# with control characters (which JSON escapes and some of which strip() removes), take the reference path.
_CONTROL = r"[\x00-\x1f]"
_OTHER_SPACE = "[\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_ODD_EDGE = f"^ *{_OTHER_SPACE}|{_OTHER_SPACE} *$"  # strip() would remove it, utf8_trim(" ") does not
_ISO_DATE, _ISO_UTC = "%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ"
_CANONICAL_EIDR = r"^10\.5240/[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-Z]$"
_STRICT_DIRECTIVES = {"d": r"\d{2}", "m": r"\d{2}", "Y": r"\d{4}", "H": r"\d{2}", "M": r"\d{2}", "S": r"\d{2}"}
_EIDR_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_TEXT_COLUMNS = {
    "provider_asset_id", "title", "series_title", "episode_title", "country_of_origin", "genres", "directors",
    "eidr_id",
}  # fmt: skip


@dataclass(frozen=True)
class ColumnarTitles:
    """A file's rows converted column-wise: `slow` marks the rows TitleConverter must convert instead; `columns`
    holds every TITLE_COLUMNS column but `record`, typed, for all rows (meaningless where `slow`)."""

    slow: np.ndarray
    columns: dict[str, pa.Array]


def plain_text(data: bytes) -> bool:
    """Whether UTF-8 text has no control characters but line breaks and no whitespace but ASCII spaces and line
    breaks: then no value in it needs the checks that `convert` and `plain_rows` make. Vectorised with numpy: a
    regex over the text took longer than converting it."""
    octets = np.frombuffer(data, dtype=np.uint8)
    if np.count_nonzero(octets < 0x20) != data.count(b"\n") + data.count(b"\r"):
        return False
    if data.isascii():
        return True
    padded = np.concatenate([octets, np.zeros(2, dtype=np.uint8)])
    lead = np.flatnonzero((padded == 0xC2) | ((padded >= 0xE1) & (padded <= 0xE3)))
    first, second, third = padded[lead], padded[lead + 1], padded[lead + 2]
    spaces = (
        ((first == 0xC2) & ((second == 0x85) | (second == 0xA0)))  # U+0085, U+00A0
        | ((first == 0xE1) & (second == 0x9A) & (third == 0x80))  # U+1680
        | (
            (first == 0xE2)
            & (second == 0x80)
            & (((third >= 0x80) & (third <= 0x8A)) | np.isin(third, (0xA8, 0xA9, 0xAF)))
        )
        | ((first == 0xE2) & (second == 0x81) & (third == 0x9F))  # U+205F
        | ((first == 0xE3) & (second == 0x80) & (third == 0x80))  # U+3000
    )
    return not spaces.any()


def odd_values(column: pa.Array) -> np.ndarray:
    """Values holding a control character, or starting or ending with whitespace other than an ASCII space.

    A column whose bytes are all printable ASCII has none: one numpy pass over its data decides that, much faster
    than the two regexes every value otherwise goes through."""
    data = column.buffers()[2]
    if data is None or not np.any(_UNPRINTABLE[np.frombuffer(data, dtype=np.uint8)]):
        return np.zeros(len(column), dtype=bool)
    return _flag(pc.or_(pc.match_substring_regex(column, _CONTROL), pc.match_substring_regex(column, _ODD_EDGE)))


_UNPRINTABLE = np.ones(256, dtype=bool)
_UNPRINTABLE[0x20:0x7F] = False


def plain_rows(values: list[pa.Array]) -> np.ndarray:
    """Rows without control characters in any value: their record JSON needs only quotes and backslashes escaped."""
    slow = np.zeros(len(values[0]) if values else 0, dtype=bool)
    for column in values:
        slow |= _flag(pc.match_substring_regex(column, _CONTROL))
    return ~slow


def convert(converter: TitleConverter, values: Mapping[str, pa.Array], check_values: bool = True) -> ColumnarTitles:
    """Convert the mapped string columns (`converter.names` -> values; null = absent) like TitleConverter.columns.

    check_values=False skips looking for control characters and unusual whitespace in every value, for a caller
    that knows there are none (see plain_text).
    """
    num_rows = len(next(iter(values.values())))
    slow = np.zeros(num_rows, dtype=bool)
    out: dict[str, pa.Array] = {}
    for name in TITLE_COLUMNS:
        if name in ("record", "eidr_id_provided", "eidr_status", "eidr_invalid_reason"):
            continue
        column = values.get(name)
        if column is None:
            out[name] = pa.nulls(num_rows, _ARROW_TYPES[name])
            continue
        converted, unsure = _convert_column(converter, name, column, check_values)
        out[name] = converted
        slow |= unsure
    for name in REQUIRED_COLUMNS:
        slow |= _flag(out[name].is_null())
    # a window that ends before it starts is rejected by TitleConverter (fields.window_problem), which says why
    slow |= _flag(pc.less(out["licensing_window_end"], out["licensing_window_start"]))
    out.update(_eidr(out.pop("eidr_id")))
    return ColumnarTitles(slow, out)


_ARROW_TYPES: dict[str, pa.DataType] = {
    **{name: pa.string() for name in TITLE_COLUMNS},
    **{name: pa.int32() for name in INTEGER_COLUMNS},
    "release_date": pa.date32(),
    **{name: pa.timestamp("us", "UTC") for name in ("licensing_window_start", "licensing_window_end", "updated_at")},
}


# raw.<csv|json>_titles column -> PostgreSQL type, for binary COPY (the names of ingest.load.copy_binary).
PG_TYPES: dict[str, str] = {
    **{name: "text" for name in TITLE_COLUMNS},
    **{name: "int4" for name in INTEGER_COLUMNS},
    "release_date": "date",
    **{name: "timestamptz" for name in ("licensing_window_start", "licensing_window_end", "updated_at")},
    "record": "json",
}


def _flag(mask: pa.Array) -> np.ndarray:
    """A boolean pyarrow array as numpy, null counted as False."""
    return mask.fill_null(False).to_numpy(zero_copy_only=False)


def _convert_column(
    converter: TitleConverter, name: str, column: pa.Array, check_values: bool
) -> tuple[pa.Array, np.ndarray]:
    """(typed values, rows not certain here) for one mapped column, per TitleConverter's rule for `name`."""
    present = pc.not_equal(column, "")  # the reference skips "" (and null) before converting
    unsure = odd_values(column) & _flag(present) if check_values else np.zeros(len(column), dtype=bool)
    if name in _TEXT_COLUMNS or name == "work_type":
        trimmed = pc.utf8_trim(column, characters=" ")
        if name == "work_type":
            unsure |= _flag(pc.and_(present, pc.invert(pc.string_is_ascii(column))))
            trimmed = pc.ascii_lower(trimmed)
        return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed), unsure
    if name in INTEGER_COLUMNS:
        trimmed = pc.utf8_trim(column, characters=" ")
        length = pc.utf8_length(trimmed)
        fits = pc.equal(length, 4) if name == "release_year" else pc.and_(pc.greater(length, 0), pc.less(length, 10))
        ok = pc.and_(pc.ascii_is_decimal(trimmed), fits).fill_null(False)
        numbers = pc.if_else(ok, trimmed, pa.scalar(None, pa.string())).cast(pa.int32())
        if name == "release_year":
            in_range = pc.and_(pc.greater_equal(numbers, fields.MIN_YEAR), pc.less_equal(numbers, fields.MAX_YEAR))
            ok = pc.and_(ok, in_range.fill_null(False))
        unsure |= _flag(pc.and_(present, pc.invert(ok)))
        return pc.if_else(ok, numbers, pa.scalar(None, pa.int32())), unsure
    kind = {"release_date": "date", "licensing_window_start": "start", "licensing_window_end": "end"}.get(name, "start")
    pattern = converter.timestamp_format if name == "updated_at" else converter.date_format
    encoded = pc.dictionary_encode(column)  # dates repeat a lot within a delivery: convert each distinct one once
    distinct_moments, distinct_ok = _moments(encoded.dictionary, kind, pattern)
    moments, ok = distinct_moments.take(encoded.indices), distinct_ok.take(encoded.indices).fill_null(False)
    unsure |= _flag(pc.and_(present, pc.invert(ok)))
    if kind == "date":
        return pc.if_else(ok, moments.cast(pa.date32()), pa.scalar(None, pa.date32())), unsure
    return pc.if_else(ok, moments, pa.scalar(None, moments.type)), unsure


def _moments(column: pa.Array, kind: str, pattern: str | None) -> tuple[pa.Array, pa.Array]:
    """UTC timestamps of the values in the certain forms, and which values those are (never null).

    strptime accepts more than TitleConverter does (it rolls 31/02 over into March and takes year 0), so a value is
    certain only when it has the strict form (two-digit fields, four-digit year) and every field of the timestamp
    equals the digits written at that field's place.
    """
    utc = pa.timestamp("us", "UTC")
    if pattern is None:
        date_only = pc.match_substring_regex(column, _strict_pattern(_ISO_DATE)).fill_null(False)
        with_time = pc.match_substring_regex(column, _strict_pattern(_ISO_UTC)).fill_null(False)
        as_date = _iso_cast(column, date_only, pa.date32()) or _checked_strptime(column, _ISO_DATE, date_only)
        as_time = _iso_cast(column, with_time, pa.timestamp("s", "UTC")) or _checked_strptime(
            column, _ISO_UTC, with_time
        )
        moments = pc.if_else(date_only, as_date, as_time)
        if kind == "end":
            moments = pc.if_else(date_only, pc.add(moments, pa.scalar(86_399, pa.duration("s"))), moments)
    else:
        strict = _strict_pattern(pattern)
        if strict is None:
            return pa.nulls(len(column), utc), pa.array(np.zeros(len(column), dtype=bool))
        moments = _checked_strptime(column, pattern, pc.match_substring_regex(column, strict).fill_null(False))
        if kind == "end" and not _TIME_DIRECTIVES.search(pattern):
            moments = pc.add(pc.floor_temporal(moments, unit="day"), pa.scalar(86_399, pa.duration("s")))
    ok = pc.and_(pc.is_valid(moments), pc.greater_equal(pc.year(moments), 1).fill_null(False))
    return pc.assume_timezone(moments, "UTC").cast(utc), ok


def _iso_cast(column: pa.Array, strict: pa.Array, target: pa.DataType) -> pa.Array | None:
    """The strict-form values cast to `target` (Arrow's ISO 8601 parser, which refuses 31/02 and 24:00) as naive UTC
    timestamps in seconds, or None when one of them does not parse (then _checked_strptime finds which)."""
    try:
        cast = pc.if_else(strict, column, pa.scalar(None, pa.string())).cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if pa.types.is_date(cast.type):
        return cast.cast(pa.timestamp("s"))
    return cast.cast(pa.timestamp("s", "UTC")).cast(pa.timestamp("s"))


_FIELD_FUNCTIONS = {"Y": pc.year, "m": pc.month, "d": pc.day, "H": pc.hour, "M": pc.minute, "S": pc.second}


def _checked_strptime(column: pa.Array, pattern: str, strict: pa.Array) -> pa.Array:
    """strptime(pattern) of the values matching the strict form, null where any field differs from its digits."""
    text = pc.if_else(strict, column, pa.scalar(None, pa.string()))
    moments = pc.strptime(text, format=pattern, unit="s", error_is_null=True)
    same = pc.is_valid(moments)
    offset = 0
    for literal, directive in re.findall(r"([^%]*)(?:%(.))?", pattern):
        offset += len(literal)
        if directive:
            width = 4 if directive == "Y" else 2
            digits = pc.utf8_slice_codeunits(text, offset, offset + width).cast(pa.int64())
            value = _FIELD_FUNCTIONS[directive](moments)
            same = pc.and_(same, pc.equal(value, digits).fill_null(False))
            offset += width
    same = pc.and_(same, pc.greater_equal(pc.year(moments), 1).fill_null(False))
    return pc.if_else(same, moments, pa.scalar(None, moments.type))


def _strict_pattern(pattern: str) -> str | None:
    """A regex of the pattern with two-digit fields (four for %Y), or None unless it is made of %d %m %Y %H %M %S
    and literal text, each directive at most once and %d %m %Y present."""
    parts, seen = [], set()
    for literal, directive in re.findall(r"([^%]*)(?:%(.))?", pattern):
        parts.append(re.escape(literal))
        if directive:
            if directive not in _STRICT_DIRECTIVES or directive in seen:
                return None
            seen.add(directive)
            parts.append(_STRICT_DIRECTIVES[directive])
    return "^" + "".join(parts) + "$" if {"d", "m", "Y"} <= seen else None


def _eidr(provided: pa.Array) -> dict[str, pa.Array]:
    """eidr_id_provided, eidr_id, eidr_status, eidr_invalid_reason as ingest.eidr.parse_eidr gives them.

    Canonical IDs are checked here (the MOD 37,36 character computed with numpy); other forms go to parse_eidr one by
    one, which is exact and rare. Nothing here makes a row slow.
    """
    num_rows = len(provided)
    canonical = _flag(pc.match_substring_regex(provided, _CANONICAL_EIDR))
    expected = np.full(num_rows, "", dtype=object)
    if canonical.any():
        picked = provided.filter(pa.array(canonical)).cast(pa.binary())
        raw = np.frombuffer(picked.buffers()[2], dtype=np.uint8, count=34 * len(picked), offset=34 * picked.offset)
        chars = raw.reshape(len(picked), 34)[:, [8, 9, 10, 11, 13, 14, 15, 16, 18, 19, 20, 21, 23, 24, 25, 26, 28, 29,
                                                 30, 31]]  # fmt: skip
        expected[canonical] = _check_characters(chars)
    got = pc.utf8_slice_codeunits(provided, 33, 34).to_numpy(zero_copy_only=False)
    valid = canonical & (expected == got)
    status = np.where(provided.is_null().to_numpy(zero_copy_only=False), eidr.EidrStatus.MISSING.value, "")
    status = np.where(valid, eidr.EidrStatus.VALID.value, status).astype(object)
    reason = np.full(num_rows, None, dtype=object)
    # numpy's stubs take a None `y` for the one-argument form, which returns a tuple of indices
    ids: np.ndarray = np.where(valid, provided.to_numpy(zero_copy_only=False), None)  # type: ignore[assignment]
    wrong_check = canonical & ~valid
    status[wrong_check] = eidr.EidrStatus.INVALID.value
    pairs = zip(expected[wrong_check], got[wrong_check], strict=True)
    reason[wrong_check] = [f"check character should be {want}, got {have}" for want, have in pairs]
    for index in np.flatnonzero(status == ""):
        checked = eidr.parse_eidr(provided[index].as_py())
        ids[index], status[index], reason[index] = checked.canonical, checked.status.value, checked.reason
    return {
        "eidr_id_provided": provided,
        "eidr_id": pa.array(ids, pa.string()),
        "eidr_status": pa.array(status, pa.string()),
        "eidr_invalid_reason": pa.array(reason, pa.string()),
    }


_CHAR_VALUES = np.zeros(256, dtype=np.int64)
for _index, _char in enumerate(_EIDR_ALPHABET):
    _CHAR_VALUES[ord(_char)] = _index


def _check_characters(hex_chars: np.ndarray) -> np.ndarray:
    """ISO 7064 MOD 37,36 check characters (as stdnum's mod_37_36.calc_check_digit) of rows of 20 ASCII hex bytes."""
    modulus = 36
    check = np.full(len(hex_chars), modulus // 2, dtype=np.int64)
    for position in range(hex_chars.shape[1]):
        check = (np.where(check == 0, modulus, check) * 2 % (modulus + 1) + _CHAR_VALUES[hex_chars[:, position]]) % 36
    digits = (1 - np.where(check == 0, modulus, check) * 2 % (modulus + 1)) % modulus
    return np.array(list(_EIDR_ALPHABET), dtype=object)[digits]


def json_string_values(column: pa.Array) -> pa.Array:
    """Each value's JSON string content, quotes and backslashes escaped (callers exclude control characters)."""
    for special, escaped in (("\\", "\\\\"), ('"', '\\"')):
        if pc.any(pc.match_substring(column, special)).as_py():
            column = pc.replace_substring(column, special, escaped)
    return column


def title_block(
    source_file: str,
    titles: ColumnarTitles,
    rows: np.ndarray,
    locations: pa.Array,
    record_json: pa.Array,
    hashes: list[str] | None = None,
) -> RecordBlock:
    """The RecordBlock of the given (fast) rows: their typed columns, locations and record JSON text (already taken
    for those rows); record_hash is the SHA-256 of the JSON text, as titles_common.json_record makes it, unless the
    caller has them."""
    picked = pa.array(rows, pa.int64())
    columns = {name: titles.columns[name].take(picked) for name in TITLE_COLUMNS if name != "record"}
    columns["record"] = record_json
    if hashes is None:
        hashes = [sha256(text).hexdigest() for text in record_json.cast(pa.binary()).to_pylist()]
    return RecordBlock(source_file, locations, pa.array(hashes, pa.string()), columns, PG_TYPES)
