"""EMA/MovieLabs Avails: one record per Avail transaction (XML) or spreadsheet row (see avails_xlsx), checked against
the Avails rules that are cheap to check; a record that breaks them is quarantined with every reason."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from xml.etree.ElementTree import Element

from ingest.load.raw_tables import raw_table_ddl
from ingest.models import ParsedRecord, ParseOutcome, Quarantined, Rejected
from ingest.parse.formats import fields
from ingest.parse.formats.movielabs import (
    Converter,
    claims_eidr,
    eidr_columns,
    element_json,
    element_text,
    first,
    kids,
    record_hash,
    text_at,
    texts_at,
    walk,
    xml_document,
)
from ingest.parse.formats.safe_xml import local_name
from ingest.parse.formats.spec import FormatSpec

# Avails vocabularies (MovieLabs mddf vocab_avail v2.4/v2.5); a provider may extend LicenseType by the format
# option `license_types` (a list), e.g. for AVOD/FVOD windows agreed outside the spec.
LICENSE_TYPES = ("EST", "VOD", "SVOD", "POEST", "Pre-Release", "Library", "AVOD", "FVOD")
FORMAT_PROFILES = ("SD", "HD", "UHD", "3D", "3DSD", "3DHD", "3DUHD")
ENTRY_TYPES = ("Full Extract", "Full Delete", "Create", "Update", "Delete")
DATETIME_CONDITIONS = ("Open", "Immediate", "ESTStart", "EST", "Broadcast", "Completed", "Theatrical", "TBD")
PRICE_TERMS = re.compile(
    r"^(?:TPR-)?(?:Tier|SRP|WSP|EpisodeWSP|SeasonWSP|DMRP|SMRP|LicenseFee|Category|NA)(?:-PostTax)?$", re.IGNORECASE
)
# ISO 3166-1 alpha-2 (from the IANA tz iso3166.tab), plus XK (Kosovo), which distributors use.
COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO
    JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR
    MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO
    RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV
    TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK""".split()  # noqa: SIM905 - a list literal of 250 codes reads worse
)
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")

# Parsed columns of raw.avails (both avails_xml and avails_xlsx), in table order (the loader adds the batch columns).
AVAIL_COLUMNS: tuple[str, ...] = (
    "alid", "transaction_id", "entry_type", "avail_type", "work_type", "licensor", "title", "title_internal_alias",
    "series_title", "season_number", "episode_number", "content_id", "title_id", "edit_id", "eidr_source",
    "eidr_id_provided", "eidr_id", "eidr_status", "eidr_invalid_reason", "territory", "license_type",
    "license_rights_description", "format_profile", "window_start", "window_start_condition", "window_end",
    "window_end_condition", "price_type", "price_value", "price_currency", "allowed_languages", "asset_language",
    "record",
)  # fmt: skip


