"""The column-wise CSV and JSON title parsers (pyarrow) give exactly the outcomes of the row-by-row reference parsers.

For every generated file the multiset of outcomes must be the same: RecordBlocks are expanded into ParsedRecords and
both sides are sorted by source_location; a ParsedRecord is compared on its location, hash and every column (the
`record` as both its dict and its JSON text), a Quarantined on every field.

The differences these tests found (and that were fixed) are kept as minimal reproducers at the end of the file.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from benchmarks import ingest_throughput as benchmark
from demo_feeds.api_server import demo_titles
from ingest.eidr import check_character
from ingest.models import ParsedRecord, Quarantined, RecordBlock
from ingest.parse.formats.json_records import parse_json_columnar, parse_json_files, parse_json_records
from ingest.parse.formats.tabular import parse_csv_columnar, parse_csv_records
from ingest.parse.formats.titles_common import MAPPABLE_COLUMNS, TITLE_COLUMNS

# Not generated at all, reproducers only: CSV fields longer than the csv module's field_size_limit and JSON items
# nested to just below the recursion limit.

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------------------------------------------------------------
# Comparing outcomes


def _expanded(results: Sequence[Any]) -> list[ParsedRecord | Quarantined]:
    out: list[ParsedRecord | Quarantined] = []
    for result in results:
        if isinstance(result, RecordBlock):
            records = result.records()
            assert len(records) == result.num_rows > 0
            out.extend(records)
        else:
            assert isinstance(result, ParsedRecord | Quarantined), result
            out.append(result)
    return out


def _normal(outcome: ParsedRecord | Quarantined) -> tuple[Any, ...]:
    """A comparable form: `==` on dates and datetimes, types kept apart (date vs datetime, bool vs int)."""
    if isinstance(outcome, Quarantined):
        return (outcome.source_location, "quarantined", outcome.source_file, outcome.reason, outcome.raw_record)
    columns = outcome.columns
    assert set(columns) == set(TITLE_COLUMNS), sorted(columns)
    record = columns["record"]
    values = tuple((name, type(columns[name]).__name__, columns[name]) for name in TITLE_COLUMNS if name != "record")
    # the record dict compared through json.dumps: key order and number types count, and NaN equals NaN
    # with NUL as U+FFFD: RecordBlock.records() reads the record back from its stored text (see the last test)
    as_dict = json.dumps(_nul_as_stored(record), ensure_ascii=True)
    return (outcome.source_location, "parsed", outcome.source_file, outcome.record_hash, values, as_dict,
            record.json_text)  # fmt: skip


def _nul_as_stored(value: Any) -> Any:
    """The value with NUL characters as U+FFFD, as its JSON text (jsonb_text) stores them."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_nul_as_stored(item) for item in value]
    if isinstance(value, dict):
        return {_nul_as_stored(key): _nul_as_stored(item) for key, item in value.items()}
    return value


def _sorted(outcomes: Sequence[ParsedRecord | Quarantined]) -> list[tuple[Any, ...]]:
    return sorted((_normal(outcome) for outcome in outcomes), key=lambda n: (n[0], n[1], n[3], repr(n[4])))


def assert_same_outcomes(
    reference: Sequence[Any], columnar: Sequence[Any], data: bytes, options: dict[str, Any] | None
) -> None:
    assert all(isinstance(outcome, ParsedRecord | Quarantined) for outcome in reference)
    expected, got = _sorted(reference), _sorted(_expanded(columnar))
    if expected == got:
        return
    lines = [f"outcomes differ for data={data!r} options={options!r}"]
    if len(expected) != len(got):
        lines.append(f"reference has {len(expected)} outcomes, columnar {len(got)}")
    for want, have in zip(expected, got, strict=False):
        if want != have:
            lines.append(f"reference: {want!r}")
            lines.append(f"columnar:  {have!r}")
            break
    lines.append(f"reference locations: {[n[0] for n in expected]}")
    lines.append(f"columnar locations:  {[n[0] for n in got]}")
    raise AssertionError("\n".join(lines))


def check_csv(data: bytes, options: dict[str, Any] | None, name: str = "2026-11-02/titles.csv") -> list[Any]:
    columnar = parse_csv_columnar(data, name, options)
    assert_same_outcomes(parse_csv_records(data, name, options), columnar, data, options)
    return columnar


def check_json(data: bytes, options: dict[str, Any] | None, name: str = "2026-11-02/page-0001.json") -> list[Any]:
    columnar = parse_json_columnar(data, name, options)
    assert_same_outcomes(parse_json_records(data, name, options), columnar, data, options)
    return columnar


def _blocks(results: Sequence[Any]) -> list[RecordBlock]:
    return [result for result in results if isinstance(result, RecordBlock)]


def _note_path(results: Sequence[Any]) -> None:
    """Record for --hypothesis-show-statistics how much of the example the column-wise path took."""
    in_blocks = sum(block.num_rows for block in _blocks(results))
    event("all in a RecordBlock" if in_blocks and len(results) == 1 else
          "some in a RecordBlock" if in_blocks else "row by row")  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------------
# Values: the common forms the column-wise path converts itself, and awkward ones it must hand to the reference

