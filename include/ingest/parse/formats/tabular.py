"""CSV and TSV title lists: a declared column mapping turns each row into the canonical title columns."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from ingest.limits import (
    MAX_CSV_COLUMNS,
    MAX_FIELD_CHARS,
    MAX_FILE_BYTES,
    MAX_RAW_RECORD_CHARS,
    MAX_RECORDS_PER_FILE,
)
from ingest.models import JsonRecord, ParsedRecord, ParseOutcome, ParseResult, Quarantined, Rejected
from ingest.parse.formats.spec import FormatSpec
from ingest.parse.formats.titles_common import (
    REQUIRED_COLUMNS,
    TITLE_COLUMNS,
    OptionsError,
    TitleConverter,
    json_record,
    mapping_option,
    strptime_option,
    title_table_ddl,
)
from ingest.record_text import encode_json, raw_text

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
        self.text = text
        self.source_file = source_file
        self.options = options
        self._lines: list[str] | None = None
        self._row_lines: list[str] = []
        self.too_wide: int | None = None
        self._row_span = (0, 0)

    def outcomes(self) -> list[ParseOutcome]:
        options = self.options
        reader = csv.reader(self._read_lines(), delimiter=options.delimiter, quotechar=options.quotechar)
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
        if header is None and self.too_wide is not None:
            return [*outcomes, self._rest(self.too_wide)]
        if header is None:
            reason = f"no header row: the file has fewer than {options.header_row} row(s)"
            return [*outcomes, Quarantined(self.source_file, self.source_file, reason, raw_text(self.text.encode()))]
        if len(header) > MAX_CSV_COLUMNS:
            reason = (
                f"header has {len(header)} columns, more than {MAX_CSV_COLUMNS} columns: the file is not read;"
                " deliver fewer columns"
            )
            return [*outcomes, Quarantined(self.source_file, self.source_file, reason, raw_text(self.text.encode()))]
        keys = _record_keys(header)
        lookup = _header_lookup(keys)
        mapping, missing = _mapping(options, lookup)
        refused = _header_problem(keys, missing)
        if refused:
            for item in rows:
                if isinstance(item, Quarantined):
                    outcomes.append(item)
                else:
                    outcomes.append(self._quarantine(item[0], item[1], refused))
            if not outcomes:
                outcomes.append(Quarantined(self.source_file, self.source_file, refused, self.text[:10_000]))
            return outcomes
        converter, indexes, pick = _converter(mapping, lookup, options)
        width = len(keys)
        has_nul = "\x00" in self.text
        limit = len(outcomes) + MAX_RECORDS_PER_FILE
        for item in rows:
            if len(outcomes) >= limit:
                outcomes.append(self._rest(item))
                break
            if isinstance(item, Quarantined):
                outcomes.append(item)
                continue
            first, last, row = item
            if has_nul:  # a value's NUL is stored as U+FFFD (PostgreSQL text cannot hold NUL; see the README)
                row = [value.replace("\x00", "\ufffd") for value in row]
            if len(row) != width:
                reason = f"row has {len(row)} fields, the header has {width}"
                outcomes.append(self._quarantine(first, last, reason))
                continue
            outcomes.append(self.row_outcome(converter, keys, pick, first, last, row))
        if self.too_wide is not None and len(outcomes) < limit:
            outcomes.append(self._rest(self.too_wide))
        return outcomes

    def row_outcome(
        self,
        converter: TitleConverter,
        keys: list[str],
        pick: Callable[[list[str]], Any],
        first: int,
        last: int,
        row: list[str],
    ) -> ParseOutcome:
        """One data row (physical lines first..last) as a record, or quarantined with every reason."""
        try:
            columns = converter.columns(pick(row))
        except Rejected as err:
            return self._quarantine(first, last, str(err))
        record, record_hash = json_record(JsonRecord(zip(keys, row, strict=True)))
        columns["record"] = record
        return ParsedRecord(self.source_file, f"{self.source_file}:line {first}", record_hash, columns)

    def _read_lines(self) -> Iterator[str]:
        """The text's lines one by one (see _lines), each also kept in _row_lines until the next row starts.

        A line with more than MAX_CSV_COLUMNS fields ends the reading (the csv module would build all of them):
        `too_wide` is then its number, and the file from there on is one quarantine row."""
        delimiter, quotechar = self.options.delimiter, self.options.quotechar
        for number, line in enumerate(_lines(self.text), start=1):
            if line.count(delimiter) >= MAX_CSV_COLUMNS and _fields_at_least(line, delimiter, quotechar):
                self.too_wide = number
                return
            self._row_lines.append(line)
            yield line

    def _rows(self, reader: Any) -> Any:
        """(first line, last line, fields) per non-blank row; a row the csv module rejects becomes Quarantined."""
        last = 0
        while True:
            self._row_lines = []
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                first, last = last + 1, max(reader.line_num, last + 1)
                self._row_span = (first, last)
                reason = f"unreadable CSV row: {err}"
                if "field limit" in str(err):
                    reason = f"field too long: a field holds more characters than the limit {MAX_FIELD_CHARS}"
                yield self._quarantine(first, last, reason)
                continue
            first, last = last + 1, reader.line_num
            self._row_span = (first, last)
            if not row:
                continue
            longest = max(row, key=len)
            if len(longest) > MAX_FIELD_CHARS:
                number = row.index(longest) + 1
                reason = f"field too long: column {number} has {len(longest)} characters, limit {MAX_FIELD_CHARS}"
                yield self._quarantine(first, last, reason)
                continue
            yield first, last, row

    def _rest(self, item: Any) -> Quarantined:
        """The file from this row (or line number) on, as one quarantine row: the file has more rows than
        MAX_RECORDS_PER_FILE, or this line more fields than MAX_CSV_COLUMNS."""
        if isinstance(item, int):
            first = item
            reason = (
                f"line {first} has more than {MAX_CSV_COLUMNS} columns (fields), the limit: the file from this line"
                " on was not read"
            )
        else:
            first = item[0] if isinstance(item, tuple) else int(item.source_location.rsplit(" ", 1)[-1])
            reason = (
                f"file has more than {MAX_RECORDS_PER_FILE} rows: rows from line {first} on were not read;"
                " deliver smaller files"
            )
        offset = _line_offset(self.text, first)
        rest = raw_text(self.text[offset : offset + MAX_RAW_RECORD_CHARS + 1].encode("utf-8", "surrogatepass"))
        return Quarantined(self.source_file, f"{self.source_file}:line {first}", reason, rest)

    def _quarantine(self, first: int, last: int, reason: str) -> Quarantined:
        if (first, last) == self._row_span:  # the row just read: its lines are at hand
            raw = "".join(self._row_lines)
            return Quarantined(self.source_file, f"{self.source_file}:line {first}", reason, raw)
        if self._lines is None:
            self._lines = io.StringIO(self.text, newline="").readlines()
        raw = "".join(self._lines[first - 1 : last])
        return Quarantined(self.source_file, f"{self.source_file}:line {first}", reason, raw)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def _lines(text: str) -> Any:
    """The lines of the text with their line ends, as io.StringIO(text, newline="") reads them, one at a time (a
    StringIO holds a second, up to four times larger, copy of the text)."""
    return (match.group() for match in _LINE.finditer(text))


def _fields_at_least(line: str, delimiter: str, quotechar: str) -> bool:
    """Whether a line holds more than MAX_CSV_COLUMNS fields: its delimiters outside quoted values (a value
    spanning lines counts as if it ended with the line, which can only count fewer)."""
    outside = re.sub(f"{re.escape(quotechar)}[^{re.escape(quotechar)}]*{re.escape(quotechar)}", "", line)
    return outside.count(delimiter) >= MAX_CSV_COLUMNS


def _line_offset(text: str, number: int) -> int:
    """Where line `number` (from 1, as _lines counts) starts in the text."""
    offset = 0
    for _, match in zip(range(number - 1), _LINE.finditer(text), strict=False):
        offset = match.end()
    return offset


def _header_problem(keys: list[str], missing: Mapping[str, str]) -> str | None:
    """Why no row of a file with this header can be loaded (a field name holding NUL, mapped headers missing), or
    None. A NUL is never changed into another character: the rows are quarantined as delivered."""
    with_nul = [str(index + 1) for index, key in enumerate(keys) if "\x00" in key]
    if with_nul:
        return (
            f"NUL character in the field name of header column(s) {', '.join(with_nul)}: PostgreSQL cannot store it"
            " and it is not replaced; the rows are quarantined as delivered"
        )
    if missing:
        names = ", ".join(f"{s!r} (mapped to {n})" for n, s in missing.items())
        return f"header(s) missing from the file: {names}; the header row has {keys}"
    return None


def _mapping(options: CsvOptions, lookup: Mapping[str, int]) -> tuple[dict[str, str], dict[str, str]]:
    """(canonical name -> header name, the mapped names whose header is missing) for this file's header."""
    mapping = dict(options.columns)
    if not options.explicit_columns:
        mapping = {n: s for n, s in mapping.items() if n in REQUIRED_COLUMNS or s.lower() in lookup}
    missing = {name: source for name, source in mapping.items() if source.strip().lower() not in lookup}
    return mapping, missing


