"""CSV and TSV title lists: a declared column mapping turns each row into the canonical title columns."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from ingest.formats.safe_xml import MAX_FILE_BYTES, raw_text
from ingest.formats.titles_common import (
    REQUIRED_COLUMNS,
    JsonRecord,
    OptionsError,
    TitleConverter,
    TitleRejected,
    json_record,
    mapping_option,
    strptime_option,
    title_table_ddl,
)
from ingest.models import ParsedRecord, ParseOutcome, Quarantined

OPTION_KEYS = ("delimiter", "encoding", "header_row", "quotechar", "columns", "date_format", "timestamp_format")
_DELIMITER_ALIASES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


@dataclass(frozen=True)
class CsvOptions:
    """The `--format-options` of the csv format, validated; an unusable value raises OptionsError saying which."""

    columns: Mapping[str, str]
    explicit_columns: bool = True  # False: the default mapping, whose optional headers may be absent
    delimiter: str = ","
    encoding: str = "utf-8"
    header_row: int = 1
    quotechar: str = '"'
    date_format: str | None = None
    timestamp_format: str | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> CsvOptions:
        """Validate the provider's options; unknown keys are errors so a typo is not silently ignored."""
        options = options or {}
        unknown = sorted(set(options) - set(OPTION_KEYS))
        if unknown:
            raise OptionsError(f"unknown option(s) {unknown}; expected some of {list(OPTION_KEYS)}")
        delimiter = options.get("delimiter", ",")
        delimiter = _DELIMITER_ALIASES.get(delimiter, delimiter) if isinstance(delimiter, str) else delimiter
        quotechar = options.get("quotechar", '"')
        for name, value in (("delimiter", delimiter), ("quotechar", quotechar)):
            if not isinstance(value, str) or len(value) != 1 or value in "\r\n":
                raise OptionsError(f"{name} must be one character (or 'tab'), got {value!r}")
        if delimiter == quotechar:
            raise OptionsError("delimiter and quotechar must differ")
        encoding = options.get("encoding", "utf-8")
        try:
            codecs.lookup(encoding)
        except (LookupError, TypeError):
            raise OptionsError(f"unknown encoding {encoding!r}") from None
        header_row = options.get("header_row", 1)
        if not isinstance(header_row, int) or isinstance(header_row, bool) or header_row < 1:
            raise OptionsError(f"header_row must be a row number from 1, got {header_row!r}")
        return cls(
            columns=mapping_option(options, "columns"),
            explicit_columns="columns" in options,
            delimiter=delimiter,
            encoding=encoding,
            header_row=header_row,
            quotechar=quotechar,
            date_format=strptime_option(options, "date_format"),
            timestamp_format=strptime_option(options, "timestamp_format"),
        )

    @property
    def codec(self) -> str:
        """The codec to decode with: UTF-8 drops a leading byte order mark."""
        return "utf-8-sig" if codecs.lookup(self.encoding).name == "utf-8" else self.encoding


def parse_csv_records(data: bytes, source_file: str, options: Mapping[str, Any] | None = None) -> list[ParseOutcome]:
    """The FormatSpec entry point: one outcome per data row (`file:line N`); never raises."""
    try:
        parsed = CsvOptions.from_options(options)
    except OptionsError as err:
        return [Quarantined(source_file, source_file, f"invalid csv format options: {err}", raw_text(data))]
    if len(data) > MAX_FILE_BYTES:
        reason = f"file too large: more than {MAX_FILE_BYTES} bytes; deliver it in smaller files"
        return [Quarantined(source_file, source_file, reason, raw_text(data))]
    try:
        text = data.decode(parsed.codec)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        reason = f"not valid {parsed.encoding} text: {err.reason} at byte {err.start}"
        return [Quarantined(source_file, f"{source_file}:line {line}", reason, raw_text(data))]
    try:
        return _CsvFile(text, source_file, parsed).outcomes()
    except Exception as err:  # a single file must never abort the batch
        reason = f"unexpected parser error: {type(err).__name__}: {err}"
        return [Quarantined(source_file, source_file, reason, raw_text(data))]