def avail_columns(values: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The typed columns of raw.avails (without `record`) from one Avail's values by column name; raises Rejected
    naming every broken rule: required values, Start before End, known LicenseType/FormatProfile/EntryType,
    ISO country codes for territories and language regions, whole season/episode numbers."""
    convert = Converter()

    def value(name: str) -> str | None:
        raw = values.get(name)
        return _cell_text(raw) if raw is not None else None

    license_types = tuple(LICENSE_TYPES) + tuple(str(t) for t in (options or {}).get("license_types", ()) or ())
    work_type = value("work_type")
    territories = [t for t in (_cell_text(v) for v in values.get("territories") or ()) if t]
    license_type = value("license_type")
    for name, label in (("alid", "ALID"), ("work_type", "WorkType"), ("licensor", "Licensor DisplayName")):
        convert.require(label, value(name))
    if not territories:
        convert.errors.append("no Territory")
    for territory in territories:
        if territory.upper() not in COUNTRIES:
            convert.errors.append(f"bad Territory {territory[:80]!r}: not an ISO 3166-1 country code")
    if not license_type:
        convert.errors.append("no LicenseType")
    elif license_type.lower() not in {t.lower() for t in license_types}:
        convert.errors.append(f"bad LicenseType {license_type[:80]!r}: expected one of {', '.join(license_types)}")
    for name, label, vocabulary in (
        ("format_profile", "FormatProfile", FORMAT_PROFILES),
        ("entry_type", "EntryType", ENTRY_TYPES),
    ):
        given = value(name)
        if given and given.lower() not in {v.lower() for v in vocabulary}:
            convert.errors.append(f"bad {label} {given[:80]!r}: expected one of {', '.join(vocabulary)}")
    start, start_condition = _window(convert, "Start", values.get("start"), end_of_day=False)
    end, end_condition = _window(convert, "End", values.get("end"), end_of_day=True)
    start_condition = start_condition or value("start_condition")
    end_condition = end_condition or value("end_condition")
    if start is None and start_condition is None and not any(e.startswith("bad Start") for e in convert.errors):
        convert.errors.append("no Start (date or StartCondition)")
    inverted = fields.window_problem("Start", start, "End", end, empty_allowed=False)
    if inverted:
        convert.errors.append(inverted)
    languages = _languages(values.get("allowed_languages"))
    for language in languages:
        reason = language_problem(language)
        if reason:
            convert.errors.append(f"bad AllowedLanguage {language[:80]!r}: {reason}")
    eidr_source, provided = next(
        ((label, ids) for label, ids in (("EditID", value("edit_id")), ("TitleID", value("title_id"))) if ids),
        (None, None),
    )
    if provided is None and claims_eidr(value("content_id")):
        eidr_source, provided = "ContentID", value("content_id")
    title = _squeezed(value("title")) or _squeezed(value("title_internal_alias"))
    series_title = _squeezed(value("series_title"))
    if title is None and (work_type or "").lower() in ("season", "series", "volume"):
        title = series_title
    if title is None:
        convert.errors.append("no title (TitleDisplayUnlimited or TitleInternalAlias)")
    columns: dict[str, Any] = {
        "alid": value("alid"),
        "transaction_id": value("transaction_id"),
        "entry_type": value("entry_type"),
        "avail_type": value("avail_type"),
        "work_type": work_type,
        "licensor": value("licensor"),
        "title": title,
        "title_internal_alias": _squeezed(value("title_internal_alias")),
        "series_title": series_title,
        "season_number": convert("SeasonNumber", value("season_number"), fields.integer),
        "episode_number": convert("EpisodeNumber", value("episode_number"), fields.integer),
        "content_id": value("content_id"),
        "title_id": value("title_id"),
        "edit_id": value("edit_id"),
        "eidr_source": eidr_source,
        **eidr_columns(provided),
        "territory": ",".join(t.upper() for t in territories) or None,
        "license_type": license_type,
        "license_rights_description": value("license_rights_description"),
        "format_profile": value("format_profile"),
        "window_start": start,
        "window_start_condition": start_condition,
        "window_end": end,
        "window_end_condition": end_condition,
        "price_type": value("price_type"),
        "price_value": value("price_value"),
        "price_currency": value("price_currency"),
        "allowed_languages": languages,
        "asset_language": value("asset_language"),
    }
    convert.check()
    return columns


def language_problem(language: str) -> str | None:
    """Why a BCP 47 language tag is not acceptable (cheap checks: syntax, and a region subtag must be a country)."""
    if not _LANGUAGE.match(language):
        return "not a BCP 47 language tag"
    for subtag in language.split("-")[1:]:
        if len(subtag) == 2 and subtag.isalpha() and subtag.upper() not in COUNTRIES:
            return f"region {subtag} is not an ISO 3166-1 country code"
    return None


def _window(convert: Converter, name: str, raw: Any, *, end_of_day: bool) -> tuple[datetime | None, str | None]:
    """A window bound: (timestamp, None) for a date or datetime, (None, condition) for Open/Immediate/..., else an
    error. Spreadsheet dates arrive as datetimes at midnight: a bare date, so an End date includes its whole day."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    if isinstance(raw, datetime):
        if raw.time() == time(0) and raw.tzinfo is None:
            return _day_bound(raw.date(), end_of_day), None
        return (raw.replace(tzinfo=UTC) if raw.tzinfo is None else raw), None
    if isinstance(raw, date):
        return _day_bound(raw, end_of_day), None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        parsed = convert(name, raw, _excel_serial)
        return (_day_bound(parsed, end_of_day) if parsed else None), None
    text = str(raw).strip()
    condition = next((c for c in DATETIME_CONDITIONS if c.lower() == text.lower()), None)
    if condition:
        return None, condition
    parsed_time = convert(name, text, lambda v: fields.timestamp(v, end_of_day=end_of_day))
    if parsed_time is None and convert.errors and convert.errors[-1].startswith(f"bad {name} "):
        convert.errors[-1] += f" or one of {', '.join(DATETIME_CONDITIONS)}"
    return parsed_time, None


def _day_bound(day: date, end_of_day: bool) -> datetime:
    return datetime.combine(day, time(23, 59, 59) if end_of_day else time(0), tzinfo=UTC)


def _excel_serial(value: float) -> date:
    """An Excel date serial number (a date cell without a date format) as a date."""
    if not 1 <= value < 2958466:
        raise ValueError("expected a date")
    return date(1899, 12, 30) + timedelta(days=int(value))


def _languages(raw: Any) -> list[str]:
    if raw is None:
        return []
    items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    return [text for item in items if (text := fields.text(str(item)))]


def _cell_text(raw: Any) -> str | None:
    """A cell or element value as text: whole floats lose their .0, dates become ISO strings."""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, datetime | date | time):
        return raw.isoformat()
    return fields.text(str(raw))