def _converter(
    mapping: Mapping[str, str], lookup: Mapping[str, int], options: CsvOptions
) -> tuple[TitleConverter, tuple[int, ...], Callable[[list[str]], Any]]:
    """The file's TitleConverter, the column index of each of its names, and a function picking those values."""
    converter = TitleConverter(mapping, options.date_format, options.timestamp_format)
    indexes = tuple(lookup[mapping[name].strip().lower()] for name in converter.names)
    pick = itemgetter(*indexes) if len(indexes) > 1 else (lambda row: (row[indexes[0]],))
    return converter, indexes, pick


def _record_keys(header: list[str]) -> list[str]:
    """The header names as record keys, stripped; a repeated name gets ' (2)', ' (3)'... (the first number no
    other column has), so every key is different and no value is lost."""
    keys: list[str] = []
    taken: set[str] = set()
    for name in header:
        key = candidate = name.strip()
        number = 1
        while candidate in taken:
            number += 1
            candidate = f"{key} ({number})"
        taken.add(candidate)
        keys.append(candidate)
    return keys


def _header_lookup(keys: list[str]) -> dict[str, int]:
    """Header name (case-insensitive) -> its first column index."""
    lookup: dict[str, int] = {}
    for index, key in enumerate(keys):
        lookup.setdefault(key.lower(), index)
    return lookup