_CONTROL = re.compile(r"[\x00-\x1f]")
LONE_SURROGATE = "@@LONE_SURROGATE@@"  # replaced by the JSON escape \ud800 in the document text
_UNICODE_SPACES = ["\u00a0", "\u2003", "\u3000", "\u0085", "\u2028", "\u202f", "\u1680"]
_EDGE_CHARS = [" ", " ", "\t", *_UNICODE_SPACES, "\x0b", "\x1f", "\r", "\n"]
_INSERTED = ['"', "\\", ",", ";", "\t", "'", "\n", "\r\n", "\x01", "\x1b", "\x7f", "\x00", "\u00a0", "\u3000", "\ufeff",
             "é", "東", "\U0001f600", "{", "%"]  # fmt: skip
_SAFE_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -'.&!?éüñÉ東京"
TITLES = ["Heat", "Harbour Lights", "L'Été meurtrier", "東京物語", "Heat 2", "Up, Up and Away", 'Say "Hi"',
          "back\\slash", "Ça va", "Episode 1", "M*A*S*H", "1917", "$"]  # fmt: skip
PEOPLE = ["Abbott, Ada", "Brennan, Ben", "Dubois, Dev", "Ōtomo, Katsuhiro"]
GENRES = ["Action", "Drama", "Comedy", "Science Fiction", "Documentary"]
WORK_TYPES = ["movie", "Movie", "EPISODE", "series", "Short"]
AWKWARD_WORK_TYPES = ["Épisode", "ÉPISODE", "İ", "straße", " movie\u00a0", "movie\x7f"]
COUNTRIES = ["US", "GB", "fr", "Deutschland"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

DATE_FORMATS = [None, "%d/%m/%Y", "%Y%m%d", "%d.%m.%Y %H:%M", "%d %b %Y"]
TIMESTAMP_FORMATS = [None, None, "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M", "%Y%m%d"]

KINDS = {
    "provider_asset_id": "id", "title": "title", "work_type": "work_type", "series_title": "title",
    "episode_title": "title", "season_number": "int", "episode_number": "int", "release_year": "year",
    "release_date": "date", "runtime_minutes": "int", "genres": "genres", "directors": "directors",
    "country_of_origin": "country", "eidr_id": "eidr", "licensing_window_start": "date",
    "licensing_window_end": "date", "updated_at": "timestamp",
}  # fmt: skip
assert set(KINDS) == set(MAPPABLE_COLUMNS)


def _render(moment: datetime, pattern: str) -> str:
    """strftime with zero-padded fields for every year (glibc writes year 1 as `1`)."""
    fields = {
        "Y": f"{moment.year:04d}", "m": f"{moment.month:02d}", "d": f"{moment.day:02d}", "H": f"{moment.hour:02d}",
        "M": f"{moment.minute:02d}", "S": f"{moment.second:02d}", "b": MONTHS[moment.month - 1],
    }  # fmt: skip
    return re.sub(r"%(.)", lambda m: fields[m.group(1)], pattern)


_moments = st.one_of(
    st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2035, 12, 31)),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 30)),
)


