"""JSON title lists (an API page or a file, or JSON Lines): each item becomes the canonical title columns."""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from ingest.limits import (
    MAX_FIELD_CHARS,
    MAX_FILE_BYTES,
    MAX_JSON_CONTAINERS,
    MAX_JSON_DEPTH,
    MAX_RAW_ITEM_CHARS,
    MAX_RECORDS_PER_FILE,
)
from ingest.models import ParsedRecord, ParseOutcome, ParseResult, Quarantined, Rejected
from ingest.parse.formats.spec import FormatSpec
from ingest.parse.formats.titles_common import (
    INTEGER_COLUMNS,
    LIST_SEPARATORS,
    TITLE_COLUMNS,
    OptionsError,
    TitleConverter,
    delivered_json_record,
    json_record,
    mapping_option,
    strptime_option,
    title_table_ddl,
)
from ingest.record_text import raw_text

OPTION_KEYS = ("items_field", "json_lines", "fields", "encoding", "date_format", "timestamp_format")
DEFAULT_ITEMS_FIELD = "items"


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
    containers = data.count(b"{") + data.count(b"[")  # an upper bound: brackets inside strings count too
    if containers > MAX_JSON_CONTAINERS:
        reason = (
            f"too many objects and lists: more than {MAX_JSON_CONTAINERS} in one file (building them would take"
            " too much memory); deliver smaller files"
        )
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


