"""MovieLabs Media Entertainment Core (MEC): one title record per BasicMetadata."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element

from ingest import eidr
from ingest.load.raw_tables import raw_table_ddl
from ingest.models import ParsedRecord, ParseOutcome, Rejected
from ingest.parse.formats import fields
from ingest.parse.formats.movielabs import (
    Converter,
    claims_eidr,
    duration_minutes,
    each_record,
    eidr_columns,
    element_json,
    first,
    iso_date,
    kids,
    record_hash,
    text_at,
    texts_at,
    walk,
    xml_document,
)
from ingest.parse.formats.safe_xml import local_name
from ingest.parse.formats.spec import FormatSpec

BASIC_ELEMENTS = ("Basic", "BasicMetadata")
EIDR_NAMESPACES = ("EIDR", "EIDR-S", "EIDR-X", "EIDR-URN", "EIDR-TITLE", "EIDR-EDIT")

# Parsed columns of raw.mec_titles, in table order (the batch columns come first, added by the loader).
MEC_COLUMNS: tuple[str, ...] = (
    "content_id", "work_type", "title", "title_language", "localized_titles", "original_title", "release_year",
    "release_date", "run_length", "run_length_minutes", "sequence_number", "parent_content_id",
    "parent_relationship", "parent_eidr_id", "eidr_id_provided", "eidr_id", "eidr_status", "eidr_invalid_reason",
    "alt_identifiers", "directors", "actors", "associated_orgs", "country_of_origin", "primary_spoken_language",
    "genres", "summary", "record",
)  # fmt: skip


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
    if chosen is None:
        chosen = next((info for info in infos if _display_title(info)), None)
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
) + (
    "create index if not exists mec_titles_asset_key_idx on raw.mec_titles ((provider_id || ':' || content_id));\n"
)  # stg_mec__titles.asset_key: the marts look a changed asset's versions up by it


FORMAT = FormatSpec("mec", "mec_titles", MEC_COLUMNS, parse_mec_records, DDL, version_key=("content_id",))
