"""The csv format: mapping, TSV, encodings, BOM, quoted newlines, missing headers, bad values, loading, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import ingest_throughput as benchmark
from ingest.load import warehouse as loader
from ingest.models import Batch, BatchStats, ParsedRecord, Quarantined
from ingest.parse.formats import get_format
from ingest.parse.formats.tabular import parse_csv_records
from ingest.parse.formats.titles_common import TITLE_COLUMNS

VALID_EIDR = "10.5240/7791-8534-2C23-9030-8610-5"
MAPPING = {
    "provider_asset_id": "Asset ID", "title": "Title", "release_year": "Year", "runtime_minutes": "Length",
    "eidr_id": "EIDR", "genres": "Genre", "licensing_window_start": "Start", "licensing_window_end": "End",
}  # fmt: skip
OPTIONS = {"delimiter": ",", "encoding": "utf-8", "header_row": 1, "date_format": "%d/%m/%Y", "columns": MAPPING}
HEADER = "Asset ID,Title,Year,Length,EIDR,Genre,Start,End\n"


def _parse(text: str | bytes, options: dict[str, Any] | None = None, name: str = "2026-11-02/t.csv") -> list[Any]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_csv_records(data, name, OPTIONS if options is None else options)


def _records(outcomes: list[Any]) -> list[ParsedRecord]:
    assert all(isinstance(o, ParsedRecord) for o in outcomes), [getattr(o, "reason", o) for o in outcomes]
    return outcomes


def test_a_mapped_row_becomes_the_canonical_columns() -> None:
    [record] = _records(_parse(HEADER + f"A1, Heat ,1995,170,{VALID_EIDR.lower()},Crime,01/11/2026,31/12/2026\n"))
    c = record.columns
    assert set(c) == set(TITLE_COLUMNS)
    assert (c["provider_asset_id"], c["title"], c["release_year"], c["runtime_minutes"]) == ("A1", "Heat", 1995, 170)
    assert (c["eidr_id"], c["eidr_status"], c["eidr_id_provided"]) == (VALID_EIDR, "valid", VALID_EIDR.lower())
    assert c["licensing_window_start"] == datetime(2026, 11, 1, tzinfo=UTC)
    assert c["licensing_window_end"] == datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert c["series_title"] is None and c["updated_at"] is None
    assert c["record"] == {
        "Asset ID": "A1", "Title": " Heat ", "Year": "1995", "Length": "170", "EIDR": VALID_EIDR.lower(),
        "Genre": "Crime", "Start": "01/11/2026", "End": "31/12/2026",
    }  # fmt: skip
    assert record.source_location == "2026-11-02/t.csv:line 2"
    assert len(record.record_hash) == 64


def test_quoted_fields_with_newlines_keep_line_numbers_right() -> None:
    text = HEADER + 'A1,"Line one\nline ""two""",1995,,,,,\nA2,Plain,1996,,,,,\n'
    first, second = _records(_parse(text))
    assert first.columns["title"] == 'Line one\nline "two"'
    assert (first.source_location, second.source_location) == ("2026-11-02/t.csv:line 2", "2026-11-02/t.csv:line 4")


def test_tsv_with_a_declared_latin1_encoding_and_a_preamble_row() -> None:
    text = "Export of 2026-11-02\nAsset ID\tTitle\tYear\nA1\tAmélie, le film\t2001\n"
    options = {"delimiter": "tab", "encoding": "latin-1", "header_row": 2, "columns": {
        "provider_asset_id": "Asset ID", "title": "Title", "release_year": "Year"}}  # fmt: skip
    [record] = _records(_parse(text.encode("latin-1"), options))
    assert record.columns["title"] == "Amélie, le film"
    assert record.source_location.endswith(":line 3")


def test_a_utf8_bom_is_not_part_of_the_first_header() -> None:
    [record] = _records(_parse(b"\xef\xbb\xbf" + (HEADER + "A1,T,2000,,,,,\n").encode()))
    assert "Asset ID" in record.columns["record"]


