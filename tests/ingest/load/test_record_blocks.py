"""record_blocks: records of the row-by-row formats loaded as one binary-COPY block store exactly what the CSV COPY
(the reference) stores, on the public samples, on generated ADI and on hostile values; uncertain values fall back."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from benchmarks import ingest_throughput as benchmark
from ingest.load import copy_binary, record_blocks, warehouse
from ingest.load.raw_tables import raw_table_ddl
from ingest.models import Batch, BatchStats, JsonRecord, ParsedRecord, SourceFile
from ingest.parse.files import parse_files
from ingest.parse.formats import FormatSpec, get_format

PUBLIC = Path(__file__).resolve().parents[2] / "fixtures" / "public"
START = datetime(2026, 11, 2, tzinfo=UTC)
END = START + timedelta(days=1)
COMPARED = "to_jsonb(t) - 'batch_id' - 'provider_id' - 'loaded_at'"


def _records(spec: FormatSpec, folder: Path, glob: str) -> list[ParsedRecord]:
    sources = [
        SourceFile(path.name, path.stat().st_size, None, lambda path=path: path.open("rb"))
        for path in sorted(folder.glob(glob))
    ]
    parsed = parse_files(dataclasses.replace(spec, parse_many=None), sources)
    return parsed.records


def _load_both_ways(conn: Any, spec: FormatSpec, records: list[ParsedRecord], label: str) -> tuple[list, list]:
    """The rows raw.<table> gets from the records through CSV COPY and through one block; both rolled back."""
    kinds = record_blocks.copy_kinds(warehouse.column_types(conn, spec.table), spec.columns)
    assert kinds is not None, f"{spec.table} has a column type binary COPY does not take"
    block = record_blocks.records_block(records, kinds)
    assert block is not None and block.num_rows == len(records)
    stats = BatchStats(0, len(records), 0, START, END)
    rows = []
    for way, (as_records, blocks) in {"csv": (records, ()), "block": ((), [block])}.items():
        run = Batch(f"{label}-{way}", f"rb_{label}_{way}", spec.name, START, END)
        try:
            warehouse.replace_interval(conn, run, spec, as_records, [], stats, blocks=blocks)
            with conn.cursor() as cur:
                cur.execute(f"select ({COMPARED})::text from raw.{spec.table} t where provider_id = %s order by 1",
                            (run.provider_id,))  # fmt: skip
                rows.append([row[0] for row in cur.fetchall()])
        finally:
            with conn, conn.cursor() as cur:
                for table in (spec.table, "ingest_batches"):
                    cur.execute(f"delete from raw.{table} where provider_id = %s", (run.provider_id,))
    return rows[0], rows[1]


@pytest.mark.parametrize(
    ("name", "folder", "glob"),
    [
        ("adi", "adi", "*.xml"),
        ("mec", "mec", "*.xml"),
        ("mmc", "mmc", "*.xml"),
        ("avails_xml", "avails_xml", "*.xml"),
        ("avails_xlsx", "avails_xlsx", "*.xlsx"),
    ],
)
def test_a_block_of_the_public_samples_stores_what_csv_copy_stores(
    conn: Any, name: str, folder: str, glob: str
) -> None:
    spec = dataclasses.replace(get_format(name), version_key=())  # copy fidelity only: two MEC samples share an id
    records = _records(spec, PUBLIC / folder, glob)
    assert records, f"no record parsed from the {folder} samples"
    by_csv, by_block = _load_both_ways(conn, spec, records, name)
    assert len(by_csv) == len(records)
    assert by_block == by_csv


def test_a_block_of_generated_adi_packages_stores_what_csv_copy_stores(conn: Any, tmp_path: Path) -> None:
    benchmark.write_adi(300, tmp_path)
    records = _records(get_format("adi"), tmp_path, "*.xml")
    assert len(records) == 300
    by_csv, by_block = _load_both_ways(conn, get_format("adi"), records, "adi_generated")
    assert by_block == by_csv


HOSTILE_DDL = """
    label text,
    doc jsonb,
    original json,
    number int,
    big bigint,
    flag boolean,
    day date,
    moment timestamptz
