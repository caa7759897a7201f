"""The limits on what providers send hold for every format: one field size limit (JSON included), field names with
NUL quarantined rather than changed, a CSV header column limit, and bounded memory for the worst inputs."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from ingest import limits
from ingest.models import ParsedRecord, Quarantined, RecordBlock
from ingest.parse.formats import get_format
from ingest.parse.group import parse_group

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CSV_HEADER = "provider_asset_id,title,release_year\n"
LONG = "x" * (limits.MAX_FIELD_CHARS + 1)
NOT_QUITE = "x" * limits.MAX_FIELD_CHARS


def _outcomes(format_name: str, data: bytes, options: dict[str, Any] | None = None) -> list[Any]:
    """Every outcome as the run gets it (parse_many where the format has one), and by the reference parser."""
    spec = get_format(format_name)
    name = "2026-11-02/file"
    found = []
    for outcome in parse_group(spec, [(data, name)], options):
        found.extend(outcome.records() if isinstance(outcome, RecordBlock) else [outcome])
    reference = list(spec.parse_file(data, name, options))
    found.sort(key=lambda o: _position(o.source_location))
    assert [(type(o), getattr(o, "reason", None)) for o in found] == [
        (type(o), getattr(o, "reason", None)) for o in reference
    ]
    return found


def _position(location: str) -> tuple[int, str]:
    """A record's place in its file from its location (`file:line 12`, `file#/items/3`)."""
    tail = location.rsplit("/", 1)[-1].rsplit(" ", 1)[-1]
    return (int(tail), location) if tail.isdigit() else (-1, location)


def _reasons(outcomes: list[Any]) -> list[str | None]:
    return [o.reason if isinstance(o, Quarantined) else None for o in outcomes]


@pytest.mark.parametrize("value", [LONG, "y" * 200_000])
def test_a_csv_field_over_the_limit_is_quarantined_saying_so(value: str) -> None:
    data = (CSV_HEADER + f"A1,{value},1999\nA2,{NOT_QUITE},1999\n").encode()
    first, second = _outcomes("csv", data)
    assert isinstance(first, Quarantined)
    assert "field too long" in first.reason and str(limits.MAX_FIELD_CHARS) in first.reason
    assert isinstance(second, ParsedRecord) and second.columns["title"] == NOT_QUITE


@pytest.mark.parametrize("json_lines", [False, True])
def test_a_json_field_over_the_limit_is_quarantined_saying_so(json_lines: bool) -> None:
    items = [
        {"provider_asset_id": "J1", "title": LONG},
        {"provider_asset_id": "J2", "title": NOT_QUITE},
        {"provider_asset_id": "J3", "title": "ok", "extra": {"deep": [LONG]}},
        {"provider_asset_id": "J4", "title": "ok", LONG: "a key that long"},
    ]
    if json_lines:
        data = "\n".join(json.dumps(item) for item in items).encode()
    else:
        data = json.dumps({"items": items}).encode()
    first, second, third, fourth = _outcomes("json", data, {"json_lines": True} if json_lines else None)
    for quarantined in (first, third, fourth):
        assert isinstance(quarantined, Quarantined), quarantined
        assert "field too long" in quarantined.reason and f"limit {limits.MAX_FIELD_CHARS}" in quarantined.reason
    assert "/extra/deep/0" in third.reason
    assert isinstance(second, ParsedRecord) and second.columns["title"] == NOT_QUITE


def test_every_format_takes_its_field_limit_from_one_place() -> None:
    sources = (PROJECT_ROOT / "include" / "ingest").rglob("*.py")
    own_limits = [
        str(path) for path in sources if path.name != "limits.py" and "field_size_limit()" in path.read_text()
    ]
    assert own_limits == []


def test_a_nul_in_a_csv_field_name_quarantines_the_rows_saying_so() -> None:
    data = b"provider_asset_id,ti\x00tle,title\nA1,x,Heat\nA2,y,Ronin\n"
    outcomes = _outcomes("csv", data)
    assert len(outcomes) == 2
    for outcome in outcomes:
        assert isinstance(outcome, Quarantined)
        assert "NUL" in outcome.reason and "field name" in outcome.reason
        assert "\ufffd" not in outcome.raw_record


@pytest.mark.parametrize("json_lines", [False, True])
def test_a_nul_in_a_json_field_name_is_quarantined_saying_so(json_lines: bool) -> None:
    items = [
        {"provider_asset_id": "J1", "title": "Heat", "ra\u0000ting": "R"},
        {"provider_asset_id": "J2", "title": "x"},
    ]
    if json_lines:
        data = "\n".join(json.dumps(item) for item in items).encode()
    else:
        data = json.dumps({"items": items}).encode()
    first, second = _outcomes("json", data, {"json_lines": True} if json_lines else None)
    assert isinstance(first, Quarantined) and "NUL" in first.reason and "field name" in first.reason
    assert "\\u0000" in first.raw_record and "\ufffd" not in first.raw_record
    assert isinstance(second, ParsedRecord)


