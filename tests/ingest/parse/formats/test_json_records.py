"""The json format: API pages, root lists, JSON Lines, field mapping, locations, malformed input, loading, the CLI."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import ingest_throughput as benchmark
from ingest.load import warehouse as loader
from ingest.models import Batch, BatchStats, ParsedRecord, Quarantined, RecordBlock
from ingest.parse.formats import get_format
from ingest.parse.formats.json_records import parse_json_columnar, parse_json_records
from ingest.parse.formats.titles_common import TITLE_COLUMNS

VALID_EIDR = "10.5240/7791-8534-2C23-9030-8610-5"
ITEM = {
    "provider_asset_id": "J1", "title": "Heat", "work_type": "Movie", "release_year": 1995, "runtime_minutes": 170,
    "genres": ["Crime", "Drama"], "directors": ["Mann, Michael"], "eidr_id": VALID_EIDR,
    "licensing_window_end": "2026-12-31", "updated_at": "2026-11-02T10:00:00Z",
}  # fmt: skip


def _parse(document: Any, options: dict[str, Any] | None = None, name: str = "2026-11-02/page-0001.json") -> list:
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    return parse_json_records(data, name, options)


def _records(outcomes: list[Any]) -> list[ParsedRecord]:
    assert all(isinstance(o, ParsedRecord) for o in outcomes), [getattr(o, "reason", o) for o in outcomes]
    return outcomes


def test_an_api_page_with_items_becomes_canonical_columns() -> None:
    [record] = _records(_parse({"page": 1, "items": [ITEM]}))
    c = record.columns
    assert set(c) == set(TITLE_COLUMNS)
    assert (c["provider_asset_id"], c["title"], c["work_type"], c["release_year"]) == ("J1", "Heat", "movie", 1995)
    assert (c["genres"], c["directors"]) == ("Crime, Drama", "Mann, Michael")
    assert c["licensing_window_end"] == datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert c["updated_at"] == datetime(2026, 11, 2, 10, tzinfo=UTC)
    assert (c["eidr_id"], c["eidr_status"]) == (VALID_EIDR, "valid")
    assert c["record"] == ITEM
    assert record.source_location == "2026-11-02/page-0001.json#/items/0"


DELIVERED = """{"page": 1,
 "items": [
   {"provider_asset_id": "J1",   "title": "Caf\\u00e9 \\/ Bar",
    "rating": 1.50, "votes": 1e3, "z": "last", "a": "first"},
   {"title": "No id"}
 ]}"""


def test_the_record_is_the_item_as_delivered() -> None:
    """Whitespace, key order, number forms and escapes are kept: the record is the original, its hash that text's."""
    first_text = DELIVERED[DELIVERED.index('{"provider_asset_id"') : DELIVERED.index('"first"}') + len('"first"}')]
    for parse in (parse_json_records, parse_json_columnar):
        outcomes = parse(DELIVERED.encode(), "p.json", None)
        [record] = [r for o in outcomes for r in (o.records() if isinstance(o, RecordBlock) else [o])
                    if isinstance(r, ParsedRecord)]  # fmt: skip
        assert record.columns["record"].json_text == first_text
        assert record.record_hash == hashlib.sha256(first_text.encode()).hexdigest()
        assert record.columns["title"] == "Café / Bar"


def test_a_json_lines_record_is_its_line() -> None:
    line = '{"provider_asset_id": "J1",  "title": "Heat", "rating": 1.50}'
    [record] = _records(parse_json_records(f"  {line} \r\n\n".encode(), "p.jsonl", {"json_lines": True}))
    assert record.columns["record"].json_text == line


def test_a_document_only_python_reads_is_stored_re_encoded() -> None:
    """NaN is not JSON: msgspec cannot slice such a document, so its items are stored as re-encoded (NaN as null)."""
    [record] = _records(_parse(b'{"items": [{"provider_asset_id": "J1", "title": "Heat", "score": NaN}]}'))
    assert record.columns["record"].json_text == '{"provider_asset_id":"J1","title":"Heat","score":null}'


def test_the_benchmark_pages_are_read_by_pyarrow(tmp_path: Path, monkeypatch: Any) -> None:
    """The C++ reader takes pages whose mapped fields hold the types of their columns; none goes item by item."""
    from ingest.parse.formats import json_records

    read = []
    original = json_records._arrow_values
    monkeypatch.setattr(json_records, "_arrow_values", lambda *a: read.append(original(*a)) or read[-1])
    benchmark.write_json(benchmark.title_rows(2_500), tmp_path)
    files = [(page.read_bytes(), page.name) for page in sorted(tmp_path.glob("page-*.json"))]
    results = json_records.parse_json_files(files, benchmark.JSON_OPTIONS)
    assert read and all(values is not None for values in read)
    assert all(isinstance(outcome, RecordBlock) for outcomes in results for outcome in outcomes)
    assert sum(block.num_rows for outcomes in results for block in outcomes) == 2_500


