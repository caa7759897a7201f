"""MovieLabs Media Entertainment Core (MEC): one title record per BasicMetadata, and the MovieLabs XML helpers."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any, TypeVar
from xml.etree.ElementTree import Element, tostring

from ingest import eidr
from ingest.formats import fields
from ingest.formats.raw_tables import raw_table_ddl
from ingest.formats.safe_xml import MAX_RAW_RECORD_CHARS, XmlRejected, local_name, parse_xml, raw_text
from ingest.models import ParsedRecord, ParseOutcome, Quarantined

MAX_DEPTH = 64
BASIC_ELEMENTS = ("Basic", "BasicMetadata")
EIDR_NAMESPACES = ("EIDR", "EIDR-S", "EIDR-X", "EIDR-URN", "EIDR-TITLE", "EIDR-EDIT")
_DURATION = re.compile(r"^P(?:(\d{1,4})D)?(?:T(?:(\d{1,5})H)?(?:(\d{1,6})M)?(?:(\d{1,7}(?:\.\d+)?)S)?)?$")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?$")
T = TypeVar("T")

# Parsed columns of raw.mec_titles, in table order (the batch columns come first, added by the loader).
MEC_COLUMNS: tuple[str, ...] = (
    "content_id", "work_type", "title", "title_language", "localized_titles", "original_title", "release_year",
    "release_date", "run_length", "run_length_minutes", "sequence_number", "parent_content_id",
    "parent_relationship", "parent_eidr_id", "eidr_id_provided", "eidr_id", "eidr_status", "eidr_invalid_reason",
    "alt_identifiers", "directors", "actors", "associated_orgs", "country_of_origin", "primary_spoken_language",
    "genres", "summary", "record",
)  # fmt: skip


class Rejected(Exception):
    """Well-formed XML that is not a loadable document or record; fragment says where, e.g. /CoreMetadata/Basic[1]."""

    def __init__(self, reason: str, fragment: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.fragment = fragment


# ---- MovieLabs XML helpers, shared by the MEC, MMC and Avails parsers (namespaces are ignored: local names only) ----


def kids(element: Element | None, name: str) -> list[Element]:
    """Direct children with local name `name`, in document order (none under an absent element)."""
    return [] if element is None else [child for child in element if local_name(child.tag) == name]


def first(element: Element | None, *path: str) -> Element | None:
    """The first element down a path of local names, or None."""
    for name in path:
        if element is None:
            return None
        element = next((child for child in element if local_name(child.tag) == name), None)
    return element


def text_at(element: Element | None, *path: str) -> str | None:
    """Stripped text of the first element down a path of local names; empty or absent is None."""
    found = first(element, *path) if path else element
    return fields.text(found.text) if found is not None else None


def texts_at(element: Element, name: str) -> list[str]:
    """Non-empty stripped texts of the direct children named `name`."""
    return [value for child in kids(element, name) if (value := fields.text(child.text))]


def walk(root: Element, names: tuple[str, ...]) -> Iterator[tuple[Element, str]]:
    """Elements with one of the local names, anywhere under root (not inside each other), with their XPath-like path."""

    def visit(element: Element, path: str, depth: int) -> Iterator[tuple[Element, str]]:
        if depth > MAX_DEPTH:
            raise Rejected(f"elements nested deeper than {MAX_DEPTH} levels", path)
        seen: dict[str, int] = {}
        for child in element:
            name = local_name(child.tag)
            if not name:  # comments and processing instructions
                continue
            seen[name] = seen.get(name, 0) + 1
            child_path = f"{path}/{name}[{seen[name]}]"
            if name in names:
                yield child, child_path
            else:
                yield from visit(child, child_path, depth + 1)

    yield from visit(root, f"/{local_name(root.tag)}", 0)


def element_json(element: Element, depth: int = 0) -> Any:
    """Everything an element holds as plain JSON: a leaf without attributes is its text; otherwise a dict with
    `@attribute` keys, `#text` and one list per child local name (document order within a name)."""
    if depth > MAX_DEPTH:
        raise Rejected(f"elements nested deeper than {MAX_DEPTH} levels")
    attributes = {f"@{local_name(name)}": value for name, value in element.attrib.items()}
    children = [child for child in element if local_name(child.tag)]
    body = element.text.strip() if element.text else ""
    if not attributes and not children:
        return body
    value: dict[str, Any] = dict(attributes)
    if body:
        value["#text"] = body
    for child in children:
        value.setdefault(local_name(child.tag), []).append(element_json(child, depth + 1))
    return value


def record_hash(record: Any) -> str:
    """SHA-256 of the record's canonical JSON: follows content, not formatting or position in the file."""
    canonical = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def element_text(element: Element) -> str:
    """An element serialised for raw.quarantine (namespace prefixes become ns0:...), capped in size."""
    try:
        serialised = tostring(element, encoding="unicode")
    except Exception as err:  # noqa: BLE001 - a quarantine row must still be written
        serialised = f"[element could not be serialised: {type(err).__name__}]"
    return raw_text(serialised.encode("utf-8", "surrogatepass")[: MAX_RAW_RECORD_CHARS + 1])