def test_headers_match_case_and_whitespace_insensitively_and_default_mapping_is_identity() -> None:
    [record] = _records(_parse(" PROVIDER_ASSET_ID ,title,Series_Title\nA1,T,S\n", {}))
    assert (record.columns["provider_asset_id"], record.columns["series_title"]) == ("A1", "S")


def test_a_missing_header_quarantines_every_row_naming_it() -> None:
    options = {**OPTIONS, "columns": {**MAPPING, "title": "Name"}}
    outcomes = _parse(HEADER + "A1,T,2000,,,,,\nA2,U,2001,,,,,\n", options)
    assert [type(o) for o in outcomes] == [Quarantined, Quarantined]
    assert all("'Name' (mapped to title)" in o.reason for o in outcomes)
    assert [o.source_location for o in outcomes] == ["2026-11-02/t.csv:line 2", "2026-11-02/t.csv:line 3"]
    assert outcomes[0].raw_record == "A1,T,2000,,,,,\n"


def test_bad_values_quarantine_the_row_with_column_value_and_line() -> None:
    text = HEADER + "A1,Good,2000,,,,,\nA2,Bad,20O0,90,,,31/02/2026,\nA3,,2001,,,,,\n,Also bad,2002,,,,,\n"
    good, bad, no_title, no_id = _parse(text)
    assert isinstance(good, ParsedRecord)
    assert isinstance(bad, Quarantined) and bad.source_location == "2026-11-02/t.csv:line 3"
    assert "bad release_year (source 'Year') '20O0'" in bad.reason
    assert "bad licensing_window_start (source 'Start') '31/02/2026': expected the format '%d/%m/%Y'" in bad.reason
    assert bad.raw_record == "A2,Bad,20O0,90,,,31/02/2026,\n"
    assert no_title.reason == "missing title (source 'Title')"
    assert no_id.reason == "missing provider_asset_id (source 'Asset ID')"


def test_an_invalid_eidr_is_kept_with_its_reason_not_quarantined() -> None:
    [record] = _records(_parse(HEADER + "A1,T,2000,,10.5240/7791-8534-2C23-9030-8610-6,,,\n"))
    assert (record.columns["eidr_status"], record.columns["eidr_id"]) == ("invalid", None)
    assert "check character" in record.columns["eidr_invalid_reason"]


def test_ragged_rows_and_blank_lines() -> None:
    outcomes = _parse(HEADER + "A1,T,2000,,,,,\n\nA2,T,2000\nA3,T,2000,,,,,,extra\n")
    assert isinstance(outcomes[0], ParsedRecord)
    assert [o.reason for o in outcomes[1:]] == [
        "row has 3 fields, the header has 8",
        "row has 9 fields, the header has 8",
    ]
    assert [o.source_location.rsplit(" ", 1)[1] for o in outcomes] == ["2", "4", "5"]


def test_an_encoding_error_quarantines_the_file_with_the_line() -> None:
    [outcome] = _parse(HEADER.encode() + b"A1,Caf\xe9,2000,,,,,\n")
    assert isinstance(outcome, Quarantined)
    assert outcome.reason.startswith("not valid utf-8 text: invalid continuation byte")
    assert outcome.source_location == "2026-11-02/t.csv:line 2"
    assert "Caf" in outcome.raw_record


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"columns": {"title": "T"}}, "must map the required column(s) ['provider_asset_id']"),
        ({"columns": {**MAPPING, "rating": "R"}}, "unknown target column(s) ['rating']"),
        ({**OPTIONS, "delimter": ";"}, "unknown option(s) ['delimter']"),
        ({**OPTIONS, "encoding": "klingon"}, "unknown encoding 'klingon'"),
        ({**OPTIONS, "header_row": 0}, "header_row must be a row number from 1"),
        ({**OPTIONS, "delimiter": ";;"}, "delimiter must be one character"),
        ({**OPTIONS, "date_format": "dd/mm/yyyy"}, "date_format must be a strftime pattern"),
    ],
)
def test_unusable_options_quarantine_the_file_saying_why(options: dict[str, Any], message: str) -> None:
    [outcome] = _parse(HEADER + "A1,T,2000,,,,,\n", options)
    assert isinstance(outcome, Quarantined) and outcome.reason.startswith("invalid csv format options: ")
    assert message in outcome.reason