@st.composite
def _dates(draw: st.DrawFn, pattern: str | None) -> str:
    """A date value in a form the pattern (ISO 8601 without one) accepts: the column-wise path's certain forms."""
    moment = draw(_moments)
    if pattern is None:
        form = draw(st.sampled_from(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ"]))
        return _render(moment, form)
    return _render(moment, pattern)


@st.composite
def _awkward_dates(draw: st.DrawFn, pattern: str | None) -> str:
    """Date values in other forms: impossible dates, one-digit fields, year 0, offsets, other patterns."""
    moment = draw(_moments)
    fixed = [
        "31/02/2026", "29/02/2025", "00/11/2026", "32/01/2026", "01/13/2026", "01/01/0000", "01/01/0001",
        "2/11/2026", "02/1/2026", "2026-02-31", "0000-01-01", "0001-01-01", "9999-12-31", "2026-11-2", "2026-1-02",
        "20261102", "20260230", "20261302", "2026110", "2026-11-02T10:00:00+01:00", "2026-11-02T10:00:00-05:00",
        "2026-11-02 10:00:00", "2026-11-02T10:00", "2026-11-02T10:00:00.5Z", "2026-11-02T24:00:00Z",
        "2026-11-02T23:59:60Z", "2026-11-02t10:00:00z", "1969-12-31T23:59:59Z", "1960-05-05T10:00:00Z",
        "02.11.2026 24:00", "02.11.2026 9:05", "02 Nov 2026", "2 nov 2026", "+2026-11-02", "２０２６-11-02",
        "٠٢/١١/٢٠٢٦", "2026-11-02Z", "11/02/26", "next week", "1234567890", "1900-02-29", "2000-02-29",
        "2100-02-29", "29/02/1900", "29/02/2000", "19000229",
    ]  # fmt: skip
    choice = draw(st.integers(0, 4))
    if choice == 0:
        return draw(st.sampled_from(fixed))
    if choice == 1:  # one-digit day and month
        return f"{moment.day}/{moment.month}/{moment.year}"
    if choice == 2:  # a valid value under another pattern (or ISO when there is one)
        other = draw(st.sampled_from([p for p in DATE_FORMATS if p != pattern]))
        return _render(moment, other) if other else moment.date().isoformat()
    if choice == 3:
        return _render(moment, "%Y-%m-%dT%H:%M:%SZ")
    return draw(_dates(pattern))


@st.composite
def _eidrs(draw: st.DrawFn, awkward: bool) -> str:
    hex20 = draw(st.text(alphabet="0123456789ABCDEF", min_size=20, max_size=20))
    check = check_character(hex20)
    groups = "-".join(hex20[i : i + 4] for i in range(0, 20, 4))
    canonical = f"10.5240/{groups}-{check}"
    if not awkward:
        return canonical
    wrong = "0" if check != "0" else "1"
    forms = [
        canonical.lower(), f"urn:eidr:{canonical}", f"doi:{canonical}", f"https://doi.org/{canonical}",
        f"10.5240/{hex20}{check}", f"10.5240/{groups}-{wrong}", f"10.5240/{groups}", "10.5240/7791-8534",
        f"10.5237/{hex20[:4]}-{hex20[4:8]}", f"10.5240%2F{groups}-{check}", f"{groups}-{check}",
        f"10.5240/{groups.lower()}-{check}", f"10.5240 / {groups}-{check}", f"10.5240/{groups}-{check}X",
        f"md:cid:eidr-s:{groups}-{check}", "not an id",
    ]  # fmt: skip
    return draw(st.sampled_from(forms))


@cache
def _common_text(kind: str, pattern: str | None, timestamp_pattern: str | None) -> st.SearchStrategy[str]:
    """Values in the forms the column-wise path converts itself."""
    if kind == "id":
        return st.one_of(st.integers(0, 10**6).map(lambda n: f"A{n}"), st.text(_SAFE_ALPHABET, min_size=1, max_size=8))
    if kind == "title":
        return st.one_of(st.sampled_from(TITLES), st.text(_SAFE_ALPHABET, min_size=1, max_size=12))
    if kind == "work_type":
        return st.sampled_from(WORK_TYPES)
    if kind == "int":
        return st.one_of(st.integers(0, 30), st.integers(0, 999_999_999)).map(str)
    if kind == "year":
        return st.integers(1870, 2100).map(str)
    if kind == "date":
        return _dates(pattern)
    if kind == "timestamp":
        return _dates(timestamp_pattern)
    if kind == "genres":
        return st.lists(st.sampled_from(GENRES), min_size=1, max_size=3).map(", ".join)
    if kind == "directors":
        return st.sampled_from(PEOPLE)
    if kind == "country":
        return st.sampled_from(COUNTRIES)
    assert kind == "eidr"
    return _eidrs(awkward=False)


@st.composite
def _decorated(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    """A value with awkward edges or characters: Unicode and ASCII spaces, tabs, controls, quotes, line breaks."""
    value = draw(base)
    choice = draw(st.integers(0, 4))
    if choice == 0:
        lead = "".join(draw(st.lists(st.sampled_from(_EDGE_CHARS), max_size=3)))
        trail = "".join(draw(st.lists(st.sampled_from(_EDGE_CHARS), max_size=3)))
        value = lead + value + trail
    elif choice == 1:
        position = draw(st.integers(0, len(value)))
        value = value[:position] + draw(st.sampled_from(_INSERTED)) + value[position:]
    elif choice == 2:
        value = "".join(draw(st.lists(st.sampled_from(_EDGE_CHARS), max_size=3)))
    elif choice == 3:
        value = f"  {value}  "
    else:
        value = draw(st.text(max_size=6))
    return value


@cache
def _awkward_text(kind: str, pattern: str | None, timestamp_pattern: str | None) -> st.SearchStrategy[str]:
    common = _common_text(kind, pattern, timestamp_pattern)
    special: list[st.SearchStrategy[str]] = [_decorated(common), st.just("")]
    if kind in ("int", "year"):
        odd = ["+5", "-5", "1234567890", "0000000000", "000000000", "90.0", "90.5", "1e3", "0000", "1869", "2101",
               "99", "١٢", "１２", "0x1F", "5 5", "true"]  # fmt: skip
        special.append(st.sampled_from(odd))
    elif kind == "work_type":
        special.append(st.sampled_from(AWKWARD_WORK_TYPES))
    elif kind in ("date", "timestamp"):
        special.append(_awkward_dates(pattern if kind == "date" else timestamp_pattern))
    elif kind == "eidr":
        special.append(_eidrs(awkward=True))
    elif kind in ("genres", "directors"):
        special.append(st.sampled_from(["Action, , Drama", " , ", "Action;Drama", "Ação,\u00a0Drama"]))
    return st.one_of(*special)


@st.composite
def _text_value(draw: st.DrawFn, kind: str, mode: str, pattern: str | None, timestamp_pattern: str | None) -> str:
    """One CSV cell (or JSON string) in the common forms; in mode 'sparse' one in about twelve is awkward or empty, in
    mode 'mixed' half of them."""
    if mode == "clean":
        value = draw(_common_text(kind, pattern, timestamp_pattern))
    else:
        which = draw(st.sampled_from(["common"] * (10 if mode == "sparse" else 3) + ["awkward", "awkward", "empty"]))
        if which == "common":
            value = draw(_common_text(kind, pattern, timestamp_pattern))
        elif which == "awkward":
            value = draw(_awkward_text(kind, pattern, timestamp_pattern))
        else:
            value = ""
    return value


# ---------------------------------------------------------------------------------------------------------------------
# CSV files


# clean: the common forms only; sparse: a few awkward values; mixed: many, and awkward files (blank lines, ragged rows,
# missing headers, items that are not objects)
MODES = st.sampled_from(["clean", "sparse", "sparse", "mixed", "mixed"])


def _header_label(draw: st.DrawFn, name: str) -> str:
    return draw(st.sampled_from([name, name.upper(), name.replace("_", " ").title(), f"Src {name}", f" {name} "]))


def _cell(draw: st.DrawFn, value: str, delimiter: str, quotechar: str) -> str:
    quoted = quotechar + value.replace(quotechar, quotechar * 2) + quotechar
    if any(c in value for c in (delimiter, quotechar, "\n", "\r")):
        return quoted
    form = draw(st.sampled_from(["plain", "plain", "plain", "quoted", "garbled", "spaced"]))
    if form == "quoted":
        return quoted
    if form == "garbled" and value:  # text after the closing quote: both parsers keep it
        return quotechar + value[:-1] + quotechar + value[-1]
    if form == "spaced":  # a quote that does not open the field is text
        return " " + quoted
    return value


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, dict[str, Any]]:
    """A CSV delivery and its format options: header plus rows, values mostly in the common forms."""
    mode = draw(MODES)
    optional = [name for name in MAPPABLE_COLUMNS if name not in ("provider_asset_id", "title")]
    names = ["provider_asset_id", "title", *draw(st.lists(st.sampled_from(optional), unique=True, max_size=8))]
    names = draw(st.permutations(names))
    delimiter_option = draw(st.sampled_from([",", ",", ";", "\t", "tab", "semicolon"]))
    delimiter = {"tab": "\t", "semicolon": ";"}.get(delimiter_option, delimiter_option)
    quotechar = draw(st.sampled_from(['"', '"', '"', "'"]))
    pattern = draw(st.sampled_from(DATE_FORMATS))
    timestamp_pattern = draw(st.sampled_from(TIMESTAMP_FORMATS))
    explicit = draw(st.booleans()) or mode == "clean"
    labels = {name: _header_label(draw, name) if explicit else name for name in names}
    headers = [labels[name] for name in names]
    repeated = [labels["title"], labels["provider_asset_id"].upper()]  # a header name twice: "Title (2)"
    extras = draw(st.lists(st.sampled_from(["Notes", "note", "Extra Column", "", " notes ", *repeated]), max_size=2))
    extras += draw(st.lists(st.sampled_from(["note (2)", "Notes (2)"]), max_size=1))
    positions = [draw(st.integers(0, len(headers))) for _ in extras]
    columns: list[str | None] = list(names)
    for extra, position in zip(extras, positions, strict=True):
        headers.insert(position, extra)
        columns.insert(position, None)
    options: dict[str, Any] = {"delimiter": delimiter_option}
    if quotechar != '"':
        options["quotechar"] = quotechar
    if explicit:
        options["columns"] = {
            name: draw(st.sampled_from([labels[name], labels[name].strip().lower(), labels[name].upper()]))
            for name in names
        }
    if pattern is not None:
        options["date_format"] = pattern
    if timestamp_pattern is not None:
        options["timestamp_format"] = timestamp_pattern
    if mode == "mixed" and draw(st.integers(0, 9)) == 0:  # a mapped header missing from the file
        dropped = draw(st.sampled_from(names))
        headers[columns.index(dropped)] = "something else"

    rows = []
    for _ in range(draw(st.integers(0 if mode == "mixed" else 1, 6))):
        cells = []
        for name in columns:
            if name is None:
                value = draw(st.sampled_from(["", "n/a", "free text", 'with "quotes"', "x\ty"]))
            else:
                value = draw(_text_value(KINDS[name], mode, pattern, timestamp_pattern))
            cells.append(_cell(draw, value, delimiter, quotechar))
        if mode == "mixed" and draw(st.integers(0, 14)) == 0:  # a ragged row
            cells = cells[:-1] if draw(st.booleans()) else [*cells, "extra"]
        rows.append(delimiter.join(cells))
    header_line = delimiter.join(headers)
    lines = [header_line, *rows]
    if mode == "mixed" and draw(st.integers(0, 7)) == 0:  # a blank line
        lines.insert(draw(st.integers(1, len(lines))), "")
    eol = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    text = eol.join(lines) + (eol if draw(st.booleans()) else "")
    data = text.encode("utf-8")
    if draw(st.integers(0, 5)) == 0:
        data = codecs.BOM_UTF8 + data
    return data, options


@SETTINGS
@given(csv_files())
def test_csv_columnar_gives_the_reference_outcomes(case: tuple[bytes, dict[str, Any]]) -> None:
    data, options = case
    _note_path(check_csv(data, options))


@st.composite
def one_value_csv(draw: st.DrawFn) -> tuple[bytes, dict[str, Any]]:
    """Plain files with one awkward value among common ones: many examples per second, for the value forms."""
    name = draw(st.sampled_from(MAPPABLE_COLUMNS))
    pattern = draw(st.sampled_from(DATE_FORMATS))
    timestamp_pattern = draw(st.sampled_from(TIMESTAMP_FORMATS))
    value = draw(_awkward_text(KINDS[name], pattern, timestamp_pattern))
    names = ["provider_asset_id", "title"] + ([name] if name not in ("provider_asset_id", "title") else [])
    cells = [f"A{index}" if n == "provider_asset_id" else "Heat" for index, n in enumerate(names)]
    cells[names.index(name)] = value
    options: dict[str, Any] = {"columns": {n: n for n in names}}
    if pattern is not None:
        options["date_format"] = pattern
    if timestamp_pattern is not None:
        options["timestamp_format"] = timestamp_pattern
    good = ",".join("A9" if n == "provider_asset_id" else "Heat" if n == "title" else "" for n in names)
    row = ",".join(_cell(draw, cell, ",", '"') for cell in cells)
    return f"{','.join(names)}\n{good}\n{row}\n{good}\n".encode(), options


@settings(SETTINGS, max_examples=250)
@given(one_value_csv())
def test_csv_columnar_gives_the_reference_outcome_for_each_value_form(case: tuple[bytes, dict[str, Any]]) -> None:
    data, options = case
    _note_path(check_csv(data, options))


# ---------------------------------------------------------------------------------------------------------------------
# JSON documents

_JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6), st.sampled_from(["\x00", "a\\u0000b", "\u2028", LONE_SURROGATE]),
)  # fmt: skip
_JSON_EXTRAS = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
_ODD_JSON_VALUES = [-5, 1234567890, 90.0, 1995.0, 0, True, False, 2**64, -0.0, 1e18, 1e300, [], {}, ["a", 1],
                    ["Drama", None], [None], [["Drama"]], {"x": 1}, 90.5, -0.5, 1995.5]  # fmt: skip


