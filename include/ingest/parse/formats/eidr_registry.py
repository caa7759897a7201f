"""EIDR registry bulk exports (CSV or XML): one row or record becomes one raw.eidr_registry row, or quarantine."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any
from xml.etree.ElementTree import Element, tostring

from ingest import eidr
from ingest.limits import MAX_FILE_BYTES, MAX_RAW_RECORD_CHARS
from ingest.load.raw_tables import raw_table_ddl
from ingest.models import ParsedRecord, ParseOutcome, Quarantined, Rejected
from ingest.parse.formats.safe_xml import local_name, parse_xml
from ingest.parse.formats.spec import FormatSpec

# Parsed columns of raw.eidr_registry, in table order (the batch columns come first, added by the loader).
REGISTRY_COLUMNS: tuple[str, ...] = (
    "eidr_id", "resource_name", "alternate_names", "referent_type", "structural_type", "release_date",
    "release_year", "approximate_length_minutes", "country_of_origin", "directors", "parent_eidr_id",
    "season_number", "episode_number", "registry_status", "record",
)  # fmt: skip

# Export field -> accepted header spellings (compared lower-case without spaces, '_' or '-').
FIELDS: dict[str, tuple[str, ...]] = {
    "ID": ("id", "eidr", "eidrid", "contentid", "doi"),
    "ResourceName": ("resourcename", "title"),
    "AlternateResourceName": ("alternateresourcename", "alternatenames", "alternateresourcenames", "akas"),
    "ReferentType": ("referenttype",),
    "StructuralType": ("structuraltype",),
    "ReleaseDate": ("releasedate", "year", "releaseyear"),
    "ApproximateLength": ("approximatelength", "length", "runtime", "lengthminutes", "approximatelengthminutes"),
    "CountryOfOrigin": ("countryoforigin", "country"),
    "Directors": ("directors", "director"),
    "ParentID": ("parentid", "parent"),
    "SeasonNumber": ("seasonnumber", "season"),
    "EpisodeNumber": ("episodenumber", "episode", "distributionnumber"),
    "Status": ("status",),
}
REQUIRED_FIELDS = ("ID", "ResourceName")
XML_RECORDS = ("FullMetadata", "SimpleMetadata")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_ISO_DURATION = re.compile(r"^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$", re.IGNORECASE)
_CLOCK = re.compile(r"^(\d{1,3}):([0-5]\d)(?::([0-5]\d))?$")
_MINUTES = re.compile(r"^\d{1,4}$")
_NUMBER = re.compile(r"^\+?\d{1,6}$")


def parse_registry_records(
    data: bytes, source_file: str, options: Mapping[str, Any] | None = None
) -> list[ParseOutcome]:
    """The FormatSpec entry point: CSV or XML by content; never raises, a bad row is quarantined with its reason.

    Options: `alternate_separator` (CSV, default '|'), `delimiter` (CSV, default ',').
    """
    options = options or {}
    if len(data) > MAX_FILE_BYTES:
        return [Quarantined(source_file, source_file, f"file too large: more than {MAX_FILE_BYTES} bytes", "")]
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    try:
        if head == b"<":
            return list(_xml_records(data, source_file))
        return list(_csv_records(data, source_file, options))
    except Rejected as err:
        return [Quarantined(source_file, err.location(source_file), err.reason, _text(data))]
    except Exception as err:  # one file must never abort the batch
        return [Quarantined(source_file, source_file, f"unexpected parser error: {type(err).__name__}: {err}", "")]


def _text(data: bytes) -> str:
    head = data[:MAX_RAW_RECORD_CHARS]
    try:
        return head.decode("utf-8-sig").replace("\x00", "\ufffd")
    except UnicodeDecodeError:
        return head.decode("latin-1").replace("\x00", "\ufffd")


def _csv_records(data: bytes, source_file: str, options: Mapping[str, Any]) -> Iterator[ParseOutcome]:
    text = _decode(data).replace("\x00", "\ufffd")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=str(options.get("delimiter", ",")))
    header = next(reader, None)
    if not header:
        yield Quarantined(source_file, source_file, "empty CSV: no header line", "")
        return
    problem = csv_header_problem(header)
    if problem:
        yield Quarantined(source_file, f"{source_file}:1", problem, ",".join(header))
        return
    wanted = {alias: name for name, aliases in FIELDS.items() for alias in aliases}
    positions = {wanted[_header_key(h)]: i for i, h in enumerate(header) if _header_key(h) in wanted}
    separator = str(options.get("alternate_separator", "|"))
    for row in reader:
        line = reader.line_num
        location = f"{source_file}:{line}"
        raw = ",".join(row)
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield Quarantined(source_file, location, f"{len(row)} fields, the header has {len(header)}", raw)
            continue
        fields: dict[str, Any] = {name: row[i] for name, i in positions.items()}
        alternates = fields.get("AlternateResourceName") or ""
        fields["AlternateResourceName"] = [a.strip() for a in alternates.split(separator) if a.strip()]
        directors = fields.get("Directors") or ""
        fields["Directors"] = [d.strip() for d in re.split(r"\s*[;|]\s*", directors) if d.strip()]
        yield _outcome(fields, source_file, location, raw)


def _header_key(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name.lower())


def csv_header_problem(header: list[str]) -> str | None:
    """Why a CSV export's header cannot be read as intended, or None: a required column missing, a column no field
    accepts (it would be silently ignored: an export whose year column is called "ProductionYear" would match
    nothing), or a field given twice. Names the columns and what was expected."""
    wanted = {alias: name for name, aliases in FIELDS.items() for alias in aliases}
    fields = [wanted.get(_header_key(h)) for h in header]
    optional = ", ".join(f for f in FIELDS if f not in REQUIRED_FIELDS)
    expected = f"expected {', '.join(REQUIRED_FIELDS)} and any of {optional}"
    missing = [name for name in REQUIRED_FIELDS if name not in fields]
    if missing:
        return f"CSV header lacks {', '.join(missing)}: header {header[:20]}; {expected}"
    unknown = [h for h, f in zip(header, fields, strict=True) if f is None and h.strip()]
    if unknown:
        return f"CSV header has unknown columns {unknown}: header {header[:20]}; {expected} (or their aliases)"
    twice = sorted({f for f in fields if f is not None and fields.count(f) > 1})
    if twice:
        return f"CSV header gives {', '.join(twice)} more than once: header {header[:20]}; {expected}"
    return None


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _xml_records(data: bytes, source_file: str) -> Iterator[ParseOutcome]:
    root = parse_xml(data)
    records = [e for e in root.iter() if local_name(e.tag) in XML_RECORDS]
    if not records:
        records = [e for e in root.iter() if local_name(e.tag) == "BaseObjectData"] or [root]
    for n, element in enumerate(records, start=1):
        location = f"{source_file}#/{local_name(root.tag)}/{local_name(element.tag)}[{n}]"
        raw = tostring(element, encoding="unicode")[:MAX_RAW_RECORD_CHARS]
        yield _outcome(_xml_fields(element), source_file, location, raw)


def _xml_fields(element: Element) -> dict[str, Any]:
    """Export fields from one FullMetadata/SimpleMetadata record (tags compared without namespace)."""
    by_name: dict[str, list[Element]] = {}
    for item in element.iter():
        by_name.setdefault(local_name(item.tag), []).append(item)

    def first(*names: str) -> str | None:
        for name in names:
            for item in by_name.get(name, ()):
                if item.text and item.text.strip():
                    return item.text.strip()
        return None

    directors = [
        (d.text or "").strip()
        for director in by_name.get("Director", ())
        for d in director.iter()
        if local_name(d.tag) == "DisplayName" or (d is director and len(director) == 0)
    ]
    season_number = None
    for info in by_name.get("SeasonInfo", ()):
        season_number = next((c.text for c in info.iter() if local_name(c.tag) == "SequenceNumber"), None)
    return {
        "ID": first("ID"),
        "ResourceName": first("ResourceName"),
        "AlternateResourceName": [
            a.text.strip() for a in by_name.get("AlternateResourceName", ()) if a.text and a.text.strip()
        ],
        "ReferentType": first("ReferentType"),
        "StructuralType": first("StructuralType"),
        "ReleaseDate": first("ReleaseDate"),
        "ApproximateLength": first("ApproximateLength"),
        "CountryOfOrigin": first("CountryOfOrigin"),
        "Directors": [d for d in directors if d],
        "ParentID": first("Parent", "ParentID"),
        "SeasonNumber": season_number or first("SeasonNumber"),
        "EpisodeNumber": first("DistributionNumber", "HouseSequence", "EpisodeNumber"),
        "Status": first("Status"),
    }


def _outcome(fields: dict[str, Any], source_file: str, location: str, raw: str) -> ParseOutcome:
    try:
        columns = _columns(fields)
    except Rejected as err:
        return Quarantined(source_file, location, str(err), raw)
    record = {k: v for k, v in fields.items() if v not in (None, "", [])}
    columns["record"] = record
    canonical = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return ParsedRecord(source_file, location, hashlib.sha256(canonical.encode("utf-8")).hexdigest(), columns)


def _columns(fields: dict[str, Any]) -> dict[str, Any]:
    errors: list[str] = []
    checked = eidr.parse_eidr(_clean(fields.get("ID")))
    if checked.canonical is None:
        errors.append(f"bad ID {str(fields.get('ID') or '')[:80]!r}: {checked.reason or 'missing'}")
    name = _clean(fields.get("ResourceName"))
    if name is None:
        errors.append("no ResourceName")
    parent_text = _clean(fields.get("ParentID"))
    parent = eidr.parse_eidr(parent_text) if parent_text else None
    if parent is not None and parent.canonical is None:
        assert parent_text is not None  # parent is only parsed from a text
        errors.append(f"bad ParentID {parent_text[:80]!r}: {parent.reason}")
    release_date, release_year = _release(_clean(fields.get("ReleaseDate")), errors)
    length = _minutes(_clean(fields.get("ApproximateLength")), errors)
    season = _integer("SeasonNumber", _clean(fields.get("SeasonNumber")), errors)
    episode = _integer("EpisodeNumber", _clean(fields.get("EpisodeNumber")), errors)
    if errors:
        raise Rejected("; ".join(errors))
    return {
        "eidr_id": checked.canonical,
        "resource_name": name,
        "alternate_names": list(dict.fromkeys(a for a in fields.get("AlternateResourceName") or [] if a != name)),
        "referent_type": _clean(fields.get("ReferentType")),
        "structural_type": _clean(fields.get("StructuralType")),
        "release_date": release_date,
        "release_year": release_year,
        "approximate_length_minutes": length,
        "country_of_origin": _clean(fields.get("CountryOfOrigin")),
        "directors": "; ".join(fields.get("Directors") or []) or None,
        "parent_eidr_id": parent.canonical if parent else None,
        "season_number": season,
        "episode_number": episode,
        "registry_status": (_clean(fields.get("Status")) or "valid").lower(),
    }


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _release(value: str | None, errors: list[str]) -> tuple[str | None, int | None]:
    """ReleaseDate as YYYY, YYYY-MM or YYYY-MM-DD: the full date when there is one, and the year."""
    if value is None:
        return None, None
    match = _DATE.match(value[:10] if len(value) > 10 and value[10] in "T " else value)
    if not match or not 1870 <= int(match.group(1)) <= 2100:
        errors.append(f"bad ReleaseDate {value[:40]!r}: expected YYYY, YYYY-MM or YYYY-MM-DD")
        return None, None
    year, month, day = match.groups()
    if month and day:
        from datetime import date

        try:
            return date(int(year), int(month), int(day)).isoformat(), int(year)
        except ValueError as err:
            errors.append(f"bad ReleaseDate {value!r}: {err}")
            return None, None
    return None, int(year)


def _minutes(value: str | None, errors: list[str]) -> int | None:
    """ApproximateLength as ISO 8601 (PT1H45M, PT105M, PT01H45M30S), HH:MM[:SS] or plain minutes."""
    if value is None:
        return None
    iso = _ISO_DURATION.match(value)
    if iso and any(iso.groups()):
        hours, minutes, seconds = (float(g) if g else 0.0 for g in iso.groups())
        return round(hours * 60 + minutes + seconds / 60)
    clock = _CLOCK.match(value)
    if clock:
        return int(clock.group(1)) * 60 + int(clock.group(2)) + round(int(clock.group(3) or 0) / 60)
    if _MINUTES.match(value):
        return int(value)
    errors.append(f"bad ApproximateLength {value[:40]!r}: expected PT1H45M, HH:MM:SS or minutes")
    return None


def _integer(name: str, value: str | None, errors: list[str]) -> int | None:
    if value is None:
        return None
    if not _NUMBER.match(value):
        errors.append(f"bad {name} {value[:40]!r}: expected a whole number")
        return None
    return int(value)


DDL = (
    raw_table_ddl(
        "eidr_registry",
        """
    eidr_id text not null,
    resource_name text not null,
    alternate_names jsonb not null,
    referent_type text,
    structural_type text,
    release_date date,
    release_year int,
    approximate_length_minutes int,
    country_of_origin text,
    directors text,
    parent_eidr_id text,
    season_number int,
    episode_number int,
    registry_status text not null,
    record json not null
""",
    )
    + """
create index if not exists eidr_registry_id_idx on raw.eidr_registry (eidr_id, interval_end desc, loaded_at desc);
"""
)


FORMAT = FormatSpec("eidr_registry", "eidr_registry", REGISTRY_COLUMNS, parse_registry_records, DDL)