def _squeezed(value: str | None) -> str | None:
    return " ".join(value.split()) if value else None


# ---- Avails XML ----


def parse_avails_xml(data: bytes, source_file: str, options: Mapping[str, Any] | None = None) -> list[ParseOutcome]:
    """The FormatSpec entry point: one outcome per Avail Transaction of an AvailList; never raises."""

    def read(root: Element) -> list[ParseOutcome]:
        if local_name(root.tag) not in ("AvailList", "Avail"):
            raise Rejected(f"not an Avails document: root element is <{local_name(root.tag)}>")
        avails = [(root, "/Avail[1]")] if local_name(root.tag) == "Avail" else list(walk(root, ("Avail",)))
        if not avails:
            raise Rejected("no Avail in the AvailList", f"/{local_name(root.tag)}")
        outcomes: list[ParseOutcome] = []
        for avail, path in avails:
            outcomes.extend(_avail_outcomes(avail, path, source_file, options))
        return outcomes

    return xml_document(data, source_file, read)


def _avail_outcomes(
    avail: Element, path: str, source_file: str, options: Mapping[str, Any] | None
) -> list[ParseOutcome]:
    """One outcome per Transaction of the Avail; the record keeps the whole Avail with just that Transaction."""
    try:
        avail_json = element_json(avail)
        transactions = kids(avail, "Transaction")
        if not transactions:
            raise Rejected("Avail has no Transaction")
        shared = _avail_values(avail)
    except Exception as err:  # noqa: BLE001 - one bad Avail never costs the others
        return [Quarantined(source_file, f"{source_file}#{path}", _reason(err), element_text(avail))]
    outcomes: list[ParseOutcome] = []
    for index, transaction in enumerate(transactions, 1):
        location = f"{source_file}#{path}/Transaction[{index}]"
        try:
            values = {**shared, **_transaction_values(transaction)}
            columns = avail_columns(values, options)
            record = {**avail_json, "Transaction": [element_json(transaction)]}
            columns["record"] = record
            outcomes.append(ParsedRecord(source_file, location, record_hash(record), columns))
        except Exception as err:  # noqa: BLE001
            outcomes.append(Quarantined(source_file, location, _reason(err), element_text(avail)))
    return outcomes


def _reason(err: Exception) -> str:
    return err.reason if isinstance(err, Rejected) else f"unexpected parser error: {type(err).__name__}: {err}"