@st.composite
def _json_value(draw: st.DrawFn, kind: str, mode: str, pattern: str | None, timestamp_pattern: str | None) -> Any:
    """A JSON value for one mapped field: strings as in CSV, JSON numbers, lists for genres and directors, and in mode
    'mixed' also other JSON types (which the reference rejects or reads as text)."""
    if kind in ("int", "year"):
        number = st.integers(0, 999_999_999) if kind == "int" else st.integers(1870, 2100)
        if mode != "mixed" or draw(st.booleans()):
            return draw(number)
    if kind in ("genres", "directors"):
        pool = GENRES if kind == "genres" else PEOPLE
        if mode == "clean" or draw(st.booleans()):
            items = draw(st.lists(st.sampled_from(pool), max_size=3))
            if mode == "mixed" and draw(st.booleans()):
                extra = st.sampled_from(["", " ", "\u00a0", " Drama ", "Comedy\u3000", "\tAction", "Film\x01Noir",
                                         "\u2003", " \u2003 ", "Sci-Fi\u0085", "Ação"])  # fmt: skip
                items = items + draw(st.lists(extra, max_size=2))
                items = draw(st.permutations(items))
            return items
    if mode != "clean" and draw(st.integers(0, 11 if mode == "mixed" else 23)) == 0:
        return draw(st.sampled_from(_ODD_JSON_VALUES))
    return draw(_text_value(kind, mode, pattern, timestamp_pattern))


