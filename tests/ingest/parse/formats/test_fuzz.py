"""Fuzzing every format, seeded and bounded: malformed deliveries (mutated public samples, generated records) crash
no parser (not even where its safety net would catch it) and not the loader; every record is loaded or quarantined."""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ingest.limits import MAX_FIELD_CHARS
from ingest.models import Batch, SourceFile
from ingest.parse.formats import all_formats, get_format
from ingest.run import parse_and_load

PUBLIC = Path(__file__).resolve().parents[4] / "tests" / "fixtures" / "public"
START = datetime(2026, 11, 2, tzinfo=UTC)
END = START + timedelta(days=1)
FILES_PER_BATCH = 25
BATCHES = {"avails_xlsx": 30}  # per format, hypothesis examples of FILES_PER_BATCH files; workbooks parse slowest
DEFAULT_BATCHES = 58
MINIMUM = 10_000
GENERATED: Counter[str] = Counter()

CSV_SEED = (
    b"provider_asset_id,title,work_type,release_year,runtime_minutes,genres,eidr_id,licensing_window_start,"
    b"licensing_window_end\nA1,Heat,movie,1995,170,Crime,10.5240/7791-8534-2C23-9030-8610-5,2026-01-01,2026-12-31\n"
    b'A2,"Ronin, the",movie,1998,122,"Action, Crime",,2026-02-01,2026-03-01\n'
)
JSON_SEED = json.dumps(
    {
        "page": 1,
        "items": [
            {"provider_asset_id": "J1", "title": "Heat", "release_year": 1995, "genres": ["Crime", "Drama"]},
            {"provider_asset_id": "J2", "title": "Ronin", "updated_at": "2026-11-02T10:00:00Z", "x": {"y": [1]}},
        ],
    }
).encode()
EIDR_SEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<Export xmlns="http://www.eidr.org/schema" xmlns:md="http://www.movielabs.com/schema/md/v2.1/md">
<FullMetadata><BaseObjectData><ID>10.5240/7791-8534-2C23-9030-8610-5</ID><StructuralType>Abstraction</StructuralType>
<ReferentType>Movie</ReferentType><ResourceName lang="en">Heat</ResourceName><ReleaseDate>1995</ReleaseDate>
<Status>valid</Status><ApproximateLength>PT170M</ApproximateLength></BaseObjectData></FullMetadata>
</Export>
"""


def _public(folder: str, *suffixes: str) -> list[bytes]:
    return [p.read_bytes() for p in sorted((PUBLIC / folder).iterdir()) if p.suffix.lower() in suffixes]


SEEDS: dict[str, list[bytes]] = {
    "adi": _public("adi", ".xml"),
    "csv": [CSV_SEED],
    "json": [JSON_SEED, b"\n".join(json.dumps(i).encode() for i in json.loads(JSON_SEED)["items"])],
    "eidr_registry": [EIDR_SEED],
    "mec": _public("mec", ".xml"),
    "mmc": _public("mmc", ".xml"),
    "avails_xml": _public("avails_xml", ".xml"),
    "avails_xlsx": _public("avails_xlsx", ".xlsx"),
}
OPTIONS: dict[str, dict[str, Any] | None] = {"json": {"items_field": "items"}}

NASTY = [
    b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\r", b"\n", b"\r\n", b'"', b"'", b",", b";",
    b"\t", b"<", b">", b"&", b"&amp;", b"&x;", b"]]>", b"<![CDATA[", b"<!--", b"<?xml version='1.0'?>",
    b'<!DOCTYPE x [<!ENTITY e "ee">]>', b'<!ENTITY s SYSTEM "file:///etc/passwd">', b"{", b"}", b"[", b"]",
    b"\\u0000", b"\\ud800", b'"\\u0000":1,', b"NaN", b"1e999", b"-0", b"99999999999999999999", b"null", b"true",
    b"2026-13-45", b"10.5240/XXXX", b"PT", b"x" * (MAX_FIELD_CHARS + 1), b"<a>" * 300, b"[" * 300,
]  # fmt: skip


@st.composite
def _mutated(draw: Any, seeds: list[bytes]) -> bytes:
    """A seed with a few random edits: bytes flipped, cut, repeated, nasty tokens put in, the end cut off."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(("flip", "cut", "repeat", "insert", "insert", "truncate")))
        if edit == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif edit == "cut":
            del data[at : at + draw(st.integers(1, 200))]
        elif edit == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 200))] * draw(st.integers(2, 20))
        elif edit == "insert":
            data[at:at] = draw(st.sampled_from(NASTY) | st.binary(min_size=1, max_size=30))
        elif edit == "truncate" and draw(st.integers(0, 3)) == 0:
            del data[at:]
    return bytes(data)


