"""JSON title lists (an API page or a file, or JSON Lines): each item becomes the canonical title columns."""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from ingest.formats.safe_xml import MAX_FILE_BYTES, raw_text
from ingest.formats.titles_common import (
    MAPPABLE_COLUMNS,
    OptionsError,
    TitleConverter,
    TitleRejected,
    json_record,
    mapping_option,
    strptime_option,
    title_table_ddl,
)
from ingest.models import ParsedRecord, ParseOutcome, ParseResult, Quarantined

OPTION_KEYS = ("items_field", "json_lines", "fields", "encoding", "date_format", "timestamp_format")
DEFAULT_ITEMS_FIELD = "items"
MAX_RAW_ITEM_CHARS = 100_000


@dataclass(frozen=True)
class JsonOptions:
    """The `--format-options` of the json format, validated; an unusable value raises OptionsError saying which.

    items_field is a dotted path (`data.results`); None means the document itself when it is a list, else `items`.
    A field name in `fields` may also be a dotted path into nested objects (`series.title`).
    """

    fields: Mapping[str, str]
    items_field: str | None = None
    json_lines: bool = False
    encoding: str = "utf-8"
    date_format: str | None = None
    timestamp_format: str | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> JsonOptions:
        """Validate the provider's options; unknown keys are errors so a typo is not silently ignored."""
        options = options or {}
        unknown = sorted(set(options) - set(OPTION_KEYS))
        if unknown:
            raise OptionsError(f"unknown option(s) {unknown}; expected some of {list(OPTION_KEYS)}")
        items_field = options.get("items_field")
        if items_field is not None and (not isinstance(items_field, str) or not items_field.strip(".")):
            raise OptionsError(f"items_field must be a field name or dotted path, got {items_field!r}")
        json_lines = options.get("json_lines", False)
        if not isinstance(json_lines, bool):
            raise OptionsError(f"json_lines must be true or false, got {json_lines!r}")
        encoding = options.get("encoding", "utf-8")
        try:
            codecs.lookup(encoding)
        except (LookupError, TypeError):
            raise OptionsError(f"unknown encoding {encoding!r}") from None
        return cls(
            fields=mapping_option(options, "fields"),
            items_field=items_field,
            json_lines=json_lines,
            encoding=encoding,
            date_format=strptime_option(options, "date_format"),
            timestamp_format=strptime_option(options, "timestamp_format"),
        )


def parse_json_records(data: bytes, source_file: str, options: Mapping[str, Any] | None = None) -> list[ParseOutcome]:
    """The FormatSpec entry point: one outcome per item (`file#/items/17`, JSON Lines `file:line N`); never raises."""
    try:
        parsed = JsonOptions.from_options(options)
    except OptionsError as err:
        return [Quarantined(source_file, source_file, f"invalid json format options: {err}", raw_text(data))]
    if len(data) > MAX_FILE_BYTES:
        reason = f"file too large: more than {MAX_FILE_BYTES} bytes; deliver it in smaller files"
        return [Quarantined(source_file, source_file, reason, raw_text(data))]
    codec = "utf-8-sig" if codecs.lookup(parsed.encoding).name == "utf-8" else parsed.encoding
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        reason = f"not valid {parsed.encoding} text: {err.reason} at byte {err.start}"
        return [Quarantined(source_file, f"{source_file}:line {line}", reason, raw_text(data))]
    try:
        return _JsonFile(text, source_file, parsed).outcomes()
    except Exception as err:  # a single file must never abort the batch
        reason = f"unexpected parser error: {type(err).__name__}: {err}"
        return [Quarantined(source_file, source_file, reason, raw_text(data))]