DDL = title_table_ddl("csv_titles")


def parse_csv_columnar(
    data: bytes, source_file: str, options: Mapping[str, Any] | None = None
) -> Sequence[ParseResult]:
    """parse_csv_records' outcomes, most rows parsed column-wise into one RecordBlock (see titles_columnar).

    A file the column-wise reader cannot take with certainty (another encoding, NUL bytes, a header row other than
    the first, quotes in the header, blank lines, values spanning lines, a ragged row) is parsed row by row.
    """
    try:
        block = _columnar(data, source_file, options)
    except Exception:  # noqa: BLE001 - the row parser is the reference and gives the exact outcome
        block = None
    return block if block is not None else parse_csv_records(data, source_file, options)


def _columnar(data: bytes, source_file: str, options: Mapping[str, Any] | None) -> list[ParseResult] | None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    from ingest.parse.formats import titles_columnar as tc

    try:
        parsed = CsvOptions.from_options(options)
    except OptionsError:
        return None
    if parsed.codec != "utf-8-sig" or parsed.header_row != 1 or len(data) > MAX_FILE_BYTES or b"\x00" in data:
        return None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return None
    header_end = data.find(b"\n")
    header_line = data[: header_end if header_end >= 0 else len(data)].decode("utf-8").rstrip("\r")
    if not header_line or parsed.quotechar in header_line or header_line.count(parsed.delimiter) >= MAX_CSV_COLUMNS:
        return None
    header = next(csv.reader([header_line], delimiter=parsed.delimiter, quotechar=parsed.quotechar))
    keys = _record_keys(header)
    lookup = _header_lookup(keys)
    mapping, missing = _mapping(parsed, lookup)
    if missing:
        return None
    names = [f"c{index}" for index in range(len(keys))]
    table = pa_csv.read_csv(
        pa.py_buffer(data),
        read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1),
        parse_options=pa_csv.ParseOptions(
            delimiter=parsed.delimiter, quote_char=parsed.quotechar, double_quote=True, escape_char=False,
            newlines_in_values=True, ignore_empty_lines=True,
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )  # fmt: skip
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if not 0 < table.num_rows <= MAX_RECORDS_PER_FILE or lines != table.num_rows + 1:  # one line a row, none blank
        return None
    columns = [table.column(index).combine_chunks() for index in range(len(keys))]
    if len(data) > MAX_FIELD_CHARS and any(pc.max(pc.binary_length(c)).as_py() > MAX_FIELD_CHARS for c in columns):
        return None  # a field may be over the limit (bytes >= characters): the row parser quarantines its row
    converter, indexes, pick = _converter(mapping, lookup, parsed)
    plain = tc.plain_text(data)
    titles = tc.convert(converter, dict(zip(converter.names, (columns[i] for i in indexes), strict=True)), not plain)
    slow = titles.slow if plain else titles.slow | ~tc.plain_rows(columns)
    fast = np.flatnonzero(~slow)
    picked = pa.array(fast, pa.int64())
    parts: list[Any] = []
    for index, (key, column) in enumerate(zip(keys, columns, strict=True)):
        parts.append(("{" if index == 0 else '",') + encode_json(key).decode("utf-8") + ':"')  # as json_record does
        parts.append(tc.json_string_values(column.take(picked)))
    record_json = pc.binary_join_element_wise(*parts, '"}', "")
    line_numbers = pa.array(fast + 2, pa.int64()).cast(pa.string())
    locations = pc.binary_join_element_wise(f"{source_file}:line ", line_numbers, "")
    results: list[ParseResult] = []
    if len(fast):
        results.append(tc.title_block(source_file, titles, fast, locations, record_json))
    slow_rows = np.flatnonzero(slow)
    if len(slow_rows):
        reader = _CsvFile(data.decode("utf-8"), source_file, parsed)
        taken = [column.take(pa.array(slow_rows, pa.int64())).to_pylist() for column in columns]
        for number, row in zip(slow_rows + 2, zip(*taken, strict=True), strict=True):
            results.append(reader.row_outcome(converter, keys, pick, int(number), int(number), list(row)))
    return results


def parse_csv_files(
    files: Sequence[tuple[bytes, str]], options: Mapping[str, Any] | None = None
) -> list[Sequence[ParseResult]]:
    """parse_csv_columnar for several files, one outcome list per file (each file has its own header)."""
    return [parse_csv_columnar(data, source_file, options) for data, source_file in files]


FORMAT = FormatSpec(
    "csv", "csv_titles", TITLE_COLUMNS, parse_csv_records, DDL, parse_csv_files, in_processes=False,
    version_key=("provider_asset_id",),
)  # fmt: skip