def test_a_field_of_another_type_leaves_pyarrow_for_the_item_by_item_values() -> None:
    from ingest.parse.formats import json_records

    items = [{**ITEM, "provider_asset_id": f"J{n}"} for n in range(3)] + [{**ITEM, "release_year": "1995"}]
    data = json.dumps({"items": items}).encode()
    reader = json_records._JsonFile("", "p.json", json_records.JsonOptions.from_options(None))
    texts, _ = json_records.delivered_items(data, None)
    assert json_records._arrow_values(reader, texts) is None  # 1995 then "1995": pyarrow refuses the mix
    [block] = parse_json_columnar(data, "p.json", None)
    assert [r.columns["release_year"] for r in block.records()] == [1995] * 4


def test_a_root_list_and_a_dotted_items_field() -> None:
    first, second = _records(_parse([ITEM, {**ITEM, "provider_asset_id": "J2"}]))
    assert second.source_location.endswith("page-0001.json#/1")
    [nested] = _records(_parse({"data": {"results": [ITEM]}}, {"items_field": "data.results"}))
    assert nested.source_location.endswith("#/data/results/0")


def test_field_mapping_with_nested_paths_and_a_date_format() -> None:
    item = {"id": 7, "name": "Episode", "show": {"title": "Harbour Lights"}, "s": "2", "avail": "02.11.2026"}
    options = {
        "fields": {"provider_asset_id": "id", "title": "name", "series_title": "show.title", "season_number": "s",
                   "licensing_window_start": "avail"},
        "date_format": "%d.%m.%Y",
    }  # fmt: skip
    [record] = _records(_parse({"items": [item]}, options))
    c = record.columns
    assert (c["provider_asset_id"], c["series_title"], c["season_number"]) == ("7", "Harbour Lights", 2)
    assert c["licensing_window_start"] == datetime(2026, 11, 2, tzinfo=UTC)


def test_json_lines_locate_items_by_line_and_quarantine_only_a_bad_line() -> None:
    text = json.dumps(ITEM) + "\n\n{not json}\n" + json.dumps({**ITEM, "provider_asset_id": "J2"}) + "\n"
    good, bad, other = _parse(text.encode(), {"json_lines": True}, name="feed.jsonl")
    assert (good.source_location, bad.source_location, other.source_location) == (
        "feed.jsonl:line 1", "feed.jsonl:line 3", "feed.jsonl:line 4",
    )  # fmt: skip
    assert isinstance(bad, Quarantined) and bad.reason.startswith("malformed JSON") and bad.raw_record == "{not json}"


def test_malformed_json_is_one_quarantine_row_for_the_file() -> None:
    [outcome] = _parse(b'{"items": [{"provider_asset_id": "J1",\n "title": }]}')
    assert isinstance(outcome, Quarantined)
    assert outcome.reason.startswith("malformed JSON: Expecting value: line 2")
    assert outcome.source_location == "2026-11-02/page-0001.json:line 2"
    assert outcome.raw_record.startswith('{"items"')


def test_nesting_deeper_than_the_limit_is_refused_the_same_way_everywhere() -> None:
    """A fixed depth limit, not Python's recursion limit (which depends on the call stack): a document or a JSON
    Lines item nested more than MAX_DEPTH levels is one quarantine row; at the limit it loads."""
    from ingest.limits import MAX_JSON_DEPTH as MAX_DEPTH
    from ingest.parse.formats.json_records import TOO_DEEP, parse_json_columnar

    def page(depth: int) -> bytes:
        nested = "[" * (depth - 3) + "]" * (depth - 3)  # the page object, the item list and the item are 3 levels
        return ('{"items":[{"provider_asset_id":"A1","title":"Heat","x":' + nested + "}]}").encode()

    for parse in (parse_json_records, parse_json_columnar):
        [deep] = parse(page(MAX_DEPTH + 1), "p.json", {"items_field": "items"})
        assert isinstance(deep, Quarantined) and deep.reason == TOO_DEEP
        assert not any(isinstance(o, Quarantined) for o in parse(page(MAX_DEPTH), "p.json", {"items_field": "items"}))
    line = b'{"provider_asset_id":"A2","title":"Ronin","x":' + b"[" * 300 + b"]" * 300 + b"}\n"
    [too_deep] = parse_json_records(line, "p.jsonl", {"json_lines": True})
    assert (too_deep.source_location, too_deep.reason) == ("p.jsonl:line 1", TOO_DEEP)


def test_items_that_are_not_loadable_are_quarantined_one_by_one() -> None:
    items = [ITEM, 42, {**ITEM, "release_year": "nineteen"}, {**ITEM, "title": None}, {**ITEM, "genres": {"a": 1}}]
    outcomes = _parse({"items": items})
    assert isinstance(outcomes[0], ParsedRecord)
    assert [o.reason for o in outcomes[1:]] == [
        "item is not a JSON object but int",
        "bad release_year (source 'release_year') 'nineteen': expected a four-digit year",
        "missing title (source 'title')",
        "bad genres (source 'genres') {\"a\": 1}: expected text or a number, got an object",
    ]
    assert outcomes[2].source_location.endswith("#/items/2") and json.loads(outcomes[2].raw_record)["title"] == "Heat"


