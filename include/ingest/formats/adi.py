"""CableLabs ADI 1.1 packages: one file becomes one title record, or one quarantined record saying why."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from xml.etree.ElementTree import Element

from ingest import eidr
from ingest.formats import fields
from ingest.formats.raw_tables import raw_table_ddl
from ingest.formats.safe_xml import XmlRejected, local_name, parse_xml, raw_text
from ingest.models import ParsedRecord, ParseOutcome, Quarantined

MAX_ASSET_DEPTH = 8
EIDR_NAMES = ("eidr", "eidr_id")
T = TypeVar("T")

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
    """One ADI asset (or the package itself): its AMS attributes, App_Data values by name, content and children."""

    path: str
    ams: dict[str, str]
    app_data: dict[str, list[str]] = field(default_factory=dict)
    content: list[dict[str, str]] = field(default_factory=list)
    assets: list[AdiAsset] = field(default_factory=list)

    @property
    def asset_class(self) -> str:
        """AMS Asset_Class, lower-cased: package, title, movie, preview, poster, box cover..."""
        return self.ams.get("Asset_Class", "").strip().lower()

    def values(self, *names: str) -> list[str]:
        """All non-empty values of the App_Data named any of names (case-insensitive), in document order."""
        wanted = {name.lower() for name in names}
        found = [v for key, vals in self.app_data.items() if key.lower() in wanted for v in vals]
        return [v.strip() for v in found if v.strip()]

    def first(self, *names: str) -> str | None:
        """The first non-empty value of the App_Data named any of names, or None."""
        found = self.values(*names)
        return found[0] if found else None

    def to_json(self) -> dict[str, Any]:
        """Everything the file said about this asset, so the raw layer can be re-parsed later."""
        return {
            "path": self.path,
            "ams": self.ams,
            "app_data": self.app_data,
            "content": self.content,
            "assets": [child.to_json() for child in self.assets],
        }


class _Rejected(Exception):
    """A package that is well-formed XML but not a loadable ADI title; fragment says where, e.g. /ADI/Asset[1]."""

    def __init__(self, reason: str, fragment: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.fragment = fragment


def parse_adi_file(data: bytes, source_file: str) -> ParseOutcome:
    """Parse one ADI package file; never raises: any problem becomes a Quarantined outcome with a reason."""
    try:
        return _parse(data, source_file)
    except _Rejected as err:
        location = f"{source_file}#{err.fragment}" if err.fragment else source_file
        return Quarantined(source_file, location, err.reason, raw_text(data))
    except XmlRejected as err:
        location = f"{source_file}:{err.position[0]}:{err.position[1]}" if err.position else source_file
        return Quarantined(source_file, location, err.reason, raw_text(data))
    except Exception as err:  # a single file must never abort the batch
        return Quarantined(
            source_file, source_file, f"unexpected parser error: {type(err).__name__}: {err}", raw_text(data)
        )


def _parse(data: bytes, source_file: str) -> ParsedRecord:
    root = parse_xml(data)
    if local_name(root.tag) != "ADI":
        raise _Rejected(f"not an ADI document: root element is <{local_name(root.tag)}>")
    package = _read_asset(root, "/ADI", depth=0)
    titles = [asset for asset in package.assets if asset.asset_class == "title"]
    if not titles:
        raise _Rejected('no title asset (AMS Asset_Class="title")', "/ADI")
    if len(titles) > 1:
        raise _Rejected(f"{len(titles)} title assets in one package, expected one", "/ADI")
    title = titles[0]
    if not fields.text(title.ams.get("Asset_ID")):
        raise _Rejected("title asset has no Asset_ID", title.path)
    if not title.first("Title"):
        raise _Rejected("title asset has no Title", title.path)
    record = package.to_json()
    columns = _title_columns(package, title)
    columns["record"] = record
    canonical = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    record_hash = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return ParsedRecord(source_file, f"{source_file}#{title.path}", record_hash, columns)


def _read_asset(element: Element, path: str, depth: int) -> AdiAsset:
    if depth > MAX_ASSET_DEPTH:
        raise _Rejected(f"assets nested deeper than {MAX_ASSET_DEPTH} levels", path)
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


def _title_columns(package: AdiAsset, title: AdiAsset) -> dict[str, Any]:
    """The typed columns of raw.adi_titles; collects every bad value so one quarantine reason names them all."""
    errors: list[str] = []

    def convert(name: str, value: str | None, parse: Callable[[str], T]) -> T | None:
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as err:
            errors.append(f"bad {name} {value[:80]!r}: {err}")
            return None

    ams = title.ams
    run_time = title.first("Run_Time")
    eidr_provided = title.first(*EIDR_NAMES)
    checked = eidr.parse_eidr(eidr_provided)
    children = {child.asset_class for child in title.assets}
    movie = next((child for child in title.assets if child.asset_class == "movie"), None)
    columns: dict[str, Any] = {
        "adi_provider": fields.text(ams.get("Provider") or package.ams.get("Provider")),
        "adi_provider_id": fields.text(ams.get("Provider_ID") or package.ams.get("Provider_ID")),
        "package_asset_id": fields.text(package.ams.get("Asset_ID")),
        "title_asset_id": fields.text(ams.get("Asset_ID")),
        "verb": fields.text((ams.get("Verb") or package.ams.get("Verb") or "").upper()),
        "version_major": convert("Version_Major", fields.text(ams.get("Version_Major")), fields.integer),
        "version_minor": convert("Version_Minor", fields.text(ams.get("Version_Minor")), fields.integer),
        "asset_name": fields.text(ams.get("Asset_Name")),
        "title": title.first("Title"),
        "title_brief": title.first("Title_Brief"),
        "episode_name": title.first("Episode_Name"),
        "series_title": title.first("Series_Name", "Series_Title"),
        "season_number": convert("Season_Number", title.first("Season_Number"), fields.integer),
        "episode_number": convert("Episode_Number", title.first("Episode_Number"), fields.integer),
        "show_type": title.first("Show_Type"),
        "summary_short": title.first("Summary_Short"),
        "rating": title.first("Rating"),
        "run_time": run_time,
        "runtime_seconds": convert("Run_Time", run_time, fields.run_time_seconds),
        "release_year": convert("Year", title.first("Year"), fields.year),
        "genres": _joined(title.values("Genre"), ", "),
        "actors": _joined(title.values("Actors"), "; "),
        "directors": _joined(title.values("Director", "Directors"), "; "),
        "studio": title.first("Studio", "Studio_Name"),
        "country_of_origin": title.first("Country_of_Origin"),
        "category": _joined(title.values("Category"), " | "),
        "licensing_window_start": convert(
            "Licensing_Window_Start", title.first("Licensing_Window_Start"), fields.timestamp
        ),
        "licensing_window_end": convert(
            "Licensing_Window_End",
            title.first("Licensing_Window_End"),
            lambda value: fields.timestamp(value, end_of_day=True),
        ),
        "eidr_id_provided": eidr_provided,
        "eidr_id": checked.canonical,
        "eidr_status": checked.status.value,
        "eidr_invalid_reason": checked.reason,
        "movie_asset_id": fields.text(movie.ams.get("Asset_ID")) if movie else None,
        "has_preview": "preview" in children,
        "has_poster": "poster" in children,
    }
    if errors:
        raise _Rejected("; ".join(errors), title.path)
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
    record jsonb not null
""",
)