def test_a_csv_header_over_the_column_limit_is_one_clear_quarantine_row() -> None:
    header = ",".join(f"c{i}" for i in range(limits.MAX_CSV_COLUMNS + 1))
    data = ("provider_asset_id,title," + header + "\nA1,Heat\n").encode()
    [outcome] = _outcomes("csv", data)
    assert isinstance(outcome, Quarantined)
    assert f"more than {limits.MAX_CSV_COLUMNS} columns" in outcome.reason


def _xlsx_bomb() -> bytes:
    """A workbook whose sheet inflates far beyond MAX_UNCOMPRESSED_BYTES."""
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<a>" + b" " * (limits.MAX_UNCOMPRESSED_BYTES + 1) + b"</a>")
    return out.getvalue()


def _worst_inputs() -> dict[str, list[tuple[str, bytes]]]:
    """Per format, the inputs that cost most memory per byte, each at most MAX_FILE_BYTES."""
    size = limits.MAX_FILE_BYTES - 1024
    laughs = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i else b"&lol;") * 10) for i in range(1, 10)
    ) + b"]><lolz>&lol9;</lolz>"  # fmt: skip
    deep_xml = b"<a>" * (size // 7) + b"</a>" * (size // 7)
    wide_xml = b"<ADI>" + b'<x a="1"/>' * (size // 10) + b"</ADI>"
    under = limits.MAX_XML_ELEMENTS - 1_000  # as many elements as a file may have
    xml = [
        ("laughs.xml", laughs), ("deep.xml", deep_xml[:size]), ("wide.xml", wide_xml[:size]),
        ("deep_under.xml", b"<a>" * under + b"</a>" * under),
        ("wide_under.xml", b"<ADI>" + b'<x a="1">t</x>' * under + b"</ADI>"),
    ]  # fmt: skip
    return {
        "csv": [
            ("wide_header.csv", ",".join(["c"] * 1_000_000).encode() + b"\nA1,T\n"),
            ("one_line.csv", b"a" * size),
            ("many_commas.csv", CSV_HEADER.encode() + b"," * size),
            ("quote.csv", CSV_HEADER.encode() + b'A1,"' + b"q" * size),
            ("many_rows.csv", CSV_HEADER.encode() + b"a\n" * (size // 2)),
        ],
        "json": [
            ("deep_list.json", b"[" * size),
            ("deep_object.json", b'{"items":' + b'{"a":' * (size // 6)),
            ("one_string.json", b'{"items":[{"title":"' + b"t" * size + b'"}]}'),
            ("many_items.json", b'{"items":[' + b"{}," * (size // 3) + b"{}]}"),
        ],
        "adi": xml,
        "mec": xml,
        "mmc": xml,
        "avails_xml": xml,
        "eidr_registry": xml,
        "avails_xlsx": [("bomb.xlsx", _xlsx_bomb()), ("junk.xlsx", b"PK\x03\x04" + b"\xff" * size)],
    }


MEMORY_CAP = 512 * 1024 * 1024  # the ingest pod's memory limit (512 Mi)

_CHILD = """
import re, sys
from pathlib import Path
from ingest.parse.formats import get_format
from ingest.parse.group import parse_group
from ingest.models import Quarantined
spec = get_format(sys.argv[1])
for path in sys.argv[2:]:
    outcomes = parse_group(spec, [(Path(path).read_bytes(), Path(path).name)], None)
    kinds = sorted({type(o).__name__ for o in outcomes})
    reasons = [o.reason[:120] for o in outcomes if isinstance(o, Quarantined)][:2]
    print(Path(path).name, kinds, reasons, flush=True)
print("peak resident", re.search(r"VmHWM:\\s+(\\d+ kB)", Path("/proc/self/status").read_text()).group(1))
"""


def _capped() -> None:
    """In the child, before it runs Python: at most MEMORY_CAP of address space. RLIMIT_AS also counts what is only
    reserved, never used, which a pod's cgroup limit does not; smaller thread stacks and two malloc arenas keep that
    reserve small, so the cap measures what parsing allocates."""
    resource.setrlimit(resource.RLIMIT_STACK, (1 << 20, 1 << 20))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


@pytest.mark.parametrize("format_name", sorted(_worst_inputs()))
def test_the_worst_inputs_are_quarantined_within_the_pods_memory(format_name: str, tmp_path: Path) -> None:
    paths = []
    for name, data in _worst_inputs()[format_name]:
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    env = {
        **os.environ, "PYTHONPATH": str(PROJECT_ROOT / "include"), "MALLOC_ARENA_MAX": "2",
        "ARROW_DEFAULT_MEMORY_POOL": "system",
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, format_name, *paths],
        env=env,
        preexec_fn=_capped,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == len(paths) + 1, done.stdout
    for line in lines[:-1]:
        assert "'Quarantined'" in line and "MemoryError" not in line and "RecursionError" not in line, line
    print(format_name, lines[-1])
