"""The ADI parser against a reference: the ElementTree implementation it replaced, kept here verbatim.

`ingest.parse.formats.adi` reads packages from pyexpat callbacks instead of building an ElementTree (see BENCHMARKS.md).
Every input must still give exactly what the old parser gave: the same columns (and record, key order included),
record_hash and location, or the same quarantine reason, location and raw text. The inputs: the public samples, demo
and benchmark packages, hand-made malformed and malicious files, and generated ones (byte mutations of real packages,
and packages built from random structure: case variants, repeated App_Data, namespaces, entities, odd nesting).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar
from xml.etree.ElementTree import Element, ParseError

import pytest
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from ingest import eidr
from ingest.limits import MAX_FIELD_CHARS, MAX_FILE_BYTES
from ingest.models import ParsedRecord, ParseOutcome, Quarantined
from ingest.parse.formats import adi, fields
from ingest.record_text import raw_text

PUBLIC_ADI = Path(__file__).resolve().parents[3] / "fixtures" / "public" / "adi"
T = TypeVar("T")


# --- the reference: the ADI parser and safe_xml.parse_xml as they were before the pyexpat reader ----------------------


class _RefXmlRejected(ValueError):
    def __init__(self, reason: str, position: tuple[int, int] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.position = position


def _ref_parse_xml(data: bytes) -> Element:
    if len(data) > MAX_FILE_BYTES:
        raise _RefXmlRejected(f"file too large: more than {MAX_FILE_BYTES} bytes")
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except ParseError as err:
        raise _RefXmlRejected(f"malformed XML: {err}", getattr(err, "position", None)) from None
    except DefusedXmlException as err:
        raise _RefXmlRejected(f"forbidden XML construct: {err!r}") from None
    except LookupError as err:  # an encoding Python does not know
        raise _RefXmlRejected(f"malformed XML: {err}") from None
    for element in root.iter():
        for name, value in element.attrib.items():
            if len(value) > MAX_FIELD_CHARS:
                label = f"Name={element.attrib['Name'][:80]!r} " if element.attrib.get("Name") else ""
                raise _RefXmlRejected(
                    f"field too long: <{_ref_local(element.tag)}> attribute {name} of {label}"
                    f"has {len(value)} characters, limit {MAX_FIELD_CHARS}"
                )
        for text in (element.text, element.tail):
            if text and len(text) > MAX_FIELD_CHARS:
                raise _RefXmlRejected(
                    f"field too long: text in <{_ref_local(element.tag)}> has {len(text)} characters, "
                    f"limit {MAX_FIELD_CHARS}"
                )
    return root


def _ref_local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


@dataclass
class _RefAsset:
    path: str
    ams: dict[str, str]
    app_data: dict[str, list[str]] = field(default_factory=dict)
    content: list[dict[str, str]] = field(default_factory=list)
    assets: list[_RefAsset] = field(default_factory=list)

    @property
    def asset_class(self) -> str:
        return self.ams.get("Asset_Class", "").strip().lower()

    def values(self, *names: str) -> list[str]:
        wanted = {name.lower() for name in names}
        found = [v for key, vals in self.app_data.items() if key.lower() in wanted for v in vals]
        return [v.strip() for v in found if v.strip()]

    def first(self, *names: str) -> str | None:
        found = self.values(*names)
        return found[0] if found else None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ams": self.ams,
            "app_data": self.app_data,
            "content": self.content,
            "assets": [child.to_json() for child in self.assets],
        }


class _RefRejected(Exception):
    def __init__(self, reason: str, fragment: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.fragment = fragment


def reference_parse(data: bytes, source_file: str) -> ParseOutcome:
    try:
        return _ref_parse(data, source_file)
    except _RefRejected as err:
        location = f"{source_file}#{err.fragment}" if err.fragment else source_file
        return Quarantined(source_file, location, err.reason, raw_text(data))
    except _RefXmlRejected as err:
        location = f"{source_file}:{err.position[0]}:{err.position[1]}" if err.position else source_file
        return Quarantined(source_file, location, err.reason, raw_text(data))
    except Exception as err:
        return Quarantined(
            source_file, source_file, f"unexpected parser error: {type(err).__name__}: {err}", raw_text(data)
        )


def _ref_parse(data: bytes, source_file: str) -> ParsedRecord:
    root = _ref_parse_xml(data)
    if _ref_local(root.tag) != "ADI":
        raise _RefRejected(f"not an ADI document: root element is <{_ref_local(root.tag)}>")
    package = _ref_read_asset(root, "/ADI", depth=0)
    titles = [asset for asset in package.assets if asset.asset_class == "title"]
    if not titles:
        raise _RefRejected('no title asset (AMS Asset_Class="title")', "/ADI")
    if len(titles) > 1:
        raise _RefRejected(f"{len(titles)} title assets in one package, expected one", "/ADI")
    title = titles[0]
    if not fields.text(title.ams.get("Asset_ID")):
        raise _RefRejected("title asset has no Asset_ID", title.path)
    if not title.first("Title"):
        raise _RefRejected("title asset has no Title", title.path)
    record = package.to_json()
    columns = _ref_title_columns(package, title)
    columns["record"] = record
    canonical = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    record_hash = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return ParsedRecord(source_file, f"{source_file}#{title.path}", record_hash, columns)


def _ref_read_asset(element: Element, path: str, depth: int) -> _RefAsset:
    if depth > adi.MAX_ASSET_DEPTH:
        raise _RefRejected(f"assets nested deeper than {adi.MAX_ASSET_DEPTH} levels", path)
    asset = _RefAsset(path=path, ams={})
    children = 0
    for child in element:
        tag = _ref_local(child.tag)
        if tag == "Metadata":
            for item in child:
                item_tag = _ref_local(item.tag)
                if item_tag == "AMS":
                    asset.ams.update(item.attrib)
                elif item_tag == "App_Data":
                    name = item.attrib.get("Name", "")
                    asset.app_data.setdefault(name, []).append(item.attrib.get("Value", ""))
        elif tag == "Content":
            asset.content.append(dict(child.attrib))
        elif tag == "Asset":
            children += 1
            asset.assets.append(_ref_read_asset(child, f"{path}/Asset[{children}]", depth + 1))
    return asset


def _ref_title_columns(package: _RefAsset, title: _RefAsset) -> dict[str, Any]:
    errors: list[str] = []

    def convert(name: str, value: str | None, parse: Callable[[str], T]) -> T | None:
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as err:
            errors.append(f"bad {name} {value[:80]!r}: {err}")
            return None

    ams = title.ams
    run_time = title.first("Run_Time")
    eidr_provided = title.first("eidr", "eidr_id")
    checked = eidr.parse_eidr(eidr_provided)
    children = {child.asset_class for child in title.assets}
    movie = next((child for child in title.assets if child.asset_class == "movie"), None)
    columns: dict[str, Any] = {
        "adi_provider": fields.text(ams.get("Provider") or package.ams.get("Provider")),
        "adi_provider_id": fields.text(ams.get("Provider_ID") or package.ams.get("Provider_ID")),
        "package_asset_id": fields.text(package.ams.get("Asset_ID")),
        "title_asset_id": fields.text(ams.get("Asset_ID")),
        "verb": fields.text((ams.get("Verb") or package.ams.get("Verb") or "").upper()),
        "version_major": convert("Version_Major", fields.text(ams.get("Version_Major")), fields.integer),
        "version_minor": convert("Version_Minor", fields.text(ams.get("Version_Minor")), fields.integer),
        "asset_name": fields.text(ams.get("Asset_Name")),
        "title": title.first("Title"),
        "title_brief": title.first("Title_Brief"),
        "episode_name": title.first("Episode_Name"),
        "series_title": title.first("Series_Name", "Series_Title"),
        "season_number": convert("Season_Number", title.first("Season_Number"), fields.integer),
        "episode_number": convert("Episode_Number", title.first("Episode_Number"), fields.integer),
        "show_type": title.first("Show_Type"),
        "summary_short": title.first("Summary_Short"),
        "rating": title.first("Rating"),
        "run_time": run_time,
        "runtime_seconds": convert("Run_Time", run_time, fields.run_time_seconds),
        "release_year": convert("Year", title.first("Year"), fields.year),
        "genres": ", ".join(title.values("Genre")) or None,
        "actors": "; ".join(title.values("Actors")) or None,
        "directors": "; ".join(title.values("Director", "Directors")) or None,
        "studio": title.first("Studio", "Studio_Name"),
        "country_of_origin": title.first("Country_of_Origin"),
        "category": " | ".join(title.values("Category")) or None,
        "licensing_window_start": convert(
            "Licensing_Window_Start", title.first("Licensing_Window_Start"), fields.timestamp
        ),
        "licensing_window_end": convert(
            "Licensing_Window_End",
            title.first("Licensing_Window_End"),
            lambda value: fields.timestamp(value, end_of_day=True),
        ),
        "eidr_id_provided": eidr_provided,
        "eidr_id": checked.canonical,
        "eidr_status": checked.status.value,
        "eidr_invalid_reason": checked.reason,
        "movie_asset_id": fields.text(movie.ams.get("Asset_ID")) if movie else None,
        "has_preview": "preview" in children,
        "has_poster": "poster" in children,
    }
    start, end = columns["licensing_window_start"], columns["licensing_window_end"]
    if start is not None and end is not None and end < start:  # the licensing-window rule, added to both since
        errors.append(f"Licensing_Window_Start {start.isoformat()} is after Licensing_Window_End {end.isoformat()}")
    if errors:
        raise _RefRejected("; ".join(errors), title.path)
    return columns


# --- comparing ----------------------------------------------------------------------------------------------------


def _shape(value: Any) -> Any:
    """A value with its dicts' key order made visible (dict equality ignores order, the record's text does not)."""
    if isinstance(value, Mapping):
        return [(key, _shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return value


def assert_same_outcome(data: bytes, name: str = "2026-11-02/pkg.xml") -> ParseOutcome:
    expected = reference_parse(data, name)
    [got] = adi.parse_adi_records(data, name, None)
    assert type(got) is type(expected)
    if isinstance(expected, Quarantined):
        assert got == expected
    else:
        assert isinstance(got, ParsedRecord)
        assert (got.source_file, got.source_location, got.record_hash) == (
            expected.source_file,
            expected.source_location,
            expected.record_hash,
        )
        assert _shape(got.columns) == _shape(expected.columns)
        # the record is a JsonRecord now: the dict plus the text that is stored, the very text record_hash is taken of
        record = got.columns["record"]
        assert type(record).__name__ == "JsonRecord" and type(expected.columns["record"]) is dict
        canonical = json.dumps(expected.columns["record"], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        assert record.json_text == canonical
        assert hashlib.sha256(record.json_text.encode("utf-8")).hexdigest() == got.record_hash
        got_types = [type(v) for k, v in got.columns.items() if k != "record"]
        assert got_types == [type(v) for k, v in expected.columns.items() if k != "record"]
    return got


def assert_read_without_fallback(data: bytes) -> None:
    """Where the callback reader runs (files up to MAX_FIELD_CHARS bytes), it decides by itself: no exception other
    than a rejection, so a bug there cannot hide behind the ElementTree path.
    """
    if len(data) > MAX_FIELD_CHARS:
        return
    try:
        adi._read_package(data)
    except adi.Rejected:
        pass
    except LookupError:  # an encoding Python does not know: ElementTree's path reports it, as before
        pass


# --- inputs -------------------------------------------------------------------------------------------------------


def _reference_xml() -> str:
    return (PUBLIC_ADI / "vod_metadata_reference.xml").read_text(encoding="utf-8")


def _public_samples() -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(PUBLIC_ADI.iterdir()) if p.suffix.lower() == ".xml"]


@pytest.fixture(scope="module")
def demo_packages(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, bytes]]:
    """Benchmark packages (films, most with previews, a mix of EIDR forms) and two demo days (with broken files)."""
    from benchmarks.ingest_throughput import write_adi
    from demo_feeds.adi import write_demo_data

    bench = tmp_path_factory.mktemp("adi_bench")
    write_adi(120, bench)
    demo = tmp_path_factory.mktemp("adi_demo")
    write_demo_data(demo, "demo_adi", date(2026, 11, 1), 2, 7)
    files = sorted(bench.glob("*.xml")) + sorted(demo.rglob("*.xml"))
    return [(str(p.relative_to(p.parents[1])), p.read_bytes()) for p in files]


def test_public_samples_match_the_reference() -> None:
    for name, data in _public_samples():
        assert_same_outcome(data, f"2026-11-01/{name}")
        assert_read_without_fallback(data)


def test_demo_and_benchmark_packages_match_the_reference(demo_packages: list[tuple[str, bytes]]) -> None:
    parsed = 0
    for name, data in demo_packages:
        parsed += isinstance(assert_same_outcome(data, name), ParsedRecord)
        assert_read_without_fallback(data)
    assert parsed > 100  # most are good packages: the comparison covers real columns, not only reasons


def _handmade() -> dict[str, str | bytes]:
    r = _reference_xml()
    body = r.split("\n", 2)[2]
    big = MAX_FIELD_CHARS
    app_data = '<App_Data App="MOD" Name="Type" Value="title"/>'
    return {
        "empty": b"",
        "garbage": b"\x00\xff\xfe garbage",
        "only_declaration": b"<?xml version='1.0'?>",
        "unclosed": b"<?xml version='1.0'?><ADI><Metadata>",
        "billion_laughs": '<?xml version="1.0"?><!DOCTYPE ADI [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><ADI><Metadata><AMS Description="&b;"/></Metadata></ADI>',
        "external_entity": '<!DOCTYPE ADI [<!ENTITY s SYSTEM "file:///etc/hostname">]><ADI>&s;</ADI>',
        "public_entity": '<!DOCTYPE ADI [<!ENTITY x PUBLIC "-//X//Y" "http://127.0.0.1:9/x">]><ADI>&x;</ADI>',
        "parameter_entity": '<!DOCTYPE ADI [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p"> %p;]><ADI/>',
        "unparsed_entity": '<!DOCTYPE ADI [<!NOTATION g SYSTEM "g"><!ENTITY e SYSTEM "e.gif" NDATA g>]><ADI/>',
        "attlist_defaults": '<!DOCTYPE ADI [<!ATTLIST AMS Provider CDATA "DEF" Extra CDATA #FIXED "x">]>\n' + body,
        "undefined_entity_without_dtd": body.replace("Test Title_Brief", "&nbsp;"),
        "undefined_entity_in_attribute_with_dtd": r.replace("Test Title_Brief", "&nbsp;Brief"),
        "undefined_entity_in_content_with_dtd": r.replace("<Content Value=", "&nbsp;<Content Value=", 1),
        "undefined_entity_standalone": '<?xml version="1.0" standalone="yes"?><!DOCTYPE ADI SYSTEM "ADI.DTD">'
        + body.replace("</Metadata>", "&copy;</Metadata>", 1),
        "undefined_entity_after_pe_reference": '<!DOCTYPE ADI SYSTEM "a" [%pe;]>'
        + body.replace("</Metadata>", "&copy;</Metadata>", 1),
        "entity_and_char_references": r.replace("Test Title_Brief", "A &amp; B &lt;&gt; &#xE9;&#233; &#x1F600;&#10;"),
        "whitespace_in_attributes": r.replace('Value="Test Title"', 'Value="Test\n\tTitle\r\n x"'),
        "cdata_comments_pis": r.replace("<Metadata>", "<Metadata><![CDATA[<x/>]]><!--<AMS A='1'/>--><?p x?>", 1),
        "utf16": r.replace('encoding="utf-8"', 'encoding="UTF-16"').encode("utf-16"),
        "utf16_undefined_entity": r.replace('encoding="utf-8"', 'encoding="UTF-16"')
        .replace("</Metadata>", "&copy;</Metadata>", 1)
        .encode("utf-16"),
        "latin1": r.replace('encoding="utf-8"', 'encoding="ISO-8859-1"')
        .replace("Test Title", "Caf\xe9")
        .encode("latin-1"),
        "cp1252": r.replace('encoding="utf-8"', 'encoding="windows-1252"')
        .replace("Test Title", "\u20ac")
        .encode("cp1252"),
        "unknown_encoding": r.replace('encoding="utf-8"', 'encoding="x-no-such-encoding"'),
        "not_utf8": r.encode().replace(b"Test Title_Brief", b"Caf\xe9"),
        "bom": b"\xef\xbb\xbf" + r.encode(),
        "default_namespace": r.replace("<ADI>", '<ADI xmlns="urn:cablelabs:adi">'),
        "prefixed_namespace": r.replace("<ADI>", '<a:ADI xmlns:a="urn:x">')
        .replace("</ADI>", "</a:ADI>")
        .replace("<Asset>", "<a:Asset>")
        .replace("</Asset>", "</a:Asset>"),
        "namespaced_attributes": r.replace("<ADI>", '<ADI xmlns:x="urn:x">')
        .replace('Asset_Class="title"', 'Asset_Class="title" x:Extra="1" xml:lang="en"')
        .replace('Value="movie_file.mpg"', 'Value="movie_file.mpg" x:Alt="a" xml:space="preserve"'),
        "namespaced_name_attribute": r.replace("<ADI>", '<ADI xmlns:x="urn:x">').replace(
            'Name="Title" Value="Test Title"', 'x:Name="Title" Value="Test Title"'
        ),
        "xml_prefix_on_app_data": r.replace('Name="Rating" Value="NR"', 'xml:Name="Rating" Value="NR"', 1),
        "unbound_prefix": r.replace('Asset_Class="title"', 'Asset_Class="title" y:Extra="1"'),
        "duplicate_attribute": r.replace('Asset_Class="title"', 'Asset_Class="title" Asset_Class="movie"'),
        "case_variants": r.replace(
            app_data,
            '<App_Data Name="title" Value="lower"/><App_Data Name="TITLE" Value=" "/>'
            '<App_Data Name="Directors" Value="B"/><App_Data Name="Director" Value="A"/>'
            '<App_Data Name="directors" Value="C"/><App_Data Name="Studio_Name" Value="S2"/>'
            '<App_Data Name="Studio" Value="S1"/><App_Data Name="EIDR_ID" Value="x"/><App_Data Name="eidr" Value="y"/>',
        ),
        "blank_first_values": r.replace(
            app_data,
            '<App_Data Name="Genre" Value=" "/><App_Data Name="Genre" Value="Drama"/>'
            '<App_Data Name="Series_Name" Value=""/><App_Data Name="Series_Title" Value="ST"/>',
        ),
        "app_data_without_name_or_value": r.replace(
            app_data, '<App_Data Value="v"/><App_Data Name="NoValue"/><App_Data/><App_Data Name="" Value=""/>'
        ),
        "app_data_other_attribute_order": r.replace(app_data, '<App_Data Value="title" Name="Type" App="MOD"/>'),
        "app_data_with_children": r.replace(
            app_data, '<App_Data Name="Type" Value="t"><App_Data Name="Title" Value="N"/><AMS A="n"/></App_Data>'
        ),
        "two_ams": r.replace(app_data, '<AMS Asset_ID="OVERRIDE" Verb="update"/>' + app_data),
        "asset_in_unknown_element": r.replace(
            "</Metadata>\n    <Asset>",
            '</Metadata>\n<W><Asset><Metadata><AMS Asset_Class="poster"/></Metadata></Asset></W><Asset>',
            1,
        ),
        "asset_and_content_in_metadata": r.replace(
            app_data, '<Asset><Metadata><AMS Asset_Class="preview"/></Metadata></Asset><Content Value="x"/>'
        ),
        "content_with_children": r.replace(
            '<Content Value="movie_file.mpg"/>', '<Content B="2" A="1"><Asset/><Metadata><AMS/></Metadata></Content>'
        ),
        "metadata_twice": r.replace(
            "    </Metadata>\n    <Asset>",
            '</Metadata><Metadata><AMS Version_Minor="9"/><App_Data Name="Title" Value="Again"/></Metadata><Asset>',
            1,
        ),
        "not_adi": r.replace("<ADI>", "<PACKAGE>").replace("</ADI>", "</PACKAGE>"),
        "two_titles": (lambda s, e: r[:e] + r[s:e] + "</ADI>")(r.index("  <Asset>"), r.rindex("</ADI>")),
        "bad_values": r.replace('Value="01:02:03"', 'Value="1h30"')
        .replace('Name="Year" Value="2003"', 'Name="Year" Value="1066"')
        .replace('Value="2023-01-02T23:59:59"', 'Value="2023-02-30"')
        .replace('Version_Minor="0"', 'Version_Minor="-1"', 2),
        "inverted_window": r.replace('Value="2023-01-02T23:59:59"', 'Value="2002-12-31"'),
        "inverted_window_and_bad_value": r.replace('Value="2023-01-02T23:59:59"', 'Value="2002-12-31"').replace(
            'Value="01:02:03"', 'Value="1h30"'
        ),
        "one_day_window": r.replace('Value="2023-01-02T23:59:59"', 'Value="2003-01-02"'),
        "empty_window": r.replace('Value="2003-01-02"', 'Value="2023-01-02T23:59:59"', 1),
        "inverted_window_in_large_package": r.replace('Value="2023-01-02T23:59:59"', 'Value="2002-12-31"').replace(
            "</ADI>",
            "".join(
                f'<Asset><Metadata><AMS Asset_Class="poster" Asset_ID="P{i}"/></Metadata></Asset>' for i in range(900)
            )
            + "</ADI>",
        ),
        "deep_assets": '<ADI><Metadata><AMS Asset_Class="package"/></Metadata>'
        + "<Asset>" * 12
        + "</Asset>" * 12
        + "</ADI>",
        "deep_assets_in_second_branch": "<ADI><Asset><Asset/>" + "<Asset>" * 10 + "</Asset>" * 10 + "</Asset></ADI>",
        "deep_assets_then_malformed": "<ADI>" + "<Asset>" * 12 + "</Asset>" * 12 + "</ADI><x",
        "deep_assets_not_adi": "<X>" + "<Asset>" * 12 + "</Asset>" * 12 + "</X>",
        "deeply_nested_other_elements": r.replace("</Metadata>", "<a>" * 2000 + "</a>" * 2000 + "</Metadata>", 1),
        "junk_after_root": r + "<extra/>",
        "text_after_root": r + "text",
        "crlf": r.replace("\n", "\r\n"),
        "attribute_at_limit": r.replace('Value="Test Summary_Short"', f'Value="{"x" * big}"'),
        "attribute_over_limit": r.replace('Value="Test Summary_Short"', f'Value="{"x" * (big + 1)}"'),
        "multibyte_attribute_over_limit": r.replace('Value="Test Summary_Short"', f'Value="{"é" * (big + 1)}"'),
        "text_over_limit": r.replace("</Metadata>", "y" * (big + 1) + "</Metadata>", 1),
        "tail_over_limit": r.replace("</Metadata>", "</Metadata>" + " " * (big + 1), 1),
        "two_long_fields": r.replace("</Metadata>", "y" * (big + 1) + "</Metadata>", 1).replace(
            'Value="Test Summary_Short"', f'Value="{"x" * (big + 5)}"'
        ),
        "long_unnamed_attribute": r.replace("<Content Value=", f'<Content Long="{"a" * (big + 3)}" Value='),
        "large_package": r.replace(
            "</ADI>",
            "".join(
                f'<Asset><Metadata><AMS Asset_Class="poster" Asset_ID="P{i}"/></Metadata><Content V="p{i}"/></Asset>'
                for i in range(900)
            )
            + "</ADI>",
        ),
        "oversized_file": b"<ADI>" + b" " * MAX_FILE_BYTES + b"</ADI>",
    }


@pytest.mark.parametrize(("case", "data"), sorted(_handmade().items()))
def test_handmade_inputs_match_the_reference(case: str, data: str | bytes) -> None:
    raw = data if isinstance(data, bytes) else data.encode("utf-8")
    assert_same_outcome(raw)
    assert_read_without_fallback(raw)


def test_every_truncation_matches_the_reference() -> None:
    data = _reference_xml().encode("utf-8")
    for end in range(0, len(data), 3):
        assert_same_outcome(data[:end])


# --- generated inputs ---------------------------------------------------------------------------------------------

_SAMPLES = [data for _, data in _public_samples()]
_TOKENS = [
    b"<", b">", b'"', b"&", b"&#0;", b"&amp;", b"&foo;", b"]]>", b"<!--", b"-->", b"<![CDATA[", b"</Asset>",
    b"<Asset>", b"<Metadata>", b"</Metadata>", b"\xff", b"\x00", b"\r\n", b"}", b" xmlns:a='u'", b" a:b='1'",
    b"<!DOCTYPE ADI SYSTEM 'x'>", b"<!ENTITY e 'x'>", b' Asset_Class="title"', b' Name="Title" ', b' Value=""',
]  # fmt: skip


@st.composite
def mutated_package(draw: st.DrawFn) -> bytes:
    """A public sample with a few bytes deleted, inserted or replaced: mostly malformed, sometimes subtly not."""
    data = bytearray(draw(st.sampled_from(_SAMPLES)))
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        position = draw(st.integers(min_value=0, max_value=len(data)))
        chunk = draw(st.sampled_from(_TOKENS) | st.binary(min_size=1, max_size=8))
        action = draw(st.sampled_from(["delete", "insert", "replace"]))
        if action == "delete":
            del data[position : position + len(chunk)]
        elif action == "insert":
            data[position:position] = chunk
        else:
            data[position : position + len(chunk)] = chunk
    return bytes(data)


@st.composite
def line_shuffled_package(draw: st.DrawFn) -> bytes:
    """A sample with whole lines deleted, repeated or moved: elements out of place, not just broken bytes."""
    lines = draw(st.sampled_from(_SAMPLES)).split(b"\n")
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        j = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        action = draw(st.sampled_from(["delete", "repeat", "move", "swap"]))
        if action == "delete" and len(lines) > 1:
            del lines[i]
        elif action == "repeat":
            lines.insert(j, lines[i])
        elif action == "move":
            lines.insert(j, lines.pop(i))
        else:
            lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


_NAMES = ["Title", "title", "TITLE", "Run_Time", "Year", "Genre", "Actors", "Director", "Directors", "Studio",
          "Studio_Name", "Series_Name", "Series_Title", "eidr", "EIDR_ID", "Season_Number", "Episode_Number",
          "Licensing_Window_Start", "Licensing_Window_End", "Category", "Summary_Short", "Rating", "Type", "É_Nom",
          "Σίγμα", ""]  # fmt: skip
_VALUES = ["", " ", "  x  ", "Test", "01:02:03", "1:2:3", "2003", "20O3", "5", "05", "x" * 90, "2026-11-02",
           "2026-11-02T10:00:00Z", "2026-02-30", "10.5240/0344-992B-DF0A-21A5-8BF9-Q", "A &amp; B", "&lt;&#233;&#10;",
           "\u00e9\u2028", "\U0001f600", "tab\there", "}{"]  # fmt: skip
_GOOD = {
    "run_time": ["01:02:03", " 00:45:09 "], "year": ["2003", "1999 "], "season_number": ["5", "05"],
    "episode_number": ["12"], "licensing_window_start": ["2026-11-02", "2026-11-02T10:00:00Z", "2027-12-01"],
    "licensing_window_end": ["2027-11-02", "2027-11-02 23:59:59+01:00", "2026-11-02", "2026-11-02T10:00:00Z",
                             "2026-11-01"],
    "eidr": ["10.5240/0344-992B-DF0A-21A5-8BF9-Q", "urn:eidr:10.5240:fb0d-0a93-cad6-8e8d-80c2-4", "10.5240/XXXX"],
    "eidr_id": ["10.5240/0344-992B-DF0A-21A5-8BF9-R"],
}  # fmt: skip
_CLASSES = ["title", "Title", " TITLE ", "movie", "preview", "poster", "package", "box cover", ""]
_AMS_KEYS = ["Asset_Class", "Asset_ID", "Provider", "Provider_ID", "Verb", "Version_Major", "Version_Minor",
             "Asset_Name", "x:Ns", "xml:lang"]  # fmt: skip


def _attribute(name: str, value: str, quote: str = '"') -> str:
    return f"{name}={quote}{value}{quote}"


@st.composite
def _value(draw: st.DrawFn, name: str) -> str:
    good = _GOOD.get(name.lower())
    if good and draw(st.integers(min_value=0, max_value=9)) > 0:
        return draw(st.sampled_from(good))
    if name.lower() in ("version_major", "version_minor"):
        return draw(st.sampled_from(["1", "0", "2"] * 3 + _VALUES))
    return draw(st.sampled_from(_VALUES))


@st.composite
def _metadata(draw: st.DrawFn, title: bool) -> str:
    items = []
    for n in range(draw(st.integers(min_value=1 if title else 0, max_value=2))):
        keys = draw(st.lists(st.sampled_from(_AMS_KEYS), unique=True, max_size=7))
        if title and n == 0:
            keys = ["Asset_Class", "Asset_ID", *(key for key in keys if key not in ("Asset_Class", "Asset_ID"))]
        values = {key: draw(_value(key)) for key in keys}
        if "Asset_Class" in values:
            classes = ["title"] * 6 + _CLASSES if title else _CLASSES
            values["Asset_Class"] = draw(st.sampled_from(classes))
        if title and n == 0 and draw(st.integers(min_value=0, max_value=9)) > 0:
            values["Asset_ID"] = "TSTT0001"
        items.append("<AMS " + " ".join(_attribute(key, value) for key, value in values.items()) + "/>")
    names = draw(st.lists(st.sampled_from(_NAMES), max_size=12))
    if title and draw(st.integers(min_value=0, max_value=9)) > 0:
        names.append("Title")
    for name in names:
        quote = draw(st.sampled_from(['"', '"', "'"]))
        values = {"App": "MOD", "Name": name, "Value": draw(_value(name))}
        if name == "Title" and draw(st.booleans()):
            values["Value"] = "Test Title"
        order = draw(st.sampled_from([["App", "Name", "Value"]] * 4 + [["Name", "Value"], ["Value", "Name", "App"]]))
        items.append("<App_Data " + " ".join(_attribute(key, values[key], quote) for key in order) + "/>")
    if draw(st.integers(min_value=0, max_value=4)) == 0:
        items.append("<Other><App_Data Name='Title' Value='hidden'/></Other><!-- c -->")
    return "<Metadata>" + "\n ".join(draw(st.permutations(items))) + "</Metadata>"


@st.composite
def _asset_xml(draw: st.DrawFn, depth: int, title: bool = False, tag: str = "Asset") -> str:
    parts = [f"<{tag}>"]
    metadata = draw(st.integers(min_value=1 if title else 0, max_value=2))
    parts += [draw(_metadata(title and n == 0)) for n in range(metadata)]
    if draw(st.booleans()):
        parts.append(f'<Content Value="{draw(st.sampled_from(_VALUES))}"/>')
    children = draw(st.integers(min_value=0, max_value=3 if depth < 3 else 1)) if depth < 10 else 0
    parts += [draw(_asset_xml(depth + 1)) for _ in range(children)]
    parts.append(f"</{tag}>")
    return "\n".join(parts)


@st.composite
def generated_package(draw: st.DrawFn) -> bytes:
    """A package built from random structure, declarations and encodings: mostly well-formed ADI, a title asset with
    a Title most of the time, values mostly of the right form."""
    root = draw(st.sampled_from(["ADI"] * 9 + ["PACKAGE"]))
    parts = [f"<{root}>", draw(_metadata(False))]
    assets = [draw(_asset_xml(1, title=True))] + [draw(_asset_xml(1)) for _ in range(draw(st.integers(0, 2)))]
    parts += draw(st.permutations(assets))
    parts.append(f"</{root}>")
    body = "\n".join(parts)
    if draw(st.booleans()):
        body = body.replace(f"<{root}>", f'<{root} xmlns:x="urn:x">', 1)
    else:
        body = body.replace("x:Ns", "Ns")
    prolog = draw(
        st.sampled_from(
            [
                "",
                '<?xml version="1.0" encoding="UTF-8"?>\n',
                '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE ADI SYSTEM "ADI.DTD">\n',
                '<!DOCTYPE ADI [<!ATTLIST AMS Provider CDATA "DEFAULTED">]>\n',
                '<!DOCTYPE ADI SYSTEM "ADI.DTD">\n',
            ]
        )
    )
    text = prolog + body
    if draw(st.integers(min_value=0, max_value=19)) == 7:
        text = text.replace("<App_Data", "&copy;<App_Data", 1)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig"] + ([] if "encoding=" in prolog else ["utf-16"])))
    return text.encode(encoding)


_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(mutated_package())
def test_mutated_packages_match_the_reference(data: bytes) -> None:
    assert_same_outcome(data)
    assert_read_without_fallback(data)


@_SETTINGS
@given(line_shuffled_package())
def test_line_shuffled_packages_match_the_reference(data: bytes) -> None:
    assert_same_outcome(data)
    assert_read_without_fallback(data)


@_SETTINGS
@given(generated_package())
def test_generated_packages_match_the_reference(data: bytes) -> None:
    assert_same_outcome(data)
    assert_read_without_fallback(data)


def test_the_generator_builds_good_packages_too() -> None:
    """The generated comparisons cover parsed records (columns, hashes), not only quarantine reasons."""
    found = find(
        generated_package(),
        lambda data: isinstance(reference_parse(data, "x"), ParsedRecord),
        settings=settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck)),
    )
    assert isinstance(adi.parse_adi_file(found, "x"), ParsedRecord)


def test_the_generator_builds_inverted_licensing_windows_too() -> None:
    """The generated comparisons cover the licensing-window rule: some packages are quarantined by it alone."""
    found = find(
        generated_package(),
        lambda data: _quarantined_for_the_window_alone(reference_parse(data, "x")),
        settings=settings(max_examples=4000, deadline=None, suppress_health_check=list(HealthCheck)),
    )
    assert _quarantined_for_the_window_alone(adi.parse_adi_file(found, "x"))


def _quarantined_for_the_window_alone(outcome: ParseOutcome) -> bool:
    return (
        isinstance(outcome, Quarantined)
        and outcome.reason.startswith("Licensing_Window_Start ")
        and "is after Licensing_Window_End" in outcome.reason
        and ";" not in outcome.reason
    )


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.text(),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
        max_leaves=20,
    )
)
def test_record_json_text_is_the_stdlib_text(value: Any) -> None:
    """record_hash is the SHA-256 of json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")):
    the faster encoder must write the same bytes for any text, keys included."""
    record = {"record": value}
    expected = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert adi._canonical_json(record) == expected


def test_record_json_text_for_every_character() -> None:
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    record = {text: [text], "\U0001f600": {"\uffff": "", "\ue000": text[:300]}, "a": {"B": "b", "_": "_"}}
    expected = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert adi._canonical_json(record) == expected