def test_a_file_shorter_than_header_row_and_a_header_only_file() -> None:
    [short] = _parse("", {**OPTIONS, "header_row": 1})
    assert short.reason == "no header row: the file has fewer than 1 row(s)"
    assert _parse(HEADER) == []  # the batch records "no records in file" for it


def test_duplicate_headers_keep_every_value_in_the_record() -> None:
    [record] = _records(_parse("provider_asset_id,title,note,note\nA1,T,x,y\n", {}))
    assert record.columns["record"] == {"provider_asset_id": "A1", "title": "T", "note": "x", "note (2)": "y"}


def test_nul_characters_do_not_break_the_reader() -> None:
    [record] = _records(_parse("provider_asset_id,title\nA1,T\x00x\n", {}))
    assert record.columns["title"] == "T\ufffdx"


def test_generated_benchmark_delivery_parses_completely(tmp_path: Path) -> None:
    benchmark.write_csv(benchmark.title_rows(300), tmp_path)
    records = _records(_parse((tmp_path / "titles-0001.csv").read_bytes(), benchmark.CSV_OPTIONS))
    assert len(records) == 300
    statuses = {r.columns["eidr_status"] for r in records}
    assert statuses == {"valid", "invalid", "missing"}
    assert sum(r.columns["series_title"] is not None for r in records) == 300 // 8


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2000), delimiter=st.sampled_from([",", ";", "\t", "|"]), header_row=st.integers(1, 3))
def test_no_bytes_make_the_parser_raise(data: bytes, delimiter: str, header_row: int) -> None:
    options = {"delimiter": delimiter, "header_row": header_row, "columns": {"provider_asset_id": "a", "title": "b"}}
    for outcome in parse_csv_records(data, "f.csv", options):
        assert isinstance(outcome, ParsedRecord | Quarantined)


_cell = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(_cell, min_size=1, max_size=5), max_size=8), options=st.fixed_dictionaries({}, optional={
    "date_format": st.sampled_from(["%d/%m/%Y", "%Y%m%d %H:%M", "%b %d %Y"]),
    "columns": st.just({"provider_asset_id": "a", "title": "b", "release_date": "c", "updated_at": "d",
                        "season_number": "e", "genres": "f"}),
}))  # fmt: skip
def test_no_csv_text_makes_the_parser_raise(rows: list[list[str]], options: dict[str, Any]) -> None:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerows([["a", "b", "c", "d", "e"], *rows])
    outcomes = parse_csv_records(buffer.getvalue().encode(), "f.csv", options)
    assert all(isinstance(o, ParsedRecord | Quarantined) for o in outcomes)