class _CsvFile:
    """One decoded file being read row by row; keeps the physical lines only once a row needs quarantining."""

    def __init__(self, text: str, source_file: str, options: CsvOptions):
        self.text = text.replace("\x00", "\ufffd") if "\x00" in text else text
        self.source_file = source_file
        self.options = options
        self._lines: list[str] | None = None

    def outcomes(self) -> list[ParseOutcome]:
        options = self.options
        reader = csv.reader(
            io.StringIO(self.text, newline=""), delimiter=options.delimiter, quotechar=options.quotechar
        )
        rows = self._rows(reader)
        header: list[str] | None = None
        outcomes: list[ParseOutcome] = []
        for _ in range(options.header_row):
            item = next(rows, None)
            if item is None:
                break
            if isinstance(item, Quarantined):
                outcomes.append(item)
                continue
            header = item[2]
        if header is None:
            reason = f"no header row: the file has fewer than {options.header_row} row(s)"
            return [*outcomes, Quarantined(self.source_file, self.source_file, reason, raw_text(self.text.encode()))]
        keys = _record_keys(header)
        lookup = _header_lookup(keys)
        mapping = options.columns
        if not options.explicit_columns:
            mapping = {n: s for n, s in mapping.items() if n in REQUIRED_COLUMNS or s.lower() in lookup}
        missing = {name: source for name, source in mapping.items() if source.strip().lower() not in lookup}
        source = f"{self.source_file}:line "
        if missing:
            names = ", ".join(f"{s!r} (mapped to {n})" for n, s in missing.items())
            reason = f"header(s) missing from the file: {names}; the header row has {keys}"
            for item in rows:
                if isinstance(item, Quarantined):
                    outcomes.append(item)
                else:
                    outcomes.append(self._quarantine(item[0], item[1], reason))
            if not outcomes:
                outcomes.append(Quarantined(self.source_file, self.source_file, reason, self.text[:10_000]))
            return outcomes
        converter = TitleConverter(mapping, options.date_format, options.timestamp_format)
        indexes = tuple(lookup[mapping[name].strip().lower()] for name in converter.names)
        pick = itemgetter(*indexes) if len(indexes) > 1 else (lambda row: (row[indexes[0]],))
        width = len(keys)
        for item in rows:
            if isinstance(item, Quarantined):
                outcomes.append(item)
                continue
            first, last, row = item
            if len(row) != width:
                reason = f"row has {len(row)} fields, the header has {width}"
                outcomes.append(self._quarantine(first, last, reason))
                continue
            try:
                columns = converter.columns(pick(row))
            except TitleRejected as err:
                outcomes.append(self._quarantine(first, last, str(err)))
                continue
            record, record_hash = json_record(JsonRecord(zip(keys, row, strict=True)))
            columns["record"] = record
            outcomes.append(ParsedRecord(self.source_file, source + str(first), record_hash, columns))
        return outcomes

    def _rows(self, reader: Any) -> Any:
        """(first line, last line, fields) per non-blank row; a row the csv module rejects becomes Quarantined."""
        last = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                first, last = last + 1, max(reader.line_num, last + 1)
                yield self._quarantine(first, last, f"unreadable CSV row: {err}")
                continue
            first, last = last + 1, reader.line_num
            if row:
                yield first, last, row

    def _quarantine(self, first: int, last: int, reason: str) -> Quarantined:
        if self._lines is None:
            self._lines = io.StringIO(self.text, newline="").readlines()
        raw = "".join(self._lines[first - 1 : last])
        return Quarantined(self.source_file, f"{self.source_file}:line {first}", reason, raw)


def _record_keys(header: list[str]) -> list[str]:
    """The header names as record keys, stripped; a repeated name gets ' (2)', ' (3)'... so no value is lost."""
    keys: list[str] = []
    seen: dict[str, int] = {}
    for name in header:
        key = name.strip()
        count = seen.get(key, 0) + 1
        seen[key] = count
        keys.append(key if count == 1 else f"{key} ({count})")
    return keys


def _header_lookup(keys: list[str]) -> dict[str, int]:
    """Header name (case-insensitive) -> its first column index."""
    lookup: dict[str, int] = {}
    for index, key in enumerate(keys):
        lookup.setdefault(key.lower(), index)
    return lookup


DDL = title_table_ddl("csv_titles")
