"""EMA Avails spreadsheets: one record per data row of every Avails sheet, read with openpyxl in read-only mode.

Layout (EMA template): row 1 the XML section of each column (Avail, AvailTrans...), row 2 the column names, row 3
REQ/Opt notes (or empty), data from row 4. Column names may be cut to 25 characters (EpisodeTitleDisplayUnlimi).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from ingest.limits import (
    MAX_CELL_CHARS,
    MAX_RAW_RECORD_CHARS,
    MAX_SHEET_COLUMNS,
    MAX_SHEET_ROWS,
    MAX_UNCOMPRESSED_BYTES,
)
from ingest.models import ParsedRecord, ParseOutcome, Quarantined, Rejected
from ingest.parse.formats.avails import AVAIL_COLUMNS, DDL, avail_columns
from ingest.parse.formats.movielabs import record_hash
from ingest.parse.formats.spec import FormatSpec

HEADER_SEARCH_ROWS = 6
NAME_LENGTH = 25  # the EMA template truncates column names to 25 characters
_HEADER_MARKERS = {"alid", "territory", "licensetype", "worktype", "start"}
_NOTE = re.compile(r"^\s*(?:/|req|opt)", re.IGNORECASE)

# Our value name -> the template's column names, most specific first; TV sheets name the IDs per work type.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "alid": ("ALID",),
    "transaction_id": ("AvailID",),
    "entry_type": ("EntryType",),
    "licensor": ("DisplayName",),
    "work_type": ("WorkType",),
    "title_internal_alias": ("TitleInternalAlias",),
    "series_title": ("SeriesTitleDisplayUnlimited", "SeriesTitleInternalAlias"),
    "season_number": ("SeasonNumber",),
    "episode_number": ("EpisodeNumber",),
    "license_type": ("LicenseType",),
    "license_rights_description": ("LicenseRightsDescription",),
    "format_profile": ("FormatProfile",),
    "start": ("Start",),
    "end": ("End",),
    "price_type": ("PriceType",),
    "price_value": ("PriceValue",),
    "price_currency": ("PriceCurrency",),
    "allowed_languages": ("AllowedLanguages",),
    "asset_language": ("AssetLanguage",),
}
_BY_WORK_TYPE: dict[str, dict[str, tuple[str, ...]]] = {
    "episode": {
        "title": ("EpisodeTitleDisplayUnlimited", "TitleDisplayUnlimited", "EpisodeTitleInternalAlias"),
        "title_internal_alias": ("EpisodeTitleInternalAlias", "TitleInternalAlias"),
        "edit_id": ("EditID", "EpisodeID"),
        "title_id": ("TitleID", "EpisodeTitleID"),
        "content_id": ("ContentID", "EpisodeContentID"),
    },
    "season": {
        "title": ("SeasonTitleDisplayUnlimited", "TitleDisplayUnlimited", "SeasonTitleInternalAlias"),
        "title_internal_alias": ("SeasonTitleInternalAlias", "TitleInternalAlias"),
        "edit_id": ("EditID",),
        "title_id": ("TitleID", "SeasonID"),
        "content_id": ("ContentID", "SeasonContentID"),
    },
    "series": {
        "title": ("SeriesTitleDisplayUnlimited", "TitleDisplayUnlimited", "SeriesTitleInternalAlias"),
        "title_internal_alias": ("SeriesTitleInternalAlias", "TitleInternalAlias"),
        "edit_id": ("EditID",),
        "title_id": ("TitleID", "SeriesID"),
        "content_id": ("ContentID", "SeriesContentID"),
    },
}
_DEFAULT = {
    "title": ("TitleDisplayUnlimited", "TitleInternalAlias"),
    "edit_id": ("EditID",),
    "title_id": ("TitleID",),
    "content_id": ("ContentID",),
}


def parse_avails_xlsx(data: bytes, source_file: str, options: Mapping[str, Any] | None = None) -> list[ParseOutcome]:
    """The FormatSpec entry point: one outcome per data row; a workbook that cannot be read is one quarantine row."""
    try:
        return _parse(data, source_file, options)
    except Rejected as err:
        return [Quarantined(source_file, source_file, err.reason, _file_note(data))]
    except Exception as err:  # a single file must never abort the batch
        reason = f"unexpected parser error: {type(err).__name__}: {err}"
        return [Quarantined(source_file, source_file, reason, _file_note(data))]


def _parse(data: bytes, source_file: str, options: Mapping[str, Any] | None) -> list[ParseOutcome]:
    from openpyxl import load_workbook  # heavy import, only where spreadsheets are read

    _check_zip(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # noqa: BLE001 - openpyxl raises many types for a broken workbook
        raise Rejected(f"not a readable xlsx workbook: {type(err).__name__}: {err}") from None
    try:
        outcomes: list[ParseOutcome] = []
        found_sheet = False
        for sheet in workbook.worksheets:
            try:
                sheet_outcomes = _read_sheet(sheet, source_file, options)
            except Rejected:
                raise
            except Exception as err:  # noqa: BLE001 - openpyxl reads a sheet's XML lazily, and raises many types
                raise Rejected(
                    f"not a readable xlsx workbook: sheet {sheet.title!r}: {type(err).__name__}: {err}"
                ) from None
            if sheet_outcomes is not None:
                found_sheet = True
                outcomes.extend(sheet_outcomes)
        if not found_sheet:
            raise Rejected(
                f"no Avails sheet: no row with ALID, Territory, LicenseType columns in the first {HEADER_SEARCH_ROWS}"
                " rows of any sheet"
            )
        if not outcomes:
            raise Rejected("no Avail rows: the Avails sheets have a header but no data rows")
        return outcomes
    finally:
        workbook.close()


def _check_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        raise Rejected(f"not an xlsx workbook (not a zip archive): {err}") from None
    if inflated > MAX_UNCOMPRESSED_BYTES:
        raise Rejected(f"workbook too large: inflates to {inflated} bytes, limit {MAX_UNCOMPRESSED_BYTES}")


def _read_sheet(sheet: Any, source_file: str, options: Mapping[str, Any] | None) -> list[ParseOutcome] | None:
    """Outcomes of one sheet's data rows, or None when the sheet has no Avails header row."""
    rows = sheet.iter_rows(values_only=True, max_col=MAX_SHEET_COLUMNS)
    header: list[str] | None = None
    header_row = 0
    for number, row in enumerate(rows, 1):
        names = [str(cell).strip() if cell is not None else "" for cell in row]
        if len(_HEADER_MARKERS & {n.lower() for n in names}) >= 3:
            header, header_row = names, number
            break
        if number >= HEADER_SEARCH_ROWS:
            return None
    if header is None:
        return None
    outcomes: list[ParseOutcome] = []
    read = 0
    for number, row in enumerate(rows, header_row + 1):
        if all(_blank(cell) for cell in row):
            continue
        if number == header_row + 1 and _is_annotation_row(row):
            continue
        location = f"{source_file}#{sheet.title}!row {number}"
        if read >= MAX_SHEET_ROWS:
            reason = (
                f"sheet {sheet.title!r} has more than {MAX_SHEET_ROWS} data rows: rows from {number} on were not read"
            )
            outcomes.append(Quarantined(source_file, location, reason, ""))
            break
        read += 1
        outcomes.append(_row_outcome(header, row, source_file, location, options))
    return outcomes