def test_loading_stores_exactly_what_was_parsed(warehouse_dsn: str, warehouse: Any) -> None:
    awkward = 'He said "hi", then\nleft; a\\b, tab\there, \\. \x1c\x1d\x1e and \u00e9\u4e2d\U0001f3ac'
    text = HEADER + "A1,T,2000,,,,,\n" + f'A2,"{awkward.replace(chr(34), chr(34) * 2)}",2001,95,{VALID_EIDR},,,\n'
    records = _records(_parse(text))
    spec = get_format("csv")
    start = datetime(2026, 11, 2, tzinfo=UTC)
    now = datetime.now(UTC)
    conn = _connect(warehouse_dsn)
    try:
        loaded = _load(conn, spec, "csv_fidelity", start, records)
    finally:
        conn.close()
    assert loaded == (2, 0)
    with warehouse.cursor() as cur:
        cur.execute("select * from raw.csv_titles where provider_id = 'csv_fidelity' order by provider_asset_id")
        names = [d.name for d in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    for row, record in zip(rows, records, strict=True):
        assert {c: row[c] for c in TITLE_COLUMNS} == record.columns
        assert (row["source_location"], row["record_hash"]) == (record.source_location, record.record_hash)
    assert rows[1]["title"] == awkward and rows[0]["runtime_minutes"] is None
    assert now - timedelta(minutes=5) < rows[0]["loaded_at"]


def _connect(dsn: str) -> Any:
    connection = loader.connect(dsn)
    loader.ensure_tables(connection, get_format("csv"))
    loader.ensure_tables(connection, get_format("json"))
    return connection


def _load(conn: Any, spec: Any, provider: str, start: datetime, records: list[Any], quarantined: tuple = ()) -> Any:
    now = datetime.now(UTC)
    read = len(records) + len(quarantined)
    stats = BatchStats(1, read, 1, now, now)
    batch = Batch(f"{provider}-1", provider, spec.name, start, start + timedelta(days=1))
    return loader.replace_interval(conn, batch, spec, records, list(quarantined), stats)


def test_cli_run_reconciles_summary_and_tables(tmp_path: Path, warehouse_dsn: str, warehouse: Any, cli: Any) -> None:
    day = tmp_path / "csv_feed" / "2026-11-02"
    day.mkdir(parents=True)
    (day / "titles-1.csv").write_text(HEADER + "A1,T,2000,,,,,\nA2,Bad,20x0,,,,,\nA3,U,2001,,,,,\n")
    (day / "titles-2.csv").write_bytes(HEADER.encode() + b"B1,Caf\xe9,2000,,,,,\n")
    (day / "titles-3.csv").write_text("Asset ID,Name\nC1,X\nC2,Y\n")
    args = [
        "run", "--provider", "csv_cli", "--format", "csv", "--format-options", json.dumps(OPTIONS),
        "--location", str(tmp_path / "csv_feed"), "--file-glob", "*.csv",
        "--start", "2026-11-02T00:00:00+00:00", "--end", "2026-11-03T00:00:00+00:00",
    ]  # fmt: skip
    result = cli(args, {"WAREHOUSE_DSN": warehouse_dsn})
    assert result.returncode == 0, result.stderr
    summary = result.summary
    assert (summary["files_read"], summary["records_read"]) == (3, 6)
    assert (summary["records_loaded"], summary["records_quarantined"]) == (2, 4)
    with warehouse.cursor() as cur:
        cur.execute("select count(*) from raw.csv_titles where provider_id = 'csv_cli'")
        assert cur.fetchone()[0] == summary["records_loaded"]
        cur.execute("select source_location, reason from raw.quarantine where provider_id = 'csv_cli' order by 1")
        quarantined = cur.fetchall()
        cur.execute("select records_read, records_loaded, records_quarantined from raw.ingest_batches"
                    " where provider_id = 'csv_cli'")  # fmt: skip
        assert cur.fetchone() == (6, 2, 4)
    assert [q[0] for q in quarantined] == [
        "2026-11-02/titles-1.csv:line 3", "2026-11-02/titles-2.csv:line 2",
        "2026-11-02/titles-3.csv:line 2", "2026-11-02/titles-3.csv:line 3",
    ]  # fmt: skip
    assert "'Title' (mapped to title)" in quarantined[2][1]


def test_release_date_column_is_a_date() -> None:
    options = {"columns": {"provider_asset_id": "id", "title": "t", "release_date": "d"}, "date_format": "%Y%m%d"}
    [record] = _records(_parse("id,t,d\nA,T,19991231\n", options))
    assert record.columns["release_date"] == date(1999, 12, 31)