@st.composite
def _mutated_workbook(draw: Any) -> bytes:
    """A public workbook with one part (a sheet, the shared strings, the manifest...) mutated, zipped again with
    correct checksums so openpyxl reads the broken part; or the zip's own bytes mutated."""
    seed = draw(st.sampled_from(SEEDS["avails_xlsx"]))
    if draw(st.booleans()):
        return draw(_mutated([seed]))
    with zipfile.ZipFile(io.BytesIO(seed)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    name = draw(st.sampled_from(sorted(parts)))
    parts[name] = draw(_mutated([parts[name]]))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, data in parts.items():
            archive.writestr(part, data)
    return out.getvalue()


@st.composite
def _generated_records(draw: Any, format_name: str) -> bytes:
    """CSV rows or JSON items built from random values, keys and types (the seeds only reach so far)."""
    text = st.text(st.characters(codec="utf-8"), max_size=20) | st.sampled_from(
        ["", " ", "A1", "1995", "2026-11-02", "Heat", "\x00", "x" * (MAX_FIELD_CHARS + 1)]
    )
    if format_name == "csv":
        header = draw(st.lists(text, min_size=1, max_size=6)) + ["provider_asset_id", "title"]
        rows = draw(st.lists(st.lists(text, min_size=0, max_size=10), max_size=8))
        delimiter = ","
        lines = [delimiter.join(header)] + [delimiter.join(row) for row in rows]
        return "\n".join(lines).encode("utf-8", "surrogatepass")
    values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | text,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
        max_leaves=8,
    )
    item = st.dictionaries(st.sampled_from(["provider_asset_id", "title", "genres", "release_year"]) | text, values)
    items = draw(st.lists(item | values, max_size=8))
    return json.dumps({"items": items}, allow_nan=True).encode("utf-8", "surrogatepass")


def _inputs(format_name: str) -> st.SearchStrategy[bytes]:
    if format_name == "avails_xlsx":
        return _mutated_workbook()
    mutated = _mutated(SEEDS[format_name])
    return mutated | _generated_records(format_name) if format_name in ("csv", "json") else mutated


def _source(name: str, data: bytes) -> SourceFile:
    return SourceFile(name, len(data), START, lambda: io.BytesIO(data))


def test_every_format_is_fuzzed() -> None:
    assert sorted(SEEDS) == sorted(spec.name for spec in all_formats()) and all(SEEDS.values())


def _fuzz(format_name: str) -> Callable[..., None]:
    @settings(
        max_examples=BATCHES.get(format_name, DEFAULT_BATCHES), derandomize=True, database=None, deadline=None,
        suppress_health_check=list(HealthCheck), phases=(Phase.explicit, Phase.generate),  # no shrinking: bounded
    )  # fmt: skip
    @given(files=st.lists(_inputs(format_name), min_size=FILES_PER_BATCH, max_size=FILES_PER_BATCH))
    def check(conn: Any, files: list[bytes]) -> None:
        spec = get_format(format_name)
        day = START.strftime("%Y-%m-%d")
        sources = [_source(f"{day}/fuzz-{index:03d}", data) for index, data in enumerate(files)]
        batch = Batch(f"fuzz_{format_name}-1", f"fuzz_{format_name}", spec.name, START, END)
        parsed, stats, loaded, quarantined = parse_and_load(conn, batch, spec, sources, OPTIONS.get(format_name))
        assert stats.records_read == loaded + quarantined  # replace_interval also checks it, rolling back
        assert stats.records_read >= len(files)  # a file without records is a quarantine row too
        with conn.cursor() as cur:
            cur.execute(
                f"select (select count(*) from raw.{spec.table} where provider_id = %(p)s),"
                " (select count(*) from raw.quarantine where provider_id = %(p)s)",
                {"p": batch.provider_id},
            )
            assert cur.fetchone() == (loaded, quarantined)
            cur.execute(  # the parsers' safety net caught a crash: a bug, even though nothing was lost
                "select reason from raw.quarantine where provider_id = %s and reason ~ '^unexpected parser error'",
                (batch.provider_id,),
            )
            assert cur.fetchall() == []
        conn.rollback()
        GENERATED[format_name] += len(files)

    return check


@pytest.mark.parametrize("format_name", sorted(SEEDS))
def test_malformed_deliveries_never_crash_and_every_record_is_accounted_for(conn: Any, format_name: str) -> None:
    _fuzz(format_name)(conn)


def test_the_fuzzing_generated_enough_inputs(request: pytest.FixtureRequest) -> None:
    total = sum(GENERATED.values())
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    line = (
        f"fuzzing: {total} generated malformed inputs ({', '.join(f'{k} {v}' for k, v in sorted(GENERATED.items()))})"
    )
    if reporter is not None:
        reporter.write_line(line)
    print(line)
    if len(GENERATED) < len(SEEDS):
        pytest.skip("run with the per-format fuzz tests to count their inputs")
    assert total >= MINIMUM