def eidr_columns(value: str | None) -> dict[str, Any]:
    """eidr_id_provided / eidr_id / eidr_status / eidr_invalid_reason of one provided value (ingest.eidr rules)."""
    checked = eidr.parse_eidr(value)
    return {
        "eidr_id_provided": fields.text(value),
        "eidr_id": checked.canonical,
        "eidr_status": checked.status.value,
        "eidr_invalid_reason": checked.reason,
    }


def claims_eidr(value: str | None) -> bool:
    """Whether an ID claims to be an EIDR (md:cid:eidr-s:..., urn:eidr:..., 10.5240/...), valid or not; a provider's
    own content ID (md:cid:org:..., 030434) does not, so it leaves the EIDR missing rather than invalid."""
    checked = eidr.parse_eidr(value)
    return checked.status is eidr.EidrStatus.VALID or checked.kind is not None


def duration_minutes(value: str) -> int:
    """An ISO 8601 duration (PT1H30M, PT117M00.0S, PT01H37M49S) as whole minutes, rounded half up."""
    match = _DURATION.match(value.strip().upper())
    if not match or not any(match.groups()) or value.strip().upper().endswith("T"):
        raise ValueError("expected an ISO 8601 duration like PT1H30M")
    days, hours, minutes, seconds = (float(part) if part else 0.0 for part in match.groups())
    total = days * 86400 + hours * 3600 + minutes * 60 + seconds
    return int(total // 60 + (1 if total % 60 >= 30 else 0))


def iso_date(value: str) -> date:
    """An xs:date (2013-10-25, optionally with a zone) as a date."""
    match = _DATE.match(value.strip())
    if not match:
        raise ValueError("expected YYYY-MM-DD")
    return date.fromisoformat(match.group(1))


class Converter:
    """Collects every bad value of one record, so a single quarantine reason names them all."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def __call__(self, name: str, value: Any, parse: Callable[[Any], T]) -> T | None:
        if value is None:
            return None
        try:
            return parse(value)
        except (ValueError, TypeError, OverflowError) as err:
            self.errors.append(f"bad {name} {str(value)[:80]!r}: {err}")
            return None

    def require(self, name: str, value: Any) -> None:
        """Note a required value that is absent."""
        if value is None or value == "":
            self.errors.append(f"no {name}")

    def check(self) -> None:
        """Raise Rejected with every collected error."""
        if self.errors:
            raise Rejected("; ".join(self.errors))


def xml_document(data: bytes, source_file: str, read: Callable[[Element], list[ParseOutcome]]) -> list[ParseOutcome]:
    """Parse a whole document safely and hand the root to `read`; a document-level problem is one quarantine row."""
    try:
        return read(parse_xml(data))
    except XmlRejected as err:
        location = f"{source_file}:{err.position[0]}:{err.position[1]}" if err.position else source_file
        return [Quarantined(source_file, location, err.reason, raw_text(data))]
    except Rejected as err:
        location = f"{source_file}#{err.fragment}" if err.fragment else source_file
        return [Quarantined(source_file, location, err.reason, raw_text(data))]
    except Exception as err:  # a single file must never abort the batch
        reason = f"unexpected parser error: {type(err).__name__}: {err}"
        return [Quarantined(source_file, source_file, reason, raw_text(data))]


def each_record(
    source_file: str, items: list[tuple[Element, str]], convert: Callable[[Element, str], ParseOutcome]
) -> list[ParseOutcome]:
    """Convert each located element; a problem with one (even a parser bug) quarantines that one only."""
    outcomes: list[ParseOutcome] = []
    for element, path in items:
        location = f"{source_file}#{path}"
        try:
            outcomes.append(convert(element, location))
        except Rejected as err:
            where = f"{source_file}#{err.fragment}" if err.fragment else location
            outcomes.append(Quarantined(source_file, where, err.reason, element_text(element)))
        except Exception as err:  # noqa: BLE001
            reason = f"unexpected parser error: {type(err).__name__}: {err}"
            outcomes.append(Quarantined(source_file, location, reason, element_text(element)))
    return outcomes


# ---- MEC ----


def parse_mec_records(data: bytes, source_file: str, options: Mapping[str, Any] | None = None) -> list[ParseOutcome]:
    """The FormatSpec entry point: one outcome per BasicMetadata (mdmec:Basic) in the file; never raises."""

    def read(root: Element) -> list[ParseOutcome]:
        basics = list(walk(root, BASIC_ELEMENTS))
        if not basics:
            if local_name(root.tag) != "CoreMetadata":
                raise Rejected(f"not an MEC document: root element is <{local_name(root.tag)}>")
            raise Rejected("no BasicMetadata (mdmec:Basic) in the document", f"/{local_name(root.tag)}")
        return each_record(source_file, basics, lambda basic, location: _mec_record(basic, source_file, location))

    return xml_document(data, source_file, read)


def _mec_record(basic: Element, source_file: str, location: str) -> ParsedRecord:
    record = element_json(basic)
    columns = mec_columns(basic)
    columns["record"] = record
    return ParsedRecord(source_file, location, record_hash(record), columns)


def mec_columns(basic: Element) -> dict[str, Any]:
    """The typed columns of raw.mec_titles (without `record`); raises Rejected naming every problem."""
    convert = Converter()
    content_id = fields.text(basic.attrib.get("ContentID"))
    work_type = text_at(basic, "WorkType")
    infos = kids(basic, "LocalizedInfo")
    localized = [
        {"language": fields.text(info.attrib.get("language")), "title": title, "default": _is_default(info)}
        for info in infos
        if (title := _display_title(info))
    ]
    chosen = next((info for info in infos if _is_default(info) and _display_title(info)), None)
    chosen = chosen if chosen is not None else next((info for info in infos if _display_title(info)), None)
    convert.require("ContentID", content_id)
    convert.require("WorkType", work_type)
    if chosen is None:
        convert.errors.append("no title (LocalizedInfo TitleDisplayUnlimited, TitleDisplay60 or TitleDisplay19)")
    run_length = text_at(basic, "RunLength")
    release_date_text = text_at(basic, "ReleaseDate")
    release_year = convert("ReleaseYear", text_at(basic, "ReleaseYear"), fields.year)
    release_date = None
    if release_date_text and re.fullmatch(r"\d{4}", release_date_text):
        release_year = release_year or convert("ReleaseDate", release_date_text, fields.year)
    else:
        release_date = convert("ReleaseDate", release_date_text, iso_date)
    if release_year is None and release_date is not None:
        release_year = release_date.year
    parent = first(basic, "Parent")
    parent_id = text_at(parent, "ParentContentID")
    alt_ids = [
        {"namespace": text_at(alt, "Namespace"), "identifier": text_at(alt, "Identifier")}
        for alt in kids(basic, "AltIdentifier")
    ]
    eidr_alt = next(
        (a["identifier"] for a in alt_ids if (a["namespace"] or "").upper() in EIDR_NAMESPACES and a["identifier"]),
        None,
    )
    provided = eidr_alt or (content_id if claims_eidr(content_id) else None)
    parent_eidr = eidr.parse_eidr(parent_id).canonical if claims_eidr(parent_id) else None
    columns: dict[str, Any] = {
        "content_id": content_id,
        "work_type": work_type.lower() if work_type else None,
        "title": _display_title(chosen) if chosen is not None else None,
        "title_language": fields.text(chosen.attrib.get("language")) if chosen is not None else None,
        "localized_titles": localized,
        "original_title": text_at(chosen, "OriginalTitle") if chosen is not None else None,
        "release_year": release_year,
        "release_date": release_date,
        "run_length": run_length,
        "run_length_minutes": convert("RunLength", run_length, duration_minutes),
        "sequence_number": convert("SequenceInfo/Number", text_at(basic, "SequenceInfo", "Number"), fields.integer),
        "parent_content_id": parent_id,
        "parent_relationship": fields.text(parent.attrib.get("relationshipType")) if parent is not None else None,
        "parent_eidr_id": parent_eidr,
        **eidr_columns(provided),
        "alt_identifiers": alt_ids,
        "directors": _joined(people(basic, "Director")),
        "actors": _joined(people(basic, "Actor")),
        "associated_orgs": [
            {
                "role": fields.text(org.attrib.get("role")),
                "organization_id": fields.text(org.attrib.get("organizationID")),
                "display_name": text_at(org, "DisplayName"),
            }
            for org in kids(basic, "AssociatedOrg")
        ],
        "country_of_origin": text_at(basic, "CountryOfOrigin", "country")
        or text_at(basic, "CountryOfOrigin", "countryRegion"),
        "primary_spoken_language": text_at(basic, "PrimarySpokenLanguage"),
        "genres": _joined(list(dict.fromkeys(texts_at(chosen, "Genre"))), ", ") if chosen is not None else None,
        "summary": next(
            (s for name in ("Summary190", "Summary400", "Summary4000") if (s := text_at(chosen, name))), None
        )
        if chosen is not None
        else None,
    }
    convert.check()
    return columns


def people(element: Element, job: str) -> list[str]:
    """Display names of the People with JobFunction `job` (case-insensitive), in billing order then document order."""
    found = []
    for index, person in enumerate(kids(element, "People")):
        jobs = kids(person, "Job")
        if not any((text_at(j, "JobFunction") or "").lower() == job.lower() for j in jobs):
            continue
        name = text_at(person, "Name", "DisplayName")
        order = next((text_at(j, "BillingBlockOrder") for j in jobs if text_at(j, "BillingBlockOrder")), None)
        if name:
            found.append((int(order) if order and order.isdigit() else 10**6, index, name))
    return list(dict.fromkeys(name for _, _, name in sorted(found)))


def _display_title(info: Element | None) -> str | None:
    if info is None:
        return None
    return next(
        (t for name in ("TitleDisplayUnlimited", "TitleDisplay60", "TitleDisplay19") if (t := text_at(info, name))),
        None,
    )


def _is_default(info: Element) -> bool:
    return (info.attrib.get("default") or "").strip().lower() in ("true", "1")


def _joined(values: list[str], separator: str = "; ") -> str | None:
    return separator.join(values) or None


DDL = raw_table_ddl(
    "mec_titles",
    """
    content_id text not null,
    work_type text not null,
    title text not null,
    title_language text,
    localized_titles jsonb not null,
    original_title text,
    release_year int,
    release_date date,
    run_length text,
    run_length_minutes int,
    sequence_number int,
    parent_content_id text,
    parent_relationship text,
    parent_eidr_id text,
    eidr_id_provided text,
    eidr_id text,
    eidr_status text not null,
    eidr_invalid_reason text,
    alt_identifiers jsonb not null,
    directors text,
    actors text,
    associated_orgs jsonb not null,
    country_of_origin text,
    primary_spoken_language text,
    genres text,
    summary text,
    record json not null
""",
)
