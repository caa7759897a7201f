"""CableLabs ADI 1.1 packages: one file becomes one title record, or one quarantined record saying why.

A package is read straight from pyexpat callbacks (`_read_package`, with safe_xml's defusedxml protections), without
building an ElementTree. A file larger than MAX_FIELD_CHARS bytes (which may hold an oversized field) and anything the
callback reader does not expect are read through `safe_xml.parse_xml` and `_read_asset` instead. Both give the same
outcome for the same bytes: the same columns, record_hash and location, or the same quarantine reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any, TypeVar
from xml.etree.ElementTree import Element

from ingest import eidr
from ingest.limits import MAX_ASSET_DEPTH, MAX_FIELD_CHARS
from ingest.load.raw_tables import raw_table_ddl
from ingest.models import JsonRecord, ParsedRecord, ParseOutcome, Quarantined, Rejected
from ingest.parse.formats import fields
from ingest.parse.formats.safe_xml import expat_parser, local_name, parse_xml, run_expat
from ingest.parse.formats.spec import FormatSpec
from ingest.record_text import jsonb_text, raw_text

EIDR_NAMES = ("eidr", "eidr_id")
T = TypeVar("T")

try:  # msgspec (pinned in requirements.txt) writes the same sorted compact JSON as json.dumps, about 8x faster
    from msgspec.json import Encoder as _Encoder

    _encode_sorted: Callable[[Any], bytes] | None = _Encoder(order="sorted").encode
except ImportError:  # pragma: no cover - the stdlib encoder gives the same text
    _encode_sorted = None

# Parsed columns of raw.adi_titles, in table order (the batch columns come first, added by the loader).
TITLE_COLUMNS: tuple[str, ...] = (
    "adi_provider", "adi_provider_id", "package_asset_id", "title_asset_id", "verb", "version_major",
    "version_minor", "asset_name", "title", "title_brief", "episode_name", "series_title", "season_number",
    "episode_number", "show_type", "summary_short", "rating", "run_time", "runtime_seconds", "release_year",
    "genres", "actors", "directors", "studio", "country_of_origin", "category", "licensing_window_start",
    "licensing_window_end", "eidr_id_provided", "eidr_id", "eidr_status", "eidr_invalid_reason",
    "movie_asset_id", "has_preview", "has_poster", "record",
)  # fmt: skip


@dataclass
class AdiAsset:
    """One ADI asset (or the package itself): its AMS attributes, App_Data values by name, content and children.

    Build it completely before the first `values` or `first` call, which indexes the App_Data names by lower case.
    """

    path: str
    ams: dict[str, str]
    app_data: dict[str, list[str]] = field(default_factory=dict)
    content: list[dict[str, str]] = field(default_factory=list)
    assets: list[AdiAsset] = field(default_factory=list)
    _names: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)
    _firsts: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)  # see _index

    @property
    def asset_class(self) -> str:
        """AMS Asset_Class, lower-cased: package, title, movie, preview, poster, box cover..."""
        return self.ams.get("Asset_Class", "").strip().lower()

    def values(self, *names: str) -> list[str]:
        """All non-empty values of the App_Data named any of names (case-insensitive), in document order."""
        key = self._key(names)
        if key is None:
            return []
        if key is _SCAN:
            return _scan(self.app_data, names)
        by_lower = self._names or {}
        return [value for value in map(str.strip, self.app_data[by_lower[key]]) if value]

    def first(self, *names: str) -> str | None:
        """The first non-empty value of the App_Data named any of names, or None."""
        key = self._key(names)
        if key is None:
            return None
        if key is _SCAN:
            found = _scan(self.app_data, names)
            return found[0] if found else None
        return (self._firsts or {}).get(key)

    def _key(self, names: tuple[str, ...]) -> str | None:
        """The lower case of the one App_Data name that names match (case-insensitive), None if none does, or _SCAN
        when several do (say Title and TITLE, or Director and Directors): their values then come from `_scan`.
        """
        by_lower = self._names
        if by_lower is None:
            by_lower = self._index()
        if by_lower is _AMBIGUOUS:
            return _SCAN
        if len(names) == 1:
            key = names[0].lower()
            return key if key in by_lower else None
        keys = {key for key in map(str.lower, names) if key in by_lower}
        if len(keys) > 1:
            return _SCAN
        return keys.pop() if keys else None

    def _index(self) -> dict[str, str]:
        """Index the App_Data names by lower case (`_names`), with the first non-empty value of each (`_firsts`);
        `_names` is _AMBIGUOUS when two names differ in case only.
        """
        app_data = self.app_data
        lowered: list[str] = []
        if app_data:
            joined = "\x00".join(app_data)  # an App_Data name cannot hold NUL (XML cannot)
            lowered = joined.lower().split("\x00") if joined.isascii() else [name.lower() for name in app_data]
        by_lower = dict(zip(lowered, app_data, strict=False))
        if len(lowered) != len(app_data) or len(by_lower) != len(app_data):
            self._names = _AMBIGUOUS
            return _AMBIGUOUS
        try:  # each name's first value, stripped (in C); then names whose first value is blank, in Python
            firsts = dict(zip(lowered, map(str.strip, map(itemgetter(0), app_data.values())), strict=False))
        except IndexError:  # a name without values (only when built by hand)
            firsts = dict.fromkeys(lowered, "")
        if "" in firsts.values():
            for key, values in zip(lowered, app_data.values(), strict=True):
                if not firsts[key]:
                    del firsts[key]
                    for value in values:
                        value = value.strip()
                        if value:
                            firsts[key] = value
                            break
        self._firsts = firsts
        self._names = by_lower
        return by_lower

    def to_json(self) -> dict[str, Any]:
        """Everything the file said about this asset, so the raw layer can be re-parsed later."""
        return {
            "path": self.path,
            "ams": self.ams,
            "app_data": self.app_data,
            "content": self.content,
            "assets": [child.to_json() for child in self.assets],
        }


_SCAN = "\x00scan"  # not an App_Data name: none holds NUL
_AMBIGUOUS: dict[str, str] = {}


def _scan(app_data: dict[str, list[str]], names: tuple[str, ...]) -> list[str]:
    """The values of every App_Data whose name matches one of names, by name in first-seen order, then in document
    order: what `values` returns (for one App_Data name, that is document order).
    """
    wanted = {name.lower() for name in names}
    found = [v for key, vals in app_data.items() if key.lower() in wanted for v in vals]
    return [v.strip() for v in found if v.strip()]


def parse_adi_file(data: bytes, source_file: str) -> ParseOutcome:
    """Parse one ADI package file; never raises: any problem becomes a Quarantined outcome with a reason."""
    try:
        return _parse(data, source_file)
    except Rejected as err:
        return Quarantined(source_file, err.location(source_file), err.reason, raw_text(data))
    except Exception as err:  # a single file must never abort the batch
        return Quarantined(
            source_file, source_file, f"unexpected parser error: {type(err).__name__}: {err}", raw_text(data)
        )


def _parse(data: bytes, source_file: str) -> ParsedRecord:
    package = _read(data)
    titles = [asset for asset in package.assets if asset.asset_class == "title"]
    if not titles:
        raise Rejected('no title asset (AMS Asset_Class="title")', "/ADI")
    if len(titles) > 1:
        raise Rejected(f"{len(titles)} title assets in one package, expected one", "/ADI")
    title = titles[0]
    if not fields.text(title.ams.get("Asset_ID")):
        raise Rejected("title asset has no Asset_ID", title.path)
    if not title.first("Title"):
        raise Rejected("title asset has no Title", title.path)
    record = JsonRecord(package.to_json())
    canonical = _canonical_json(record)
    record.json_text = jsonb_text(canonical.decode("utf-8"))  # stored as hashed, so the loader need not encode it
    columns = _title_columns(package, title)
    columns["record"] = record
    record_hash = hashlib.sha256(canonical).hexdigest()
    return ParsedRecord(source_file, f"{source_file}#{title.path}", record_hash, columns)


def _canonical_json(record: dict[str, Any]) -> bytes:
    """The text record_hash is taken of: json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    as UTF-8, byte for byte (msgspec writes the same text: same escapes, keys sorted by code point).
    """
    if _encode_sorted is not None:
        try:
            return _encode_sorted(record)
        except Exception:  # pragma: no cover - every value is a str; the stdlib decides anything else
            pass
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _read(data: bytes) -> AdiAsset:
    """The package asset; raises Rejected for a document that is not a readable ADI package."""
    if len(data) <= MAX_FIELD_CHARS:  # no field can be too long: the callback reader needs no size checks
        try:
            return _read_package(data)
        except Rejected:
            raise
        except Exception:  # e.g. an encoding expat does not know: the ElementTree path decides, as it always did
            pass
    return _read_tree(parse_xml(data))


def _read_tree(root: Element) -> AdiAsset:
    if local_name(root.tag) != "ADI":
        raise Rejected(f"not an ADI document: root element is <{local_name(root.tag)}>")
    return _read_asset(root, "/ADI", depth=0)


def _read_asset(element: Element, path: str, depth: int) -> AdiAsset:
    if depth > MAX_ASSET_DEPTH:
        raise Rejected(f"assets nested deeper than {MAX_ASSET_DEPTH} levels", path)
    asset = AdiAsset(path=path, ams={})
    children = 0
    for child in element:
        tag = local_name(child.tag)
        if tag == "Metadata":
            for item in child:
                item_tag = local_name(item.tag)
                if item_tag == "AMS":
                    asset.ams.update(item.attrib)
                elif item_tag == "App_Data":
                    name = item.attrib.get("Name", "")
                    asset.app_data.setdefault(name, []).append(item.attrib.get("Value", ""))
        elif tag == "Content":
            asset.content.append(dict(child.attrib))
        elif tag == "Asset":
            children += 1
            asset.assets.append(_read_asset(child, f"{path}/Asset[{children}]", depth + 1))
    return asset


_METADATA, _CONTENT, _ASSET, _AMS, _APP_DATA = 1, 2, 3, 4, 5
_KINDS = {"Metadata": _METADATA, "Content": _CONTENT, "Asset": _ASSET, "AMS": _AMS, "App_Data": _APP_DATA}
_DOCUMENT = object()


def _read_package(data: bytes) -> AdiAsset:
    """What `_read_tree(parse_xml(data))` returns or raises, for a document whose fields cannot be too long, read
    from pyexpat callbacks: elements that `_read_asset` does not look at are skipped, nothing else is kept.

    `context[d]` says what the element at depth d (the root is at 0) sits in: the document, an asset (the root
    <ADI> or an <Asset>: an AdiAsset), an asset's <Metadata> (a tuple of its ams and app_data), or something not
    read (None). The end handler only counts, so one Python call per element suffices: depth = starts - ends.
    """
    parser = expat_parser()
    package = AdiAsset("/ADI", {}, {}, [], [])
    context: list[Any] = [_DOCUMENT, *[None] * 15]
    ends: list[str] = []
    kinds = dict(_KINDS)  # element name -> kind; namespaced names (uri}local) are added as they come
    attribute_names: list[str] = []  # of the AMS and Content attributes kept
    root = too_deep = None
    started = 0

    def start(tag: str, attrs: list[str]) -> None:
        nonlocal started, root, too_deep
        depth = started - len(ends)
        started += 1
        parent = context[depth]
        inner: AdiAsset | tuple[dict[str, str], dict[str, list[str]]] | None = None
        if parent.__class__ is tuple:  # a child of an asset's <Metadata>
            if tag == "App_Data" and len(attrs) == 6 and attrs[2] == "Name" and attrs[4] == "Value":  # the usual
                name = attrs[3]
                app_data = parent[1]
                if name in app_data:
                    app_data[name].append(attrs[5])
                else:
                    app_data[name] = [attrs[5]]
            else:
                kind = kinds.get(tag)
                if kind is None:
                    kind = kinds[tag] = _KINDS.get(local_name(tag), 0)
                if kind == _APP_DATA:
                    pairs = dict(zip(attrs[::2], attrs[1::2], strict=False))
                    name = pairs.get("Name", "")
                    app_data = parent[1]
                    if name in app_data:
                        app_data[name].append(pairs.get("Value", ""))
                    else:
                        app_data[name] = [pairs.get("Value", "")]
                elif kind == _AMS:
                    names = attrs[::2]
                    attribute_names.extend(names)
                    parent[0].update(zip(names, attrs[1::2], strict=False))
        elif parent.__class__ is AdiAsset:
            kind = kinds.get(tag)
            if kind is None:
                kind = kinds[tag] = _KINDS.get(local_name(tag), 0)
            if kind == _METADATA:
                inner = (parent.ams, parent.app_data)
            elif kind == _CONTENT:
                names = attrs[::2]
                attribute_names.extend(names)
                parent.content.append(dict(zip(names, attrs[1::2], strict=False)))
            elif kind == _ASSET:
                path = f"{parent.path}/Asset[{len(parent.assets) + 1}]"
                if parent.path.count("/") > MAX_ASSET_DEPTH:  # the new asset's depth: /ADI is 0
                    if too_deep is None:
                        too_deep = path
                else:
                    inner = AdiAsset(path, {}, {}, [], [])
                    parent.assets.append(inner)
        elif parent is _DOCUMENT:  # the root element
            root = tag
            if local_name(tag) == "ADI":
                inner = package
        try:
            context[depth + 1] = inner
        except IndexError:
            context.append(inner)

    parser.StartElementHandler = start
    parser.EndElementHandler = ends.append
    run_expat(parser, data)
    if local_name(root or "") != "ADI":
        raise Rejected(f"not an ADI document: root element is <{local_name(root or '')}>")
    if too_deep is not None:
        raise Rejected(f"assets nested deeper than {MAX_ASSET_DEPTH} levels", too_deep)
    if "}" in "".join(attribute_names):  # a namespaced attribute: ElementTree writes uri}name as {uri}name
        _expand_names(package)
    return package


def _expand_names(asset: AdiAsset) -> None:
    asset.ams = _expanded(asset.ams)
    asset.content = [_expanded(item) for item in asset.content]
    for child in asset.assets:
        _expand_names(child)


def _expanded(attributes: dict[str, str]) -> dict[str, str]:
    return {("{" + name if "}" in name else name): value for name, value in attributes.items()}


# Converted values are cached: a feed repeats dates, run times, years and versions from package to package. Only
# values that convert are cached (a ValueError is raised again, with the same message, every time).
_timestamp = lru_cache(maxsize=4096)(fields.timestamp)
_run_time_seconds = lru_cache(maxsize=4096)(fields.run_time_seconds)
_integer = lru_cache(maxsize=4096)(fields.integer)
_year = lru_cache(maxsize=4096)(fields.year)


@lru_cache(maxsize=4096)
def _end_timestamp(value: str) -> datetime:
    return fields.timestamp(value, end_of_day=True)


def _title_columns(package: AdiAsset, title: AdiAsset) -> dict[str, Any]:
    """The typed columns of raw.adi_titles; collects every bad value, and a licensing window that ends before it
    starts, so one quarantine reason names them all.

    App_Data names are looked up in lower case, in the index `AdiAsset.first` uses (without a call per lookup).
    """
    errors: list[str] = []

    def convert(name: str, value: str | None, parse: Callable[[str], T]) -> T | None:
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as err:
            errors.append(f"bad {name} {value[:80]!r}: {err}")
            return None

    names = title._names if title._names is not None else title._index()
    first: Callable[[str], str | None]
    values: Callable[[str], list[str]]
    first_of: Callable[[str, str], str | None]
    values_of: Callable[[str, str], list[str]]
    if names is _AMBIGUOUS:  # two App_Data names differ in case only
        first, values, first_of, values_of = title.first, title.values, title.first, title.values
    else:
        first = (title._firsts or {}).get
        app_data = title.app_data

        def values(key: str) -> list[str]:
            name = names.get(key)
            return [] if name is None else [value for value in map(str.strip, app_data[name]) if value]

        def first_of(key: str, other: str) -> str | None:
            if other not in names:
                return first(key)
            return first(other) if key not in names else title.first(key, other)

        def values_of(key: str, other: str) -> list[str]:
            if other not in names:
                return values(key)
            return values(other) if key not in names else title.values(key, other)

    text = fields.text
    ams = title.ams
    package_ams = package.ams
    run_time = first("run_time")
    eidr_provided = first_of(*EIDR_NAMES)
    checked = eidr.parse_eidr(eidr_provided)
    classes = [child.asset_class for child in title.assets]
    movie = title.assets[classes.index("movie")] if "movie" in classes else None
    columns: dict[str, Any] = {
        "adi_provider": text(ams.get("Provider") or package_ams.get("Provider")),
        "adi_provider_id": text(ams.get("Provider_ID") or package_ams.get("Provider_ID")),
        "package_asset_id": text(package_ams.get("Asset_ID")),
        "title_asset_id": text(ams.get("Asset_ID")),
        "verb": text((ams.get("Verb") or package_ams.get("Verb") or "").upper()),
        "version_major": convert("Version_Major", text(ams.get("Version_Major")), _integer),
        "version_minor": convert("Version_Minor", text(ams.get("Version_Minor")), _integer),
        "asset_name": text(ams.get("Asset_Name")),
        "title": first("title"),
        "title_brief": first("title_brief"),
        "episode_name": first("episode_name"),
        "series_title": first_of("series_name", "series_title"),
        "season_number": convert("Season_Number", first("season_number"), _integer),
        "episode_number": convert("Episode_Number", first("episode_number"), _integer),
        "show_type": first("show_type"),
        "summary_short": first("summary_short"),
        "rating": first("rating"),
        "run_time": run_time,
        "runtime_seconds": convert("Run_Time", run_time, _run_time_seconds),
        "release_year": convert("Year", first("year"), _year),
        "genres": _joined(values("genre"), ", "),
        "actors": _joined(values("actors"), "; "),
        "directors": _joined(values_of("director", "directors"), "; "),
        "studio": first_of("studio", "studio_name"),
        "country_of_origin": first("country_of_origin"),
        "category": _joined(values("category"), " | "),
        "licensing_window_start": convert("Licensing_Window_Start", first("licensing_window_start"), _timestamp),
        "licensing_window_end": convert("Licensing_Window_End", first("licensing_window_end"), _end_timestamp),
        "eidr_id_provided": eidr_provided,
        "eidr_id": checked.canonical,
        "eidr_status": checked.status.value,
        "eidr_invalid_reason": checked.reason,
        "movie_asset_id": text(movie.ams.get("Asset_ID")) if movie else None,
        "has_preview": "preview" in classes,
        "has_poster": "poster" in classes,
    }
    inverted = fields.window_problem(
        "Licensing_Window_Start",
        columns["licensing_window_start"],
        "Licensing_Window_End",
        columns["licensing_window_end"],
        empty_allowed=True,
    )
    if inverted:
        errors.append(inverted)
    if errors:
        raise Rejected("; ".join(errors), title.path)
    return columns


def _joined(values: list[str], separator: str) -> str | None:
    return separator.join(values) or None


def parse_adi_records(data: bytes, source_file: str, options: Mapping[str, Any] | None = None) -> list[ParseOutcome]:
    """The FormatSpec entry point: an ADI file holds exactly one package, so one outcome (ADI takes no options)."""
    return [parse_adi_file(data, source_file)]


DDL = raw_table_ddl(
    "adi_titles",
    """
    adi_provider text,
    adi_provider_id text,
    package_asset_id text,
    title_asset_id text not null,
    verb text,
    version_major int,
    version_minor int,
    asset_name text,
    title text,
    title_brief text,
    episode_name text,
    series_title text,
    season_number int,
    episode_number int,
    show_type text,
    summary_short text,
    rating text,
    run_time text,
    runtime_seconds int,
    release_year int,
    genres text,
    actors text,
    directors text,
    studio text,
    country_of_origin text,
    category text,
    licensing_window_start timestamptz,
    licensing_window_end timestamptz,
    eidr_id_provided text,
    eidr_id text,
    eidr_status text not null,
    eidr_invalid_reason text,
    movie_asset_id text,
    has_preview boolean,
    has_poster boolean,
    record json not null
""",
) + (
    "create index if not exists adi_titles_asset_key_idx on raw.adi_titles ((provider_id || ':' || title_asset_id));\n"
)  # stg_adi__titles.asset_key: the marts look a changed asset's versions up by it


FORMAT = FormatSpec(
    "adi", "adi_titles", TITLE_COLUMNS, parse_adi_records, DDL,
    version_key=("title_asset_id", "version_major", "version_minor"),
)  # fmt: skip