TOO_DEEP = f"malformed JSON: nested more than {MAX_JSON_DEPTH} levels deep"
_DEEP = object()


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether objects and lists nest more than `limit` levels (checked without recursion). A fixed limit, below
    the one json.loads meets (Python's recursion limit, which depends on the call stack), so that every parser
    refuses the same documents."""
    stack = [(value, 1)] if type(value) in (dict, list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if type(node) is dict else node:
            if type(child) in (dict, list):
                stack.append((child, depth + 1))
    return False


def field_problem(item: Any) -> str | None:
    """Why an item cannot be loaded as delivered, or None: a string or field name longer than MAX_FIELD_CHARS (the
    limit every format shares), or a field name holding NUL, which PostgreSQL cannot store (it is not replaced by
    another character: the item is quarantined as delivered). The reason names the field by its JSON pointer."""
    stack: list[tuple[Any, str]] = [(item, "")]
    while stack:
        node, pointer = stack.pop()
        if type(node) is dict:
            for key, value in node.items():
                here = f"{pointer}/{_pointer_part(key)}"
                if len(key) > MAX_FIELD_CHARS:
                    return f"field too long: a field name has {len(key)} characters, limit {MAX_FIELD_CHARS}"
                if "\x00" in key:
                    return (
                        f"NUL character in the field name {here!r}: PostgreSQL cannot store it and it is not"
                        " replaced; the item is quarantined as delivered"
                    )
                stack.append((value, here))
        elif type(node) is list:
            stack.extend((value, f"{pointer}/{index}") for index, value in enumerate(node))
        elif type(node) is str and len(node) > MAX_FIELD_CHARS:
            return f"field too long: {pointer or '/'} has {len(node)} characters, limit {MAX_FIELD_CHARS}"
    return None


def _pointer_part(key: str) -> str:
    shown = key.replace("~", "~0").replace("/", "~1").replace("\x00", "\\u0000")
    return shown if len(shown) <= 80 else shown[:80] + "..."


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
            document = _DEEP
        if document is _DEEP or too_deep(document):
            return [Quarantined(self.source_file, self.source_file, TOO_DEEP, raw_text(self.text.encode()))]
        items, pointer = self._items(document)
        if isinstance(items, str):
            return [Quarantined(self.source_file, self.source_file, items, raw_text(self.text.encode()))]
        prefix = f"{self.source_file}#{pointer}/"
        delivered = delivered_items(self.text.encode("utf-8"), self.options.items_field)
        texts: Sequence[bytes | None] = (
            [None] * len(items) if delivered is None or len(delivered[0]) != len(items) else delivered[0]
        )
        outcomes = [self._outcome(items[index], prefix + str(index), texts[index])
                    for index in range(min(len(items), MAX_RECORDS_PER_FILE))]  # fmt: skip
        if len(items) > MAX_RECORDS_PER_FILE:
            reason = (
                f"file has {len(items)} items, more than {MAX_RECORDS_PER_FILE}: items from"
                f" {pointer}/{MAX_RECORDS_PER_FILE} on were not read; deliver smaller files"
            )
            location = f"{prefix}{MAX_RECORDS_PER_FILE}"
            outcomes.append(Quarantined(self.source_file, location, reason, raw_text(self.text.encode("utf-8"))))
        return outcomes

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
        return node, _pointer(path.split("."))

    def _lines(self) -> list[ParseOutcome]:
        outcomes: list[ParseOutcome] = []
        prefix = f"{self.source_file}:line "
        for number, line in enumerate(self.text.split("\n"), start=1):
            if not line.strip():
                continue
            if len(outcomes) >= MAX_RECORDS_PER_FILE:
                reason = (
                    f"file has more than {MAX_RECORDS_PER_FILE} lines of JSON: lines from {number} on were not read;"
                    " deliver smaller files"
                )
                rest = "\n".join(self.text.split("\n", number)[-1:])
                outcomes.append(Quarantined(self.source_file, prefix + str(number), reason, raw_text(rest.encode())))
                break
            try:
                item = json.loads(line)
            except json.JSONDecodeError as err:
                outcomes.append(Quarantined(self.source_file, prefix + str(number), f"malformed JSON: {err.msg}", line))
                continue
            except RecursionError:
                item = _DEEP
            if item is _DEEP or too_deep(item):
                outcomes.append(Quarantined(self.source_file, prefix + str(number), TOO_DEEP, line))
                continue
            outcomes.append(self._outcome(item, prefix + str(number), line.strip(_JSON_SPACE)))
        return outcomes

    def _outcome(self, item: Any, location: str, delivered: bytes | str | None = None) -> ParseOutcome:
        """The item's outcome; its record is the text it was `delivered` as, or a re-encoding when that is not known
        (a document only Python's json module reads, e.g. with NaN)."""
        if not isinstance(item, dict):
            return self._quarantine(item, location, f"item is not a JSON object but {type(item).__name__}")
        problem = field_problem(item)
        if problem is not None:
            return self._quarantine(item, location, problem)
        get = item.get
        values = [get(key) for key in self.keys] if self.paths is None else [_lookup(item, p) for p in self.paths]
        try:
            columns = self.converter.columns(values)
            if delivered is None:
                record, record_hash = json_record(item)
            else:
                text = delivered if isinstance(delivered, str) else delivered.decode("utf-8")
                record, record_hash = delivered_json_record(item, text)
        except Rejected as err:
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


_JSON_SPACE = " \t\r\n"


def delivered_items(data: bytes, items_field: str | None) -> tuple[list[bytes], str] | None:
    """(each item's text as delivered, from its first to its last character; the item list's JSON pointer) of a
    UTF-8 document, found as _JsonFile._items finds the list; None when msgspec cannot read the document (NaN, a
    lone surrogate...) or the path holds no list. Only the path is decoded: the items are checked and sliced, not
    built."""
    try:
        import msgspec
    except ImportError:  # pragma: no cover - pinned in requirements.txt; without it items are stored re-encoded
        return None
    list_or_object = list[msgspec.Raw] | dict[str, msgspec.Raw]
    try:
        node = msgspec.json.decode(data, type=list_or_object)
        if items_field is None and isinstance(node, list):
            return [bytes(item) for item in node], ""
        path = (items_field or DEFAULT_ITEMS_FIELD).split(".")
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return None
            node = msgspec.json.decode(node[part], type=list_or_object)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if not isinstance(node, list):
        return None
    return [bytes(item) for item in node], _pointer(path)


def _pointer(path: Sequence[str]) -> str:
    """The JSON pointer (RFC 6901) of a path of object keys."""
    return "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in path)


DDL = title_table_ddl("json_titles")


def parse_json_columnar(
    data: bytes, source_file: str, options: Mapping[str, Any] | None = None
) -> Sequence[ParseResult]:
    """parse_json_records' outcomes, most items parsed column-wise into one RecordBlock (see titles_columnar)."""
    return parse_json_files([(data, source_file)], options)[0]


def parse_json_files(
    files: Sequence[tuple[bytes, str]], options: Mapping[str, Any] | None = None
) -> list[Sequence[ParseResult]]:
    """parse_json_columnar for several files (API pages) at once, one outcome list per file: their items are
    converted together, because converting a column costs about the same for a thousand values as for twenty
    thousand.

    Each item is sliced out of its page as delivered (msgspec, without building it): that text is its record. The
    mapped fields are read by pyarrow's JSON reader when every one holds its column's JSON type, else from the items
    decoded one by one. A document the column-wise reader cannot take with certainty (JSON Lines, another encoding,
    dotted field paths, NaN, malformed JSON, items that are not objects) is parsed item by item; so is an item
    holding a value of an unexpected JSON type or a NUL or surrogate escape.
    """
    results: list[Sequence[ParseResult] | None] = [None] * len(files)
    documents: list[_Document] = []
    for index, (data, source_file) in enumerate(files):
        try:
            document = _document(index, data, source_file, options)
        except Exception:  # noqa: BLE001 - the item parser is the reference and gives the exact outcome
            document = None
        if document is None:
            results[index] = parse_json_records(data, source_file, options)
        else:
            documents.append(document)
    if documents:
        converted: Mapping[int, Sequence[ParseResult]]
        try:
            converted = _convert_together(documents)
        except Exception:  # noqa: BLE001 - as above
            converted = {d.index: parse_json_records(*files[d.index], options) for d in documents}
        for index, outcomes in converted.items():
            results[index] = outcomes
    return [outcomes or [] for outcomes in results]


@dataclass
class _Document:
    """A document the column-wise reader takes: its items' delivered texts (all objects) and where they came from."""

    index: int
    source_file: str
    reader: _JsonFile
    texts: list[bytes]
    pointer: str
    _items: list[Any] | None = None

    @property
    def items(self) -> list[dict[str, Any]]:
        """The items decoded (by json.loads, as the item parser decodes them), on first use."""
        if self._items is None:
            self._items = [json.loads(text) for text in self.texts]
        return self._items


def _document(index: int, data: bytes, source_file: str, options: Mapping[str, Any] | None) -> _Document | None:
    try:
        parsed = JsonOptions.from_options(options)
    except OptionsError:
        return None
    if parsed.json_lines or codecs.lookup(parsed.encoding).name != "utf-8" or len(data) > MAX_FILE_BYTES:
        return None
    if data.count(b"{") + data.count(b"[") > MAX_JSON_CONTAINERS:
        return None
    reader = _JsonFile("", source_file, parsed)
    if reader.paths is not None:
        return None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    delivered = delivered_items(data, parsed.items_field)
    if delivered is None or not delivered[0]:
        return None
    texts, pointer = delivered
    if len(texts) > MAX_RECORDS_PER_FILE or not all(text[:1] == b"{" for text in texts):
        return None
    if _max_brackets(texts) > MAX_JSON_DEPTH - 2 - len(pointer.split("/")) and too_deep(json.loads(data)):
        return None  # an item holds no more levels than it has brackets, the document one more per path step
    return _Document(index, source_file, reader, texts, pointer)


def _max_brackets(texts: list[bytes]) -> int:
    """The most opening brackets ({ and [) in one text (bytes.count beat pyarrow's count_substring here)."""
    return max(text.count(b"{") + text.count(b"[") for text in texts)


def _convert_together(documents: list[_Document]) -> dict[int, list[ParseResult]]:
    """Every document's outcomes (by document index), the items of all converted in one go."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from ingest.parse.formats import titles_columnar as tc

    reader = documents[0].reader  # the same options for every document, so the same converter and keys
    texts = [text for document in documents for text in document.texts]
    values, unsure = _arrow_values(reader, texts) or _python_values(reader, documents)
    titles = tc.convert(reader.converter, values, check_values=True)
    record_json = pa.array(texts, pa.binary())
    # a NUL or a surrogate escape: the item parser writes the record as jsonb can hold it, or refuses it
    escapes = pc.match_substring_regex(record_json, r"\\u(0000|[dD][89a-fA-F])")
    long = np.array([len(text) > MAX_FIELD_CHARS for text in texts], dtype=bool)  # may hold a field over the limit
    slow = titles.slow | unsure | escapes.to_numpy(zero_copy_only=False) | long
    results: dict[int, list[ParseResult]] = {}
    start = 0
    for document in documents:
        end = start + len(document.texts)
        fast = np.flatnonzero(~slow[start:end])
        prefix = f"{document.source_file}#{document.pointer}/"
        outcomes: list[ParseResult] = []
        if len(fast):
            rows = pa.array(fast + start, pa.int64())
            locations = pc.binary_join_element_wise(prefix, pa.array(fast, pa.int64()).cast(pa.string()), "")
            hashes = [sha256(document.texts[local]).hexdigest() for local in fast.tolist()]
            block_json = record_json.take(rows).cast(pa.string())
            outcomes.append(tc.title_block(document.source_file, titles, fast + start, locations, block_json, hashes))
        for local in np.flatnonzero(slow[start:end]).tolist():
            text = document.texts[local]
            outcomes.append(document.reader._outcome(json.loads(text), prefix + str(local), text))
        results[document.index] = outcomes
        start = end
    return results


def _arrow_values(reader: _JsonFile, texts: list[bytes]) -> tuple[dict[str, Any], Any] | None:
    """(the mapped values as _python_values gives them, no row uncertain) read by pyarrow's JSON reader in C++, or
    None when a mapped field holds another JSON type than its column's (pyarrow refuses the whole read then)."""
    import io

    import numpy as np
    import pyarrow as pa
    import pyarrow.json as pa_json

    first = json.loads(texts[0])
    fields: dict[str, pa.DataType] = {}
    for name, key in zip(reader.converter.names, reader.keys, strict=True):
        sample = first.get(key)
        if name in INTEGER_COLUMNS:
            kind = pa.string() if isinstance(sample, str) else pa.int64()
        elif name in LIST_SEPARATORS:
            kind = pa.string() if isinstance(sample, str) else pa.list_(pa.string())
        else:
            kind = pa.string()
        if fields.setdefault(key, kind) != kind:
            return None
    joined = b"\n".join(texts)
    multiline = joined.count(b"\n") != len(texts) - 1 or b"\r" in joined
    options = pa_json.ParseOptions(
        explicit_schema=pa.schema(list(fields.items())), unexpected_field_behavior="ignore",
        newlines_in_values=multiline,
    )  # fmt: skip
    try:
        table = pa_json.read_json(
            io.BytesIO(joined), read_options=pa_json.ReadOptions(block_size=_BLOCK_BYTES), parse_options=options
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != len(texts):
        return None
    values: dict[str, Any] = {}
    unsure = np.zeros(len(texts), dtype=bool)
    for name, key in zip(reader.converter.names, reader.keys, strict=True):
        column = table.column(key).combine_chunks()
        if pa.types.is_int64(column.type):
            values[name] = column.cast(pa.string())
        elif pa.types.is_list(column.type):
            values[name], odd = _joined_lists(column, LIST_SEPARATORS[name])
            unsure |= odd
        else:
            values[name] = column
    return values, unsure


_BLOCK_BYTES = 4 << 20  # pyarrow reads JSON in blocks this big (in parallel); an item must fit in one


def _python_values(reader: _JsonFile, documents: list[_Document]) -> tuple[dict[str, Any], Any]:
    """(the mapped values as TitleConverter reads them, from the decoded items; the rows holding a value of an
    unexpected JSON type, which are uncertain)."""
    import numpy as np

    items = [item for document in documents for item in document.items]
    values: dict[str, Any] = {}
    unsure = np.zeros(len(items), dtype=bool)
    for name, key in zip(reader.converter.names, reader.keys, strict=True):
        column = [item.get(key) for item in items]
        if name in LIST_SEPARATORS:
            values[name], odd = _joined(column, LIST_SEPARATORS[name])
        else:
            values[name], odd = _texts(column, allow_int=name in INTEGER_COLUMNS)
        if odd is not None:
            unsure |= odd
    return values, unsure


def _texts(column: list[Any], allow_int: bool) -> tuple[Any, Any]:
    """(the values as the text TitleConverter reads: strings as they are and, with allow_int, JSON integers as
    str(value); the rows holding anything else, which are uncertain, or None when there is none)."""
    import numpy as np
    import pyarrow as pa

    try:
        return pa.array(column, pa.string()), None
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    if allow_int and all(type(value) is int or value is None for value in column):  # pa.array would cut 90.5 to 90
        try:
            return pa.array(column, pa.int64()).cast(pa.string()), None
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
    kinds = (str, int) if allow_int else (str,)
    odd = np.array([value is not None and type(value) not in kinds for value in column], dtype=bool)
    texts = [value if type(value) is str else str(value) if allow_int and type(value) is int else None
             for value in column]  # fmt: skip
    return pa.array(texts, pa.string()), odd


def _joined(column: list[Any], separator: str) -> tuple[Any, Any]:
    """(lists of texts joined as TitleConverter joins them: items stripped, empty ones dropped; rows whose items need
    more than space trimming, which are uncertain)."""
    import numpy as np
    import pyarrow as pa

    try:
        if not all(type(value) is list or value is None for value in column):  # pa.array reads "ab" as ["a", "b"]
            raise pa.ArrowTypeError("not only lists")
        lists = pa.array(column, pa.list_(pa.string()))
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # texts too, or lists of other things: lists are left uncertain
        texts, odd = _texts([None if type(value) is list else value for value in column], allow_int=False)
        is_list = np.array([type(value) is list for value in column], dtype=bool)
        return texts, is_list if odd is None else odd | is_list
    return _joined_lists(lists, separator)


def _joined_lists(lists: Any, separator: str) -> tuple[Any, Any]:
    """_joined for a pyarrow list<string> array."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from ingest.parse.formats import titles_columnar as tc

    column_length = len(lists)
    items = pc.list_flatten(lists)
    owners = pc.list_parent_indices(lists).to_numpy()
    odd = np.zeros(column_length, dtype=bool)
    odd[owners[tc.odd_values(items)]] = True
    trimmed = pc.utf8_trim(items, characters=" ")
    keep = pc.not_equal(trimmed, "").to_numpy(zero_copy_only=False)
    counts = np.bincount(owners[keep], minlength=column_length)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]), pa.int32())
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, trimmed.filter(pa.array(keep))), separator)
    return pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), joined), odd


FORMAT = FormatSpec(
    "json",
    "json_titles",
    TITLE_COLUMNS,
    parse_json_records,
    DDL,
    parse_json_files,
    group_bytes=4 << 20,
    in_processes=False,
    version_key=("provider_asset_id",),
)