def _row_outcome(
    header: list[str], row: tuple[Any, ...], source_file: str, location: str, options: Mapping[str, Any] | None
) -> ParseOutcome:
    cells = _named_cells(header, row)
    record = {name: _json_value(value) for name, value in cells.items()}
    try:
        too_long = [name for name, value in cells.items() if isinstance(value, str) and len(value) > MAX_CELL_CHARS]
        if too_long:
            raise Rejected(f"cell too long: {', '.join(too_long)} over {MAX_CELL_CHARS} characters")
        columns = avail_columns(_values(cells), options)
        columns["record"] = record
        return ParsedRecord(source_file, location, record_hash(record), columns)
    except Exception as err:  # noqa: BLE001 - one bad row never costs the others
        reason = err.reason if isinstance(err, Rejected) else f"unexpected parser error: {type(err).__name__}: {err}"
        return Quarantined(source_file, location, reason, json.dumps(record, ensure_ascii=False)[:MAX_RAW_RECORD_CHARS])


def _named_cells(header: list[str], row: tuple[Any, ...]) -> dict[str, Any]:
    """The row's non-empty cells by column name; unnamed or repeated columns get a position suffix."""
    cells: dict[str, Any] = {}
    for index, cell in enumerate(row):
        if _blank(cell):
            continue
        name = header[index] if index < len(header) and header[index] else f"column {index + 1}"
        if name in cells:
            name = f"{name} (column {index + 1})"
        cells[name] = cell
    return cells


def _values(cells: Mapping[str, Any]) -> dict[str, Any]:
    """The avail_columns values of a row: cells by (possibly truncated) column name, IDs per work type."""
    by_name: dict[str, Any] = {}
    for name, value in cells.items():
        by_name.setdefault(name[:NAME_LENGTH].lower(), value)

    def cell(*names: str) -> Any:
        return next((v for n in names if (v := by_name.get(n[:NAME_LENGTH].lower())) is not None), None)

    specific = _BY_WORK_TYPE.get(str(cell("WorkType") or "").strip().lower(), {})
    values = {key: cell(*names) for key, names in _COLUMNS.items()}
    values.update({key: cell(*specific.get(key, names)) for key, names in _DEFAULT.items()})
    if "title_internal_alias" in specific:
        values["title_internal_alias"] = cell(*specific["title_internal_alias"])
    territory = cell("Territory")
    values["territories"] = [territory] if territory is not None else []
    return values


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _is_annotation_row(row: tuple[Any, ...]) -> bool:
    """The template's third row: a version number and //REQ, //Opt notes."""
    return all(isinstance(c, int | float) or (isinstance(c, str) and _NOTE.match(c)) for c in row if not _blank(c))


def _json_value(cell: Any) -> Any:
    if isinstance(cell, datetime | date | time):
        return cell.isoformat()
    if isinstance(cell, float) and cell.is_integer():
        return int(cell)
    if isinstance(cell, str):
        return cell.replace("\x00", "\ufffd")
    if isinstance(cell, int | float | bool):
        return cell
    return str(cell)


def _file_note(data: bytes) -> str:
    """What raw.quarantine keeps of a workbook that could not be read: its size and first bytes (it is binary)."""
    return f"[xlsx workbook, {len(data)} bytes; first bytes: {data[:64]!r}]"


FORMAT = FormatSpec("avails_xlsx", "avails", AVAIL_COLUMNS, parse_avails_xlsx, DDL)