def _avail_values(avail: Element) -> dict[str, Any]:
    asset = first(avail, "Asset")
    meta = (
        next((child for child in asset if local_name(child.tag).endswith("Metadata")), None)
        if asset is not None
        else None
    )
    prefix = {"SeasonMetadata": "Season", "SeriesMetadata": "Series", "VolumeMetadata": "Volume"}.get(
        local_name(meta.tag) if meta is not None else "", ""
    )
    return {
        "alid": text_at(avail, "ALID"),
        "entry_type": text_at(avail, "Disposition", "EntryType"),
        "avail_type": text_at(avail, "AvailType"),
        "licensor": text_at(avail, "Licensor", "DisplayName"),
        "work_type": text_at(asset, "WorkType"),
        "content_id": fields.text(asset.attrib.get("contentID")) if asset is not None else None,
        "title": text_at(meta, f"{prefix}TitleDisplayUnlimited"),
        "title_internal_alias": text_at(meta, f"{prefix}TitleInternalAlias"),
        "edit_id": text_at(meta, "EditEIDR-URN"),
        "title_id": text_at(meta, "TitleEIDR-URN") or (text_at(meta, f"{prefix}EIDR-URN") if prefix else None),
        "series_title": _deep_text(asset, "SeriesTitleDisplayUnlimited")
        or _deep_text(asset, "SeriesTitleInternalAlias"),
        "season_number": _deep_text(asset, "SeasonNumber", "Number"),
        "episode_number": _deep_text(asset, "EpisodeNumber", "Number"),
    }


def _transaction_values(transaction: Element) -> dict[str, Any]:
    price = next(
        (term for term in kids(transaction, "Term") if PRICE_TERMS.match(term.attrib.get("termName", "").strip())),
        None,
    )
    money = first(price, "Money")
    return {
        "transaction_id": fields.text(transaction.attrib.get("TransactionID")),
        "license_type": text_at(transaction, "LicenseType"),
        "territories": [
            value
            for territory in kids(transaction, "Territory")
            for value in (*texts_at(territory, "country"), *texts_at(territory, "countryRegion"))
        ],
        "start": text_at(transaction, "Start"),
        "start_condition": text_at(transaction, "StartCondition"),
        "end": text_at(transaction, "End"),
        "end_condition": text_at(transaction, "EndCondition"),
        "allowed_languages": texts_at(transaction, "AllowedLanguage"),
        "asset_language": text_at(transaction, "AssetLanguage"),
        "license_rights_description": text_at(transaction, "LicenseRightsDescription"),
        "format_profile": text_at(transaction, "FormatProfile"),
        "price_type": fields.text(price.attrib.get("termName")) if price is not None else None,
        "price_value": (text_at(money) or text_at(price, "Text")) if price is not None else None,
        "price_currency": fields.text(money.attrib.get("currency")) if money is not None else None,
    }


def _deep_text(element: Element | None, name: str, *path: str) -> str | None:
    """Text of the first descendant named `name` (then down `path`), at any depth."""
    if element is None:
        return None
    found = next((e for e in element.iter() if local_name(e.tag) == name), None)
    return text_at(found, *path) if path else text_at(found)


DDL = raw_table_ddl(
    "avails",
    """
    alid text not null,
    transaction_id text,
    entry_type text,
    avail_type text,
    work_type text not null,
    licensor text not null,
    title text not null,
    title_internal_alias text,
    series_title text,
    season_number int,
    episode_number int,
    content_id text,
    title_id text,
    edit_id text,
    eidr_source text,
    eidr_id_provided text,
    eidr_id text,
    eidr_status text not null,
    eidr_invalid_reason text,
    territory text not null,
    license_type text not null,
    license_rights_description text,
    format_profile text,
    window_start timestamptz,
    window_start_condition text,
    window_end timestamptz,
    window_end_condition text,
    price_type text,
    price_value text,
    price_currency text,
    allowed_languages jsonb not null,
    asset_language text,
    record json not null
""",
) + (
    "create index if not exists avails_window_key_idx on raw.avails ((provider_id || ':'"
    " || coalesce(alid, edit_id, title_id, content_id, title) || ':' || coalesce(territory, '?')"
    " || ':' || coalesce(license_type, '?') || ':' || coalesce(format_profile, '?')));\n"
)  # stg_avails__avails.window_key: the marts look a changed window's versions up by it


FORMAT = FormatSpec("avails_xml", "avails", AVAIL_COLUMNS, parse_avails_xml, DDL)