def test_a_document_without_the_item_list() -> None:
    [outcome] = _parse({"data": []})
    assert outcome.reason == "no item list at 'items' in the document (found ['data'])"
    [scalar] = _parse({"items": "none"})
    assert scalar.reason == "'items' is not a list of items"


def test_bom_nul_escape_and_lone_surrogate() -> None:
    [record] = _records(_parse(b"\xef\xbb\xbf" + json.dumps([{**ITEM, "title": "A\u0000B"}]).encode()))
    assert record.columns["title"] == "A\x00B"
    assert "\\ufffd" in record.columns["record"].json_text  # jsonb cannot hold \u0000
    [lone] = _parse(b'[{"provider_asset_id": "x", "title": "bad \\ud800 half"}]')
    assert isinstance(lone, Quarantined) and lone.reason.startswith("invalid Unicode")


def test_unusable_options_quarantine_the_file() -> None:
    [outcome] = _parse([ITEM], {"json_lines": "yes"})
    assert outcome.reason == "invalid json format options: json_lines must be true or false, got 'yes'"


def test_generated_benchmark_pages_parse_completely(tmp_path: Path) -> None:
    benchmark.write_json(benchmark.title_rows(250), tmp_path)
    pages = sorted(tmp_path.glob("page-*.json"))
    records = [r for page in pages for r in _records(parse_json_records(page.read_bytes(), page.name, None))]
    assert len(records) == 250


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
_title_item = st.fixed_dictionaries(
    {"provider_asset_id": _json, "title": _json},
    optional={name: _json for name in ("release_year", "updated_at", "genres", "eidr_id", "season_number")},
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(_title_item | _json, max_size=6), json_lines=st.booleans())
def test_no_document_makes_the_parser_raise(items: list[Any], json_lines: bool) -> None:
    if json_lines:
        data = "\n".join(json.dumps(item) for item in items).encode()
    else:
        data = json.dumps({"items": items}).encode()
    outcomes = parse_json_records(data, "p.json", {"json_lines": json_lines})
    assert all(isinstance(o, ParsedRecord | Quarantined) for o in outcomes)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=500))
def test_no_bytes_make_the_parser_raise(data: bytes) -> None:
    assert all(isinstance(o, ParsedRecord | Quarantined) for o in parse_json_records(data, "p.json", None))


def test_loading_stores_exactly_what_was_parsed(warehouse_dsn: str, warehouse: Any) -> None:
    items = [ITEM, {**ITEM, "provider_asset_id": "J2", "title": 'q"uote\n\\N', "nan": float("nan"), "z": "\x00"}]
    records = _records(_parse({"items": items}))
    spec = get_format("json")
    conn = loader.connect(warehouse_dsn)
    try:
        loader.ensure_tables(conn, spec)
        start = datetime(2026, 11, 2, tzinfo=UTC)
        now = datetime.now(UTC)
        batch = Batch("json_fidelity-1", "json_fidelity", "json", start, start + timedelta(days=1))
        assert loader.replace_interval(conn, batch, spec, records, [], BatchStats(1, 2, 1, now, now)) == (2, 0)
    finally:
        conn.close()
    with warehouse.cursor() as cur:
        cur.execute("select * from raw.json_titles where provider_id = 'json_fidelity' order by provider_asset_id")
        names = [d.name for d in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    assert {c: rows[0][c] for c in TITLE_COLUMNS} == records[0].columns
    assert rows[1]["title"] == 'q"uote\n\\N'
    assert rows[1]["record"]["nan"] is None and rows[1]["record"]["z"] == "\ufffd"


def test_cli_run_reconciles_summary_and_tables(tmp_path: Path, warehouse_dsn: str, warehouse: Any, cli: Any) -> None:
    day = tmp_path / "api" / "2026-11-02"
    day.mkdir(parents=True)
    (day / "page-0001.json").write_text(json.dumps({"items": [ITEM, {**ITEM, "provider_asset_id": "J2"}, 5]}))
    (day / "page-0002.json").write_text('{"items": [')
    args = [
        "run", "--provider", "json_cli", "--format", "json", "--format-options", '{"items_field": "items"}',
        "--location", str(tmp_path / "api"), "--file-glob", "*.json",
        "--start", "2026-11-02T00:00:00+00:00", "--end", "2026-11-03T00:00:00+00:00",
    ]  # fmt: skip
    result = cli(args, {"WAREHOUSE_DSN": warehouse_dsn})
    assert result.returncode == 0, result.stderr
    summary = result.summary
    assert (summary["records_read"], summary["records_loaded"], summary["records_quarantined"]) == (4, 2, 2)
    with warehouse.cursor() as cur:
        cur.execute("select count(*) from raw.json_titles where provider_id = 'json_cli'")
        assert cur.fetchone()[0] == 2
        cur.execute("select source_location from raw.quarantine where provider_id = 'json_cli' order by 1")
        assert [r[0] for r in cur.fetchall()] == [
            "2026-11-02/page-0001.json#/items/2",
            "2026-11-02/page-0002.json:line 1",
        ]