"""
HOSTILE_COLUMNS = ("label", "doc", "original", "number", "big", "flag", "day", "moment")


def _hostile_spec() -> FormatSpec:
    table = "record_blocks_hostile"
    return FormatSpec("hostile", table, HOSTILE_COLUMNS, lambda *_: [], raw_table_ddl(table, HOSTILE_DDL))


def _record(index: int, **values: Any) -> ParsedRecord:
    columns = dict.fromkeys(HOSTILE_COLUMNS)
    columns.update(values)
    return ParsedRecord(f"file {index % 3}.xml", f"file.xml#{index}\x00", f"hash{index}", columns)


def test_hostile_values_store_what_csv_copy_stores(conn: Any) -> None:
    spec = _hostile_spec()
    original = JsonRecord({"a": 'quote " and \\'})
    original.json_text = '{"a": "quote \\" and \\\\"}'
    records = [
        _record(0),
        _record(
            1, label='NUL \x00, quote ", comma , newline \n tab \t CR \r é 🎬', doc={"k": ["v", 1, None, True]},
            original=original, number=-(2**31), big=2**63 - 1, flag=True, day=date(1, 1, 1),
            moment=datetime(2026, 11, 2, 5, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
        _record(2, label="", doc=[], original="[1, 2]", number=2**31 - 1, big=-(2**63), flag=False,
                day=date(9999, 12, 31), moment=datetime(1, 1, 1, tzinfo=UTC)),
        _record(3, label=42, doc='"a JSON string"', original={"nul": "\x00"}, flag=None),
        _record(4, label=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), doc={"d": "\\u0000"}, original=True),
    ]  # fmt: skip
    with conn, conn.cursor() as cur:
        cur.execute(spec.ddl)
    try:
        by_csv, by_block = _load_both_ways(conn, spec, records, "hostile")
        assert len(by_csv) == 5
        assert by_block == by_csv
        assert any("NUL \ufffd" in row for row in by_block)
    finally:
        with conn, conn.cursor() as cur:
            cur.execute(f"drop table raw.{spec.table}")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("number", True),  # a bool is not an int: CSV COPY would send "true"
        ("number", "12"),  # text in an integer column: left to PostgreSQL's parser
        ("number", 2**31),  # out of int4's range: PostgreSQL's error, not a silent wrap
        ("day", datetime(2026, 1, 1, tzinfo=UTC)),  # a datetime is not a date
        ("moment", datetime(2026, 1, 1)),  # naive: CSV COPY reads it in the session's time zone
        ("moment", "2026-01-01T00:00:00Z"),
        ("flag", 1),
        ("label", "lone surrogate \ud800"),
    ],
)
def test_an_uncertain_value_leaves_the_records_to_csv_copy(column: str, value: Any) -> None:
    kinds = record_blocks.copy_kinds(
        {"label": "text", "doc": "jsonb", "original": "json", "number": "integer", "big": "bigint", "flag": "boolean",
         "day": "date", "moment": "timestamp with time zone"},
        HOSTILE_COLUMNS,
    )  # fmt: skip
    assert kinds is not None
    assert record_blocks.records_block([_record(0), _record(1, **{column: value})], kinds) is None
    assert record_blocks.records_block([_record(0), _record(1)], kinds) is not None


def test_a_table_with_a_type_binary_copy_is_not_built_for_has_no_kinds() -> None:
    assert record_blocks.copy_kinds({"a": "text", "b": "numeric"}, ("a", "b")) is None
    assert record_blocks.copy_kinds({"a": "text"}, ("a", "b")) is None
    assert record_blocks.copy_kinds({"a": "jsonb", "b": "integer"}, ("a", "b")) == {
        "a": copy_binary.JSONB,
        "b": copy_binary.INT4,
    }


def test_records_of_several_files_keep_each_row_s_file() -> None:
    kinds = {"label": copy_binary.TEXT}
    block = record_blocks.records_block([_record(0, label="a"), _record(1, label="b")], kinds)
    assert block is not None
    assert [r.source_file for r in block.records()] == ["file 0.xml", "file 1.xml"]
    single = record_blocks.records_block([_record(0), _record(3)], kinds)
    assert single is not None and single.source_file == "file 0.xml"
