"""The canonical title columns shared by the CSV and JSON formats, and the one conversion of a mapped row into them."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any

from ingest import eidr
from ingest.load.raw_tables import raw_table_ddl
from ingest.models import JsonRecord, Rejected
from ingest.parse.formats import fields
from ingest.record_text import encode_json, jsonb_text

# Parsed columns of raw.csv_titles and raw.json_titles, in table order (the loader adds the batch columns first).
TITLE_COLUMNS: tuple[str, ...] = (
    "provider_asset_id", "title", "work_type", "series_title", "episode_title", "season_number", "episode_number",
    "release_year", "release_date", "runtime_minutes", "genres", "directors", "country_of_origin",
    "licensing_window_start", "licensing_window_end", "updated_at", "eidr_id_provided", "eidr_id", "eidr_status",
    "eidr_invalid_reason", "record",
)  # fmt: skip

# Names a provider mapping may use (`columns` for CSV, `fields` for JSON); `eidr_id` is the provided EIDR value.
MAPPABLE_COLUMNS: tuple[str, ...] = (
    "provider_asset_id", "title", "work_type", "series_title", "episode_title", "season_number", "episode_number",
    "release_year", "release_date", "runtime_minutes", "genres", "directors", "country_of_origin", "eidr_id",
    "licensing_window_start", "licensing_window_end", "updated_at",
)  # fmt: skip
REQUIRED_COLUMNS = ("provider_asset_id", "title")
INTEGER_COLUMNS = ("season_number", "episode_number", "release_year", "runtime_minutes")
LIST_SEPARATORS = {"genres": ", ", "directors": "; "}  # a JSON list in these columns is joined with this
_TIME_DIRECTIVES = re.compile(r"%[HIMSXcTpfrRz]")
MAX_SHOWN_VALUE = 80
_EIDR_MISSING = eidr.EidrStatus.MISSING.value


class OptionsError(ValueError):
    """Format options that cannot be used: every file of the batch is quarantined with this reason."""


def json_record(value: Mapping[str, Any]) -> tuple[JsonRecord, str]:
    """The record with its compact JSON text, and that text's SHA-256 as record_hash (a JsonRecord passed in is
    used as is, saving a copy).

    Raises UnicodeEncodeError for a lone surrogate (JSON `"\\ud800"`), which PostgreSQL cannot store; NaN and
    infinite numbers (which jsonb cannot hold either) are written as null.
    """
    encoded = encode_json(value)
    if b"\\u0000" in encoded:
        encoded = jsonb_text(encoded.decode("utf-8")).encode("utf-8")
    record = value if type(value) is JsonRecord else JsonRecord(value)
    record.json_text = encoded.decode("utf-8")
    return record, hashlib.sha256(encoded).hexdigest()


def delivered_json_record(value: Any, text: str) -> tuple[JsonRecord, str]:
    """The record with the JSON text it was delivered as (whitespace, key order, number forms and escapes kept), and
    that text's SHA-256 as record_hash: the original, where json_record stores a re-encoding.

    `value` must be what `text` decodes to. As json_record does, it raises UnicodeEncodeError for a lone surrogate
    and writes the escape \\u0000 (which jsonb cannot hold) as \\ufffd.
    """
    if _SURROGATE_ESCAPE.search(text):
        encode_json(value)  # raises for a lone surrogate, which PostgreSQL cannot store
    text = jsonb_text(text)
    record = value if type(value) is JsonRecord else JsonRecord(value)
    record.json_text = text
    return record, hashlib.sha256(text.encode("utf-8")).hexdigest()


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def mapping_option(options: Mapping[str, Any], key: str) -> dict[str, str]:
    """The `columns`/`fields` option: canonical name -> source name; default every canonical name as itself."""
    mapping = options.get(key)
    if mapping is None:
        return {name: name for name in MAPPABLE_COLUMNS}
    if not isinstance(mapping, Mapping):
        raise OptionsError(f"{key} must be an object of canonical name -> source name")
    unknown = sorted(set(mapping) - set(MAPPABLE_COLUMNS))
    if unknown:
        raise OptionsError(f"{key}: unknown target column(s) {unknown}; expected some of {list(MAPPABLE_COLUMNS)}")
    for name, source in mapping.items():
        if not isinstance(source, str) or not source.strip():
            raise OptionsError(f"{key}.{name} must be a non-empty string")
    missing = [name for name in REQUIRED_COLUMNS if name not in mapping]
    if missing:
        raise OptionsError(f"{key} must map the required column(s) {missing}")
    return dict(mapping)


def strptime_option(options: Mapping[str, Any], key: str) -> str | None:
    """A strftime pattern option (`date_format`, `timestamp_format`), or None for ISO 8601."""
    value = options.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or "%" not in value:
        raise OptionsError(f"{key} must be a strftime pattern such as '%d/%m/%Y', got {value!r}")
    return value


class TitleConverter:
    """Turns one mapped row (values in the order of `names`) into the typed title columns.

    One instance per file: it caches parsed date values, which repeat a lot within a delivery. Only mapped columns
    are converted; the rest are None.
    """

    def __init__(self, labels: Mapping[str, str], date_format: str | None, timestamp_format: str | None):
        self.labels = labels
        self.date_format = date_format
        self.timestamp_format = timestamp_format
        self._cache: dict[tuple[str, str], Any] = {}
        converters: dict[str, Callable[[Any], Any] | None] = {  # None: plain text, converted inline
            "provider_asset_id": None, "title": None, "work_type": self._lower, "series_title": None,
            "episode_title": None, "season_number": self._integer, "episode_number": self._integer,
            "release_year": self._year, "release_date": self._date, "runtime_minutes": self._integer,
            "genres": self._joiner(LIST_SEPARATORS["genres"]), "directors": self._joiner(LIST_SEPARATORS["directors"]),
            "country_of_origin": None, "eidr_id": None,
            "licensing_window_start": self._window_start, "licensing_window_end": self._window_end,
            "updated_at": self._timestamp,
        }  # fmt: skip
        self.names: tuple[str, ...] = tuple(name for name in MAPPABLE_COLUMNS if name in labels)
        self._plan = tuple((name, converters[name]) for name in self.names)
        self._empty = dict.fromkeys(MAPPABLE_COLUMNS)

    def columns(self, values: Sequence[Any]) -> dict[str, Any]:
        """The typed columns (all but `record`) from the values of `names`; raises Rejected naming every bad or
        missing value, and a licensing window that ends before it starts."""
        out = self._empty.copy()
        errors: list[str] | None = None
        for (name, convert), value in zip(self._plan, values, strict=True):
            if value is None:
                continue
            if convert is None and type(value) is str:
                out[name] = value.strip() or None
                continue
            if value == "":
                continue
            try:
                out[name] = self._text(value) if convert is None else convert(value)
            except (ValueError, TypeError, OverflowError) as err:
                errors = errors or []
                errors.append(f"bad {name} (source {self.labels.get(name, name)!r}) {_shown(value)}: {err}")
        start, end = out["licensing_window_start"], out["licensing_window_end"]
        if start is not None and end is not None:
            inverted = fields.window_problem(
                self._shown_name("licensing_window_start"),
                start,
                self._shown_name("licensing_window_end"),
                end,
                empty_allowed=True,
            )
            if inverted:
                errors = errors or []
                errors.append(inverted)
        if out["provider_asset_id"] is None or out["title"] is None or errors:
            self._reject(out, errors or [])
        provided = out.pop("eidr_id")
        if provided is None:
            out["eidr_id_provided"] = out["eidr_id"] = out["eidr_invalid_reason"] = None
            out["eidr_status"] = _EIDR_MISSING
            return out
        checked = eidr.parse_eidr(provided)
        out["eidr_id_provided"] = provided
        out["eidr_id"] = checked.canonical
        out["eidr_status"] = checked.status.value
        out["eidr_invalid_reason"] = checked.reason
        return out

    def _reject(self, out: dict[str, Any], errors: list[str]) -> None:
        for name in REQUIRED_COLUMNS:
            if out[name] is None and not any(e.startswith(f"bad {name} ") for e in errors):
                errors.append(f"missing {self._shown_name(name)}")
        raise Rejected("; ".join(errors))

    def _shown_name(self, name: str) -> str:
        """A canonical column as reasons name it: with the source field it was mapped from."""
        return f"{name} (source {self.labels.get(name, name)!r})"

    @staticmethod
    def _text(value: Any) -> str | None:
        return _as_text(value).strip() or None

    def _lower(self, value: Any) -> str | None:
        text = self._text(value)
        return text.lower() if text else None

    def _joiner(self, separator: str) -> Callable[[Any], str | None]:
        """Text, or a JSON list of texts joined with separator (as the ADI parser joins repeated values)."""

        def joined(value: Any) -> str | None:
            if isinstance(value, list):
                parts = [self._text(item) for item in value]
                return separator.join(part for part in parts if part) or None
            return self._text(value)

        return joined

    @staticmethod
    def _integer(value: Any) -> int:
        return fields.integer(_as_text(value))

    @staticmethod
    def _year(value: Any) -> int:
        return fields.year(_as_text(value))

    def _date(self, value: Any) -> date:
        return self._parsed(value, "date", self.date_format).date()

    def _window_start(self, value: Any) -> datetime:
        return self._parsed(value, "start", self.date_format)

    def _window_end(self, value: Any) -> datetime:
        return self._parsed(value, "end", self.date_format)

    def _timestamp(self, value: Any) -> datetime:
        return self._parsed(value, "start", self.timestamp_format)

    def _parsed(self, value: Any, kind: str, pattern: str | None) -> datetime:
        """A date or time value per the pattern (ISO 8601 without one), as UTC-aware; a bare date ends at 23:59:59
        when it is the end of a window."""
        if not isinstance(value, str):
            raise ValueError(f"expected a date string, got {_json_type(value)}")
        key = (kind, value)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if pattern is None:
            parsed = fields.timestamp(value, end_of_day=kind == "end")
        else:
            try:
                parsed = _strptime(value.strip(), pattern)
            except ValueError:
                raise ValueError(f"expected the format {pattern!r}") from None
            if kind == "end" and not _TIME_DIRECTIVES.search(pattern):
                parsed = datetime.combine(parsed.date(), time(23, 59, 59))
            parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[key] = parsed
        return parsed


_FAST_DIRECTIVES = {"d": r"(?P<d>\d{1,2})", "m": r"(?P<m>\d{1,2})", "Y": r"(?P<Y>\d{4})", "H": r"(?P<H>\d{1,2})",
                    "M": r"(?P<M>\d{1,2})", "S": r"(?P<S>\d{1,2})"}  # fmt: skip


@lru_cache(maxsize=32)
def _fast_pattern(pattern: str) -> re.Pattern[str] | None:
    """A regex for a strftime pattern made only of %d %m %Y %H %M %S and literal text (each at most once), else None.

    datetime.strptime takes about 4 microseconds a value; this regex plus datetime() about one.
    """
    parts, seen = [], set()
    for literal, directive in re.findall(r"([^%]*)(?:%(.))?", pattern):
        parts.append(re.escape(literal))
        if directive:
            if directive not in _FAST_DIRECTIVES or directive in seen:
                return None
            seen.add(directive)
            parts.append(_FAST_DIRECTIVES[directive])
    return re.compile("".join(parts)) if {"d", "m", "Y"} <= seen else None


def _strptime(value: str, pattern: str) -> datetime:
    """datetime.strptime(value, pattern), faster for the usual numeric date patterns."""
    fast = _fast_pattern(pattern)
    if fast is None:
        return datetime.strptime(value, pattern)
    match = fast.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} does not match {pattern!r}")
    g = match.groupdict()
    return datetime(int(g["Y"]), int(g["m"]), int(g["d"]), int(g.get("H") or 0), int(g.get("M") or 0),
                    int(g.get("S") or 0))  # fmt: skip


def _as_text(value: Any) -> str:
    """A source value as text: strings as is, JSON numbers as written; objects, lists and booleans are errors."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    raise ValueError(f"expected text or a number, got {_json_type(value)}")


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", bool: "a boolean", float: "a fractional number"}
    return names.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    shown = repr(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return shown if len(shown) <= MAX_SHOWN_VALUE else shown[:MAX_SHOWN_VALUE] + "..."


def title_table_ddl(table: str) -> str:
    """DDL of raw.<table> for a canonical-titles format: the loader's meta columns, then TITLE_COLUMNS."""
    return raw_table_ddl(
        table,
        """
    provider_asset_id text not null,
    title text not null,
    work_type text,
    series_title text,
    episode_title text,
    season_number int,
    episode_number int,
    release_year int,
    release_date date,
    runtime_minutes int,
    genres text,
    directors text,
    country_of_origin text,
    licensing_window_start timestamptz,
    licensing_window_end timestamptz,
    updated_at timestamptz,
    eidr_id_provided text,
    eidr_id text,
    eidr_status text not null,
    eidr_invalid_reason text,
    record json not null
""",
    ) + (
        # the asset key of stg_csv__titles and stg_json__titles: the marts look a changed asset's versions up by it
        f"create index if not exists {table}_asset_key_idx"
        f" on raw.{table} ((provider_id || ':' || provider_asset_id));\n"
    )