@st.composite
def json_options(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, str], str]:
    """(format options, canonical name -> field name, mode): mode 'clean' has only the common forms."""
    mode = draw(MODES)
    options: dict[str, Any] = {}
    if draw(st.booleans()):
        optional = [name for name in MAPPABLE_COLUMNS if name not in ("provider_asset_id", "title")]
        names = ["provider_asset_id", "title", *draw(st.lists(st.sampled_from(optional), unique=True, max_size=8))]
        keys = {
            name: draw(st.sampled_from([name, name.title(), f"src_{name}", name.replace("_", " ")])) for name in names
        }
        if mode == "mixed" and draw(st.integers(0, 19)) == 0:
            keys["title"] = keys["provider_asset_id"]  # two columns from one field
        options["fields"] = keys
    else:
        keys = {name: name for name in MAPPABLE_COLUMNS}
    pattern = draw(st.sampled_from(DATE_FORMATS))
    timestamp_pattern = draw(st.sampled_from(TIMESTAMP_FORMATS))
    if pattern is not None:
        options["date_format"] = pattern
    if timestamp_pattern is not None:
        options["timestamp_format"] = timestamp_pattern
    layout = draw(st.sampled_from(["items", "items", "items", "root", "nested"]))
    if layout != "root":
        options["items_field"] = "items" if layout == "items" else "data.results"
    return options, keys, mode


@st.composite
def json_pages(draw: st.DrawFn, options: dict[str, Any], keys: dict[str, str], mode: str) -> bytes:
    """A JSON page for these options: {"items": [...]}, a root list or {"data": {"results": [...]}}."""
    pattern, timestamp_pattern = options.get("date_format"), options.get("timestamp_format")
    items: list[Any] = []
    for _ in range(draw(st.integers(0 if mode == "mixed" else 1, 6))):
        item: dict[str, Any] = {}
        for name, key in draw(st.permutations(list(keys.items()))):
            if mode != "clean" and draw(st.integers(0, 5 if mode == "mixed" else 15)) == 0:
                continue  # missing
            if mode != "clean" and draw(st.integers(0, 9 if mode == "mixed" else 15)) == 0:
                item[key] = None
                continue
            item[key] = draw(_json_value(KINDS[name], mode, pattern, timestamp_pattern))
        if draw(st.integers(0, 3)) == 0:
            extras = draw(st.dictionaries(st.sampled_from(["rating", "votes", "notes", "nested", "Ünïcode"]),
                                          _JSON_EXTRAS, max_size=2))  # fmt: skip
            if mode == "clean":
                extras = json.loads(json.dumps(extras).replace(LONE_SURROGATE, ""))
            item.update(extras)
        items.append(item)
    if mode == "mixed" and items and draw(st.integers(0, 14)) == 0:
        items.insert(draw(st.integers(0, len(items))), draw(st.sampled_from(["text", 5, None, [], [{"title": "x"}]])))
    document: Any = items
    if options.get("items_field") == "items":
        document = {"page": 1, "items": items} if draw(st.booleans()) else {"items": items}
    elif options.get("items_field"):
        document = {"data": {"results": items, "total": len(items)}}
    text = json.dumps(document, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, None, 2])))
    data = text.replace(LONE_SURROGATE, "\\ud800").encode("utf-8")
    return codecs.BOM_UTF8 + data if draw(st.integers(0, 5)) == 0 else data


