"""JSON title lists (an API page or a file, or JSON Lines): each item becomes the canonical title columns."""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ingest.formats.safe_xml import MAX_FILE_BYTES, raw_text
from ingest.formats.titles_common import (
    OptionsError,
    TitleConverter,
    TitleRejected,
    json_record,
    mapping_option,
    strptime_option,
    title_table_ddl,
)
from ingest.models import ParsedRecord, ParseOutcome, Quarantined

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
