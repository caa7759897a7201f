"""The Avails parsers (XML and xlsx) on the public EMA/MovieLabs samples, their rule checks, and fuzzed input."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.models import ParsedRecord, Quarantined
from ingest.parse.formats import avails_xlsx, get_format
from ingest.parse.formats.avails import AVAIL_COLUMNS, parse_avails_xml
from ingest.parse.formats.avails_xlsx import parse_avails_xlsx

PUBLIC = Path(__file__).resolve().parents[3] / "fixtures" / "public"
XML = PUBLIC / "avails_xml"
XLSX = PUBLIC / "avails_xlsx"


def _split(outcomes: list) -> tuple[list[dict], list[Quarantined]]:
    assert outcomes and all(isinstance(o, ParsedRecord | Quarantined) for o in outcomes)
    records = [o.columns for o in outcomes if isinstance(o, ParsedRecord)]
    for columns in records:
        assert set(columns) == set(AVAIL_COLUMNS)
        json.dumps(columns["record"])
    return records, [o for o in outcomes if isinstance(o, Quarantined)]


def _xml(name: str) -> tuple[list[dict], list[Quarantined]]:
    return _split(parse_avails_xml((XML / name).read_bytes(), name, None))


def _xlsx(name: str, data: bytes | None = None) -> tuple[list[dict], list[Quarantined]]:
    return _split(parse_avails_xlsx(data if data is not None else (XLSX / name).read_bytes(), name, None))


def test_error_free_xml_sample_loads_every_transaction() -> None:
    records, quarantined = _xml("Avails_noErrors_v2.4.xml")
    assert (len(records), quarantined) == (24, [])
    bravados = records[0]
    assert (bravados["alid"], bravados["transaction_id"]) == ("md:pseudoalid:wprid.fox.com:001143", "1431081")
    assert (bravados["title"], bravados["title_internal_alias"]) == ("THE BRAVADOS", "Bravados, The")
    assert (bravados["eidr_source"], bravados["eidr_status"]) == ("EditID", "valid")
    assert bravados["eidr_id"] == "10.5240/77C5-ED35-8FC2-7D9D-9531-1"  # the edit, preferred to the title
    assert (bravados["territory"], bravados["license_type"], bravados["format_profile"]) == ("US", "EST", "HD")
    assert bravados["window_start"] == datetime(1917, 9, 24, 23, 59, 59, tzinfo=UTC)
    assert (bravados["window_end"], bravados["window_end_condition"]) == (None, "Open")
    assert (bravados["price_type"], bravados["price_value"], bravados["price_currency"]) == ("SRP", "1000.00", "XTS")
    assert bravados["licensor"] == "20th Century Fox"
    assert len(bravados["record"]["Transaction"]) == 1  # the Avail with only this transaction
    episode = next(r for r in records if r["work_type"] == "Episode")
    assert (episode["series_title"], episode["season_number"], episode["episode_number"]) == (
        "Jake and the Neverland Pirates", 1, 1,
    )  # fmt: skip
    assert (episode["title"], episode["license_type"]) == ("Hide The Hideout! /The Old Shell Game", "SVOD")
    season = next(r for r in records if r["work_type"] == "Season")
    assert (season["title"], season["season_number"], season["eidr_status"]) == (
        "Jake and the Neverland Pirates", 1, "missing",
    )  # fmt: skip
    collection = next(r for r in records if r["work_type"] == "Collection")
    assert collection["title"] == "Star Wars: The Digital Movie Collection (5)"  # line break inside squeezed


def test_volume_xml_sample() -> None:
    records, quarantined = _xml("Avails_Volume_no-err_v2.4.xml")
    assert (len(records), quarantined) == (9, [])
    assert {r["series_title"] for r in records} == {"Killer Rabbits from Space"}
    assert records[0]["window_end"] == datetime(2017, 12, 11, 23, 59, 59, tzinfo=UTC)


def test_xml_sample_with_errors_quarantines_the_broken_transactions_with_reasons() -> None:
    records, quarantined = _xml("Avails_withErrors.xml")
    assert [q.reason for q in quarantined] == [
        "bad Territory 'JJ': not an ISO 3166-1 country code",
        "bad AllowedLanguage 'fr-xx': region xx is not an ISO 3166-1 country code",
    ]
    assert [q.source_location for q in quarantined] == [
        "Avails_withErrors.xml#/AvailList/Avail[1]/Transaction[1]",
        "Avails_withErrors.xml#/AvailList/Avail[1]/Transaction[2]",
    ]
    assert "THE BRAVADOS" in quarantined[0].raw_record
    assert [r["transaction_id"] for r in records] == ["957373", "957355"]


def test_xlsx_error_free_sample_matches_its_xml_twin() -> None:
    records, quarantined = _xlsx("Avails_noErrors_v2.3_v1.8.xlsx")
    assert (len(records), quarantined) == (24, [])
    xml_records, _ = _xml("Avails_noErrors_v2.4.xml")
    for field in ("alid", "transaction_id", "territory", "license_type", "format_profile", "eidr_id", "work_type"):
        assert [r[field] for r in records] == [r[field] for r in xml_records], field
    first = records[0]
    assert first["window_start"] == datetime(1917, 9, 24, tzinfo=UTC)
    assert (first["window_end"], first["window_end_condition"]) == (None, "Open")
    assert first["allowed_languages"] == ["ar", "cmn", "cs", "da", "de", "el"]
    assert first["record"]["ALID"] == first["alid"] and "ContentID" in first["record"]


def test_xlsx_movies_sample_fake_eidr_ids_are_invalid_with_reasons() -> None:
    records, quarantined = _xlsx("Movies_v1.9.xlsx")
    assert (len(records), quarantined) == (26, [])
    assert {r["eidr_status"] for r in records} == {"invalid"}
    assert all(r["eidr_invalid_reason"] and r["eidr_id"] is None for r in records)
    view = records[0]
    assert (view["title"], view["territory"], view["license_type"]) == ("The View from a Mountain", "US", "EST")
    assert view["eidr_id_provided"] == "10.5240/1489-49A2-3956-4B2D-ZZ45-6" and view["eidr_source"] == "EditID"
    assert (view["price_type"], view["price_value"]) == ("Tier", "4")
    preorder = records[2]
    assert (preorder["license_type"], preorder["window_end_condition"]) == ("POEST", "ESTStart")
    early = records[4]
    assert (early["window_start"], early["window_end"]) == (
        datetime(2013, 5, 14, tzinfo=UTC), datetime(2013, 5, 28, 23, 59, 59, tzinfo=UTC),
    )  # fmt: skip


def test_xlsx_tv_sample_reads_seasons_and_episodes_by_work_type() -> None:
    records, quarantined = _xlsx("TV_v1.9.xlsx")
    outcomes = parse_avails_xlsx((XLSX / "TV_v1.9.xlsx").read_bytes(), "2026-11-02/TV_v1.9.xlsx", None)
    assert outcomes[0].source_location == "2026-11-02/TV_v1.9.xlsx#Template-TV_v1.9!row 4"
    assert (len(records), quarantined) == (38, [])
    assert {r["eidr_status"] for r in records} == {"invalid"}
    season = records[0]
    assert (season["work_type"], season["title"], season["season_number"]) == ("Season", "The Detectives", 1)
    assert (season["eidr_source"], season["eidr_invalid_reason"]) == ("TitleID", "check character should be C, got B")
    episode = next(r for r in records if r["episode_number"] == 1)
    assert (episode["title"], episode["title_internal_alias"]) == ("Temps et lieu", "Time and Place, The")
    assert episode["series_title"] == "The Detectives"
    assert episode["edit_id"] == "10.5240/AAAA-AAAA-AAAA-1111-1111-B" and episode["eidr_source"] == "EditID"
    assert episode["content_id"] == "md:cid:eidr-s:AAAA-AAAA-AAAA-1111-1111-B"


def _sheet(rows: list[list], annotation: bool = True) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Movies"
    names = ["DisplayName", "WorkType", "ALID", "TitleDisplayUnlimited", "Territory", "LicenseType", "FormatProfile",
             "Start", "End", "EditID", "AllowedLanguages", "EpisodeNumber"]  # fmt: skip
    sheet.append(["Avail"] * len(names))
    sheet.append(names)
    if annotation:
        sheet.append([1.9] + ["//REQ"] * (len(names) - 1))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


GOOD = ["Acme", "Movie", "md:alid:acme:1", "Heat", "US", "EST", "HD", datetime(2026, 1, 1), "Open",
        "10.5240/7EC7-228A-510A-053E-CBB8-J", "en, fr-CA", None]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "reasons"),
    [
        ({4: "UK"}, ["bad Territory 'UK': not an ISO 3166-1 country code"]),
        ({5: "RENTAL"}, ["bad LicenseType 'RENTAL'"]),
        ({7: "2026-03-01", 8: "2026-02-01"}, ["Start 2026-03-01T00:00:00+00:00 is not before End"]),
        ({7: None}, ["no Start"]),
        ({7: "next week"}, ["bad Start 'next week'"]),
        ({6: "8K"}, ["bad FormatProfile '8K'"]),
        ({0: None, 2: None, 3: None}, ["no ALID", "no Licensor DisplayName", "no title"]),
        ({10: "en, fr-XX"}, ["bad AllowedLanguage 'fr-XX'"]),
        ({11: "one"}, ["bad EpisodeNumber 'one'"]),
    ],
)
def test_rule_breaking_rows_are_quarantined_with_every_reason(changes: dict, reasons: list[str]) -> None:
    row = [changes.get(i, v) for i, v in enumerate(GOOD)]
    records, quarantined = _xlsx("t.xlsx", _sheet([GOOD, row]))
    assert len(records) == 1 and len(quarantined) == 1
    for reason in reasons:
        assert reason in quarantined[0].reason
    assert quarantined[0].source_location == "t.xlsx#Movies!row 5"
    assert json.loads(quarantined[0].raw_record)["Territory"] == row[4] or row[4] is None


def test_xlsx_cells_as_strings_serials_and_without_the_annotation_row() -> None:
    rows = [
        [*GOOD[:7], "2026-01-01", "2026-06-30", *GOOD[9:]],
        [*GOOD[:7], 46023, 46203.0, *GOOD[9:]],
    ]
    records, quarantined = _xlsx("t.xlsx", _sheet(rows, annotation=False))
    assert quarantined == []
    assert [(r["window_start"], r["window_end"]) for r in records] == [
        (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC)),
    ] * 2
    assert records[0]["eidr_id"] == "10.5240/7EC7-228A-510A-053E-CBB8-J"
    assert records[0]["allowed_languages"] == ["en", "fr-CA"]


def test_row_limit_quarantines_the_rest_of_a_huge_sheet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(avails_xlsx, "MAX_SHEET_ROWS", 2)
    records, quarantined = _xlsx("t.xlsx", _sheet([GOOD] * 5))
    assert len(records) == 2
    assert [q.reason for q in quarantined] == ["sheet 'Movies' has more than 2 data rows: rows from 6 on were not read"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not an xlsx workbook (not a zip archive)"),
        (b"PK\x03\x04 truncated", "not an xlsx workbook"),
        ((XML / "Avails_withErrors.xml").read_bytes(), "not an xlsx workbook"),
    ],
)
def test_unreadable_workbooks_are_one_quarantine_row(data: bytes, reason: str) -> None:
    [q] = parse_avails_xlsx(data, "bad.xlsx", None)
    assert isinstance(q, Quarantined) and q.reason.startswith(reason)


def test_a_workbook_without_an_avails_sheet_says_so() -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["Instructions", "read me"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    [q] = parse_avails_xlsx(buffer.getvalue(), "readme.xlsx", None)
    assert isinstance(q, Quarantined) and q.reason.startswith("no Avails sheet")


def test_zip_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(avails_xlsx, "MAX_UNCOMPRESSED_BYTES", 1000)
    [q] = parse_avails_xlsx(_sheet([GOOD]), "big.xlsx", None)
    assert isinstance(q, Quarantined) and q.reason.startswith("workbook too large")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<ADI/>", "not an Avails document: root element is <ADI>"),
        (b"<AvailList/>", "no Avail in the AvailList"),
        (b"<AvailList><Avail><ALID>a</ALID></Avail></AvailList>", "Avail has no Transaction"),
        (b"<AvailList><Avail>", "malformed XML"),
    ],
)
def test_unusable_xml_is_quarantined(data: bytes, reason: str) -> None:
    [q] = parse_avails_xml(data, "a.xml", None)
    assert isinstance(q, Quarantined) and q.reason.startswith(reason)


def test_format_options_can_extend_license_types() -> None:
    text = (XML / "Avails_Volume_no-err_v2.4.xml").read_text(encoding="utf-8").replace(">EST<", ">PVOD<")
    assert all(isinstance(o, Quarantined) for o in parse_avails_xml(text.encode(), "a.xml", None))
    outcomes = parse_avails_xml(text.encode(), "a.xml", {"license_types": ["PVOD"]})
    assert all(isinstance(o, ParsedRecord) for o in outcomes)


def test_both_formats_load_into_raw_avails() -> None:
    assert get_format("avails_xml").table == get_format("avails_xlsx").table == "avails"
    assert get_format("avails_xml").ddl == get_format("avails_xlsx").ddl


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1500))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    _split(parse_avails_xml(data, "fuzz.xml", None))
    _split(parse_avails_xlsx(data, "fuzz.xlsx", None))


_XML_SAMPLE = (XML / "Avails_withErrors.xml").read_bytes()
_XLSX_SAMPLE = (XLSX / "Movies_v1.9.xlsx").read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 30000), st.binary(min_size=1, max_size=8)), min_size=1, max_size=5))
def test_mutated_samples_never_raise(edits: list[tuple[int, bytes]]) -> None:
    for sample, parse in ((_XML_SAMPLE, parse_avails_xml), (_XLSX_SAMPLE, parse_avails_xlsx)):
        data = bytearray(sample)
        for position, chunk in edits:
            position %= len(data)
            data[position : position + len(chunk)] = chunk
        _split(parse(bytes(data), "fuzz", None))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(st.none() | st.text(max_size=20) | st.integers(-10**6, 10**6) | st.floats(allow_nan=False)
                 | st.datetimes(min_value=datetime(1900, 1, 1)), min_size=len(GOOD), max_size=len(GOOD)),
        min_size=1, max_size=4,
    )
)  # fmt: skip
def test_arbitrary_cell_values_never_raise(rows: list[list]) -> None:
    cleaned = [[v.replace("\x00", "") if isinstance(v, str) else v for v in row] for row in rows]
    try:
        data = _sheet(cleaned)
    except Exception:  # openpyxl refuses some control characters; that is not what this test is about
        return
    _split(parse_avails_xlsx(data, "fuzz.xlsx", None))