@st.composite
def json_documents(draw: st.DrawFn) -> tuple[bytes, dict[str, Any]]:
    options, keys, mode = draw(json_options())
    return draw(json_pages(options, keys, mode)), options


@SETTINGS
@given(json_documents())
def test_json_columnar_gives_the_reference_outcomes(case: tuple[bytes, dict[str, Any]]) -> None:
    data, options = case
    _note_path(check_json(data, options))


@st.composite
def json_deliveries(draw: st.DrawFn) -> tuple[list[bytes], dict[str, Any]]:
    options, keys, mode = draw(json_options())
    return draw(st.lists(json_pages(options, keys, mode), min_size=1, max_size=4)), options


@settings(SETTINGS, max_examples=100)
@given(json_deliveries())
def test_json_pages_converted_together_give_the_reference_outcomes(case: tuple[list[bytes], dict[str, Any]]) -> None:
    """parse_json_files, which ingest runs use, converts the items of several pages in one go."""
    pages, options = case
    files = [(data, f"2026-11-02/page-{number:04d}.json") for number, data in enumerate(pages, start=1)]
    together = parse_json_files(files, options)
    assert len(together) == len(files)
    for (data, name), results in zip(files, together, strict=True):
        assert_same_outcomes(parse_json_records(data, name, options), results, data, options)
        _note_path(results)


@st.composite
def one_value_json(draw: st.DrawFn) -> tuple[bytes, dict[str, Any]]:
    """Pages of plain items with one awkward value: many examples per second, for the value forms."""
    name = draw(st.sampled_from(MAPPABLE_COLUMNS))
    pattern = draw(st.sampled_from(DATE_FORMATS))
    timestamp_pattern = draw(st.sampled_from(TIMESTAMP_FORMATS))
    if draw(st.integers(0, 3)) == 0:
        value = draw(st.sampled_from(_ODD_JSON_VALUES))
    else:
        value = draw(_json_value(KINDS[name], "mixed", pattern, timestamp_pattern))
    fields = {n: n for n in ("provider_asset_id", "title", name)}
    options: dict[str, Any] = {"items_field": "items", "fields": fields}
    if pattern is not None:
        options["date_format"] = pattern
    if timestamp_pattern is not None:
        options["timestamp_format"] = timestamp_pattern
    good = {"provider_asset_id": "A0", "title": "Heat"}
    items = [good, {**good, "provider_asset_id": "A1", name: value}, good]
    return json.dumps({"items": items}, ensure_ascii=draw(st.booleans())).encode(), options


@settings(SETTINGS, max_examples=250)
@given(one_value_json())
def test_json_columnar_gives_the_reference_outcome_for_each_value_form(case: tuple[bytes, dict[str, Any]]) -> None:
    data, options = case
    _note_path(check_json(data, options))


# ---------------------------------------------------------------------------------------------------------------------
# Examples

VALID_EIDR = "10.5240/7791-8534-2C23-9030-8610-5"
CSV_HEADER = "Asset ID;Title;Type;Year;Release Date;Length;Genre;EIDR;Window End;Updated"
CSV_COLUMNS = {
    "provider_asset_id": "Asset ID", "title": "Title", "work_type": "Type", "release_year": "Year",
    "release_date": "Release Date", "runtime_minutes": "Length", "genres": "Genre", "eidr_id": "EIDR",
    "licensing_window_end": "Window End", "updated_at": "Updated",
}  # fmt: skip
CSV_EXAMPLE_OPTIONS = {"delimiter": ";", "date_format": "%d/%m/%Y", "columns": CSV_COLUMNS}


def _csv_rows(count: int) -> list[str]:
    return [
        f"A{index};Film {index};Movie;{1990 + index};0{index % 9 + 1}/11/2001;{90 + index};Drama, Comedy;"
        f"{VALID_EIDR if index % 2 else ''};31/12/2027;2026-11-02T10:0{index % 10}:00Z"
        for index in range(count)
    ]