class _JsonFile:
    """One decoded document or JSON Lines file, turned into outcomes item by item."""

    def __init__(self, text: str, source_file: str, options: JsonOptions):
        self.text = text
        self.source_file = source_file
        self.options = options
        self.converter = TitleConverter(options.fields, options.date_format, options.timestamp_format)
        self.keys = tuple(options.fields[name] for name in self.converter.names)
        nested = any("." in key for key in self.keys)
        self.paths = tuple(key.split(".") for key in self.keys) if nested else None

    def outcomes(self) -> list[ParseOutcome]:
        if self.options.json_lines:
            return self._lines()
        try:
            document = json.loads(self.text)
        except json.JSONDecodeError as err:
            location = f"{self.source_file}:line {err.lineno}"
            reason = f"malformed JSON: {err.msg}: line {err.lineno}, column {err.colno}"
            return [Quarantined(self.source_file, location, reason, raw_text(self.text.encode("utf-8", "replace")))]
        except RecursionError:
            reason = "malformed JSON: nested too deeply"
            return [Quarantined(self.source_file, self.source_file, reason, raw_text(self.text.encode()))]
        items, pointer = self._items(document)
        if isinstance(items, str):
            return [Quarantined(self.source_file, self.source_file, items, raw_text(self.text.encode()))]
        prefix = f"{self.source_file}#{pointer}/"
        return [self._outcome(item, prefix + str(index)) for index, item in enumerate(items)]

    def _items(self, document: Any) -> tuple[list[Any] | str, str]:
        """The item list and its JSON pointer, or a reason why the document holds none."""
        path = self.options.items_field
        if path is None:
            if isinstance(document, list):
                return document, ""
            path = DEFAULT_ITEMS_FIELD
        node = document
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                keys = sorted(node)[:20] if isinstance(node, dict) else type(node).__name__
                return f"no item list at {path!r} in the document (found {keys})", ""
            node = node[part]
        if not isinstance(node, list):
            return f"{path!r} is not a list of items", ""
        return node, "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path.split("."))

    def _lines(self) -> list[ParseOutcome]:
        outcomes: list[ParseOutcome] = []
        prefix = f"{self.source_file}:line "
        for number, line in enumerate(self.text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as err:
                reason = f"malformed JSON: {getattr(err, 'msg', err)}"
                outcomes.append(Quarantined(self.source_file, prefix + str(number), reason, line))
                continue
            outcomes.append(self._outcome(item, prefix + str(number)))
        return outcomes

    def _outcome(self, item: Any, location: str) -> ParseOutcome:
        if not isinstance(item, dict):
            return self._quarantine(item, location, f"item is not a JSON object but {type(item).__name__}")
        get = item.get
        values = [get(key) for key in self.keys] if self.paths is None else [_lookup(item, p) for p in self.paths]
        try:
            columns = self.converter.columns(values)
            record, record_hash = json_record(item)
        except TitleRejected as err:
            return self._quarantine(item, location, str(err))
        except UnicodeEncodeError:
            return self._quarantine(item, location, "invalid Unicode: a lone surrogate escape (\\ud800-\\udfff)")
        columns["record"] = record
        return ParsedRecord(self.source_file, location, record_hash, columns)

    def _quarantine(self, item: Any, location: str, reason: str) -> Quarantined:
        raw = json.dumps(item, ensure_ascii=True)
        if len(raw) > MAX_RAW_ITEM_CHARS:
            raw = raw[:MAX_RAW_ITEM_CHARS] + f"\n[truncated: item has more than {MAX_RAW_ITEM_CHARS} characters]"
        return Quarantined(self.source_file, location, reason, raw)


def _lookup(item: dict[str, Any], path: list[str]) -> Any:
    """The value at a field name, or at a dotted path of nested objects when the name itself is absent."""
    if len(path) == 1:
        return item.get(path[0])
    joined = ".".join(path)
    if joined in item:
        return item[joined]
    node: Any = item
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


DDL = title_table_ddl("json_titles")


def parse_json_columnar(data: bytes, source_file: str, options: Mapping[str, Any] | None = None) -> list[ParseResult]:
    """parse_json_records' outcomes, most items parsed column-wise into one RecordBlock (see titles_columnar).

    A document the column-wise reader cannot take with certainty (JSON Lines, another encoding, dotted field paths,
    values of unexpected JSON types, NaN, huge integers, malformed JSON) is parsed item by item.
    """
    try:
        block = _columnar(data, source_file, options)
    except Exception:  # noqa: BLE001 - the item parser is the reference and gives the exact outcome
        block = None
    return block if block is not None else parse_json_records(data, source_file, options)


_LIST_COLUMNS = {"genres": ", ", "directors": "; "}
_INT_COLUMNS = ("season_number", "episode_number", "release_year", "runtime_minutes")


def _columnar(data: bytes, source_file: str, options: Mapping[str, Any] | None) -> list[ParseResult] | None:
    import msgspec
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from ingest.formats import titles_columnar as tc

    try:
        parsed = JsonOptions.from_options(options)
    except OptionsError:
        return None
    if parsed.json_lines or codecs.lookup(parsed.encoding).name != "utf-8" or len(data) > MAX_FILE_BYTES:
        return None
    reader = _JsonFile("", source_file, parsed)
    if reader.paths is not None:
        return None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    document = msgspec.json.decode(data)
    items, pointer = reader._items(document)
    if isinstance(items, str) or not items or not all(type(item) is dict for item in items):
        return None
    converter = reader.converter
    item_type = msgspec.defstruct(
        "Item", [(f"f{index}", _JSON_TYPES[name], msgspec.field(name=key, default=None))
                 for index, (name, key) in enumerate(zip(converter.names, reader.keys, strict=True))],
    )  # fmt: skip
    rows = msgspec.convert(items, list[item_type])  # raises for a value of another JSON type: item by item then
    columns = list(zip(*map(msgspec.structs.astuple, rows), strict=True))
    values: dict[str, pa.Array] = {}
    unsure = np.zeros(len(items), dtype=bool)
    for name, column in zip(converter.names, columns, strict=True):
        if name in _LIST_COLUMNS:
            values[name], odd = _joined(column, _LIST_COLUMNS[name])
            unsure |= odd
        elif name in _INT_COLUMNS:
            values[name] = _integers(column)
        else:
            values[name] = pa.array(column, pa.string())
    titles = tc.convert(converter, values, check_values=True)
    slow = titles.slow | unsure
    fast = np.flatnonzero(~slow)
    encode = msgspec.json.encode
    texts, hashes = [], []
    for index in fast.tolist():
        encoded = encode(items[index])
        if b"\\u0000" in encoded:  # jsonb's NUL rule, as json_record applies it
            record, record_hash = json_record(items[index])
            texts.append(record.json_text)
            hashes.append(record_hash)
            continue
        texts.append(encoded.decode("utf-8"))
        hashes.append(sha256(encoded).hexdigest())
    results: list[ParseResult] = []
    if len(fast):
        indexes = pa.array(fast, pa.int64()).cast(pa.string())
        locations = pc.binary_join_element_wise(f"{source_file}#{pointer}/", indexes, "")
        block = tc.title_block(source_file, titles, fast, locations, pa.array(texts, pa.string()), hashes)
        results.append(block)
    prefix = f"{source_file}#{pointer}/"
    results.extend(reader._outcome(items[index], prefix + str(index)) for index in np.flatnonzero(slow).tolist())
    return results


def _json_types() -> dict[str, Any]:
    return {
        **{name: str | None for name in MAPPABLE_COLUMNS},
        **{name: int | str | None for name in _INT_COLUMNS},
        **{name: list[str] | str | None for name in _LIST_COLUMNS},
    }


_JSON_TYPES = _json_types()


def _integers(column: tuple[Any, ...]) -> Any:
    """JSON integers (and strings) as the text TitleConverter reads an integer from: str(value)."""
    import pyarrow as pa

    if all(type(value) is not str for value in column):
        return pa.array(column, pa.int64()).cast(pa.string())
    return pa.array([value if type(value) is not int else str(value) for value in column], pa.string())


def _joined(column: tuple[Any, ...], separator: str) -> tuple[Any, Any]:
    """(lists of texts joined as TitleConverter joins them: items stripped, empty ones dropped; rows whose items need
    more than space trimming, which are uncertain)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from ingest.formats import titles_columnar as tc

    if any(type(value) is str for value in column):  # texts and lists mixed: join in Python
        joined = [
            value if type(value) is not list else separator.join(p for p in map(str.strip, value) if p) or None
            for value in column
        ]
        return pa.array(joined, pa.string()), np.zeros(len(column), dtype=bool)
    lists = pa.array(column, pa.list_(pa.string()))
    items = pc.list_flatten(lists)
    owners = pc.list_parent_indices(lists).to_numpy()
    odd = np.zeros(len(column), dtype=bool)
    odd[owners[tc.odd_values(items)]] = True
    trimmed = pc.utf8_trim(items, characters=" ")
    keep = pc.not_equal(trimmed, "").to_numpy(zero_copy_only=False)
    counts = np.bincount(owners[keep], minlength=len(column))
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]), pa.int32())
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, trimmed.filter(pa.array(keep))), separator)
    return pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), joined), odd