def test_a_plain_csv_file_is_one_record_block() -> None:
    data = "\n".join([CSV_HEADER, *_csv_rows(6)]).encode() + b"\n"
    results = check_csv(data, CSV_EXAMPLE_OPTIONS)
    [block] = results
    assert isinstance(block, RecordBlock) and block.num_rows == 6
    first = block.records()[0]
    assert first.source_location == "2026-11-02/titles.csv:line 2"
    assert (first.columns["release_date"], first.columns["runtime_minutes"]) == (date(2001, 11, 1), 90)
    assert first.columns["licensing_window_end"] == datetime(2027, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert first.columns["record"]["Genre"] == "Drama, Comedy"


def test_one_bad_csv_row_is_quarantined_with_the_reference_reason() -> None:
    rows = _csv_rows(5)
    rows[2] = rows[2].replace("03/11/2001", "31/02/2001")
    data = "\n".join([CSV_HEADER, *rows]).encode() + b"\n"
    results = check_csv(data, CSV_EXAMPLE_OPTIONS)
    [block] = _blocks(results)
    assert block.num_rows == 4
    assert "2026-11-02/titles.csv:line 4" not in block.source_locations.to_pylist()
    [bad] = [result for result in results if isinstance(result, Quarantined)]
    reference = parse_csv_records(data, "2026-11-02/titles.csv", CSV_EXAMPLE_OPTIONS)
    [expected] = [outcome for outcome in reference if isinstance(outcome, Quarantined)]
    assert bad == expected
    assert bad.source_location == "2026-11-02/titles.csv:line 4"
    assert bad.reason == "bad release_date (source 'Release Date') '31/02/2001': expected the format '%d/%m/%Y'"


def _json_items(count: int) -> list[dict[str, Any]]:
    return [
        {"provider_asset_id": f"J{index}", "title": f"Film {index}", "work_type": "Movie", "release_year": 1990 + index,
         "runtime_minutes": 90 + index, "genres": ["Drama", "Comedy"], "eidr_id": VALID_EIDR,
         "licensing_window_end": "2027-12-31", "updated_at": "2026-11-02T10:00:00Z", "rating": 7.5}
        for index in range(count)
    ]  # fmt: skip


def test_a_plain_json_page_is_one_record_block() -> None:
    data = json.dumps({"page": 1, "items": _json_items(5)}).encode()
    [block] = check_json(data, {"items_field": "items"})
    assert isinstance(block, RecordBlock) and block.num_rows == 5
    first = block.records()[0]
    assert first.source_location == "2026-11-02/page-0001.json#/items/0"
    assert (first.columns["genres"], first.columns["release_year"]) == ("Drama, Comedy", 1990)


def test_one_bad_json_item_is_quarantined_with_the_reference_reason() -> None:
    items = _json_items(5)
    items[3]["release_year"] = "0000"
    data = json.dumps({"items": items}).encode()
    results = check_json(data, {"items_field": "items"})
    [block] = _blocks(results)
    assert block.num_rows == 4
    [bad] = [result for result in results if isinstance(result, Quarantined)]
    assert bad.source_location == "2026-11-02/page-0001.json#/items/3"
    assert bad.reason == "bad release_year (source 'release_year') '0000': expected a year between 1870 and 2100"


def test_an_inverted_licensing_window_is_quarantined_on_both_paths() -> None:
    """A row whose window ends before it starts leaves the column-wise path and is quarantined naming both dates; a
    window of one day (start and end the same date) stays in the block."""
    columns = {**CSV_COLUMNS, "licensing_window_start": "Window Start"}
    options = {**CSV_EXAMPLE_OPTIONS, "columns": columns}
    rows = [f"{row};01/11/2027" for row in _csv_rows(5)]
    rows[1] = rows[1].replace(";31/12/2027;", ";31/10/2027;")
    rows[3] = rows[3].replace(";31/12/2027;", ";01/11/2027;")
    data = "\n".join([CSV_HEADER + ";Window Start", *rows]).encode() + b"\n"
    results = check_csv(data, options)
    [block] = _blocks(results)
    assert block.num_rows == 4
    one_day = block.records()[2]
    assert one_day.source_location == "2026-11-02/titles.csv:line 5"
    assert (one_day.columns["licensing_window_start"], one_day.columns["licensing_window_end"]) == (
        datetime(2027, 11, 1, tzinfo=UTC),
        datetime(2027, 11, 1, 23, 59, 59, tzinfo=UTC),
    )
    [bad] = [result for result in results if isinstance(result, Quarantined)]
    assert bad.source_location == "2026-11-02/titles.csv:line 3"
    assert bad.reason == (
        "licensing_window_start (source 'Window Start') 2027-11-01T00:00:00+00:00 is after "
        "licensing_window_end (source 'Window End') 2027-10-31T23:59:59+00:00"
    )
    assert len(_expanded(results)) == len(rows)  # every row is accounted for


def test_an_inverted_licensing_window_in_a_json_item_is_quarantined() -> None:
    items = _json_items(4)
    for item in items:
        item["licensing_window_start"] = "2027-12-31"  # a one-day window: loads
    items[2]["licensing_window_start"] = "2028-01-01T00:00:00Z"
    data = json.dumps({"items": items}).encode()
    results = check_json(data, {"items_field": "items"})
    [block] = _blocks(results)
    assert block.num_rows == 3
    [bad] = [result for result in results if isinstance(result, Quarantined)]
    assert bad.source_location == "2026-11-02/page-0001.json#/items/2"
    assert bad.reason == (
        "licensing_window_start (source 'licensing_window_start') 2028-01-01T00:00:00+00:00 is after "
        "licensing_window_end (source 'licensing_window_end') 2027-12-31T23:59:59+00:00"
    )


def _fast_share(results: Sequence[Any]) -> float:
    fast = sum(block.num_rows for block in _blocks(results))
    return fast / len(_expanded(results))


def test_the_benchmark_deliveries(tmp_path: Path) -> None:
    rows = benchmark.title_rows(1500)
    benchmark.write_csv(rows, tmp_path)
    benchmark.write_json(rows, tmp_path)
    [csv_file] = sorted(tmp_path.glob("*.csv"))
    csv_results = check_csv(csv_file.read_bytes(), benchmark.CSV_OPTIONS, csv_file.name)
    assert len(_expanded(csv_results)) == 1500 and _fast_share(csv_results) > 0.9
    pages = sorted(tmp_path.glob("*.json"))
    assert len(pages) == 2
    for page in pages:
        json_results = check_json(page.read_bytes(), benchmark.JSON_OPTIONS, page.name)
        assert _fast_share(json_results) > 0.9


def test_the_demo_api_page() -> None:
    data = json.dumps({"items": demo_titles(), "page": 1, "total": 120}).encode()
    results = check_json(data, {"items_field": "items"})
    assert len(_expanded(results)) == 120 and _fast_share(results) > 0.9


# ---------------------------------------------------------------------------------------------------------------------
# Differences found by the property tests and fixed: their minimal reproducers


@pytest.mark.parametrize(
    ("kind", "data", "options"),
    [
        ("csv", b"id,title\nA1, \xc2\xa0Heat\n", {"columns": {"provider_asset_id": "id", "title": "title"}}),
        ("csv", b"id,title,eidr\nA1,Heat,10.5240/7791-8534-2C23-9030-8610-5\xc2\xa0 \n",
         {"columns": {"provider_asset_id": "id", "title": "title", "eidr_id": "eidr"}}),
        ("csv", b"id,title,series\nA1,Heat, \xe3\x80\x80 \n",
         {"columns": {"provider_asset_id": "id", "title": "title", "series_title": "series"}}),
        ("json", b'{"items":[{"provider_asset_id":"A1","title":"Heat","genres":["Action"," \\u3000Drama"]}]}',
         {"items_field": "items"}),
    ],
    ids=["csv-title", "csv-eidr", "csv-blank", "json-genres"],
)  # fmt: skip
def test_fixed_space_then_unicode_space(kind: str, data: bytes, options: dict[str, Any]) -> None:
    (check_csv if kind == "csv" else check_json)(data, options)


def test_fixed_colliding_header_keys() -> None:
    check_csv(
        b"id,title,note (2),note,note\nA1,Heat,x,y,z\n", {"columns": {"provider_asset_id": "id", "title": "title"}}
    )


def test_fixed_csv_field_beyond_the_csv_module_limit() -> None:
    data = b"id,title\nA1," + b"x" * 131_073 + b"\n"
    check_csv(data, {"columns": {"provider_asset_id": "id", "title": "title"}})


def _summary(results: Sequence[Any]) -> list[tuple[str, ...]]:
    """Outcomes without RecordBlock.records(), whose json.loads could itself hit the recursion limit here."""
    out: list[tuple[str, ...]] = []
    for result in results:
        if isinstance(result, RecordBlock):
            pairs = zip(result.source_locations.to_pylist(), result.record_hashes.to_pylist(), strict=True)
            out.extend(("parsed", location, record_hash) for location, record_hash in pairs)
        elif isinstance(result, ParsedRecord):
            out.append(("parsed", result.source_location, result.record_hash))
        else:
            out.append(("quarantined", result.source_location, result.reason))
    return sorted(out)


def test_fixed_json_nested_just_below_the_recursion_limit() -> None:
    differing = []
    options = {"items_field": "items", "fields": {"provider_asset_id": "provider_asset_id", "title": "title"}}
    for depth in range(200, 1100):  # the depths where the two decoders give up depend on the stack depth here
        nested = b"[" * depth + b"]" * depth
        data = b'{"items":[{"provider_asset_id":"A1","title":"Heat","x":' + nested + b"}]}"
        outcomes = [_summary(parse(data, "p.json", options)) for parse in (parse_json_records, parse_json_columnar)]
        if outcomes[0] != outcomes[1]:
            differing.append((depth, outcomes))
    assert not differing, differing[:2]


def test_fixed_json_text_in_a_list_column() -> None:
    # reference genres 'Action'; columnar 'A, c, t, i, o, n'
    check_json(b'{"items":[{"provider_asset_id":"A1","title":"Heat","genres":"Action"}]}', {"items_field": "items"})


def test_fixed_json_fractional_integer() -> None:
    # reference: quarantined, "bad runtime_minutes (source 'runtime_minutes') 90.5: expected text or a number, got a
    # fractional number"; columnar: parsed with runtime_minutes 90
    check_json(
        b'{"items":[{"provider_asset_id":"A1","title":"Heat","runtime_minutes":90.5}]}', {"items_field": "items"}
    )


def test_a_nul_in_the_record_reads_back_as_stored() -> None:
    """jsonb cannot hold NUL, so both parsers store \\u0000 as \\ufffd: the column-wise parser leaves an item with the
    escape to the item parser."""
    data = b'{"items":[{"provider_asset_id":"A1","title":"Heat","rating":"\\u0000"}]}'
    [reference] = parse_json_records(data, "p.json", {"items_field": "items"})
    [columnar] = _expanded(parse_json_columnar(data, "p.json", {"items_field": "items"}))
    assert reference.columns["record"].json_text == columnar.columns["record"].json_text
    assert reference.record_hash == columnar.record_hash
    assert reference.columns["record"].json_text.endswith('"rating":"\\ufffd"}')
    assert (reference.columns["record"]["rating"], columnar.columns["record"]["rating"]) == ("\x00", "\x00")
