"""The ADI 1.1 parser on the public samples, on broken inputs, and on arbitrary bytes (it must never raise)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.limits import MAX_FIELD_CHARS, MAX_FILE_BYTES
from ingest.models import ParsedRecord, Quarantined
from ingest.parse.formats.adi import TITLE_COLUMNS, parse_adi_file


def _parsed(data: bytes, name: str = "2026-11-02/pkg.xml") -> ParsedRecord:
    outcome = parse_adi_file(data, name)
    assert isinstance(outcome, ParsedRecord), getattr(outcome, "reason", outcome)
    return outcome


def _quarantined(data: bytes, name: str = "2026-11-02/pkg.xml") -> Quarantined:
    outcome = parse_adi_file(data, name)
    assert isinstance(outcome, Quarantined), f"expected quarantine, parsed {outcome}"
    return outcome


@pytest.fixture(scope="module")
def reference(public_adi: Path) -> str:
    return (public_adi / "vod_metadata_reference.xml").read_text(encoding="utf-8")


def test_hbo_episode_sample(public_adi: Path) -> None:
    data = (public_adi / "HBO_ADI_OK.XML").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf<?xml")  # the BOM quirk is part of the test
    record = _parsed(data, "2026-11-01/HBO_ADI_OK.XML")
    c = record.columns
    assert set(c) == set(TITLE_COLUMNS)
    assert record.source_location == "2026-11-01/HBO_ADI_OK.XML#/ADI/Asset[1]"
    assert c["title"] == "Game Of Thrones T:1 Ep:01"
    assert c["episode_name"] == "Game Of Thrones T:1 Ep:01"
    assert (c["run_time"], c["runtime_seconds"]) == ("01:02:54", 3774)
    assert c["actors"].split("; ") == [
        "Coster-Waldau, Nikolaj", "Gillen, Aidan", "Headey, Lena", "Fairley, Michelle", "Bean, Sean", "Dinklage, Peter",
    ]  # fmt: skip
    assert c["genres"] == "Drama, Fantasía"
    assert c["directors"] == "Van Patten, Timothy"
    assert (c["adi_provider"], c["adi_provider_id"]) == ("HBO", "hbo-la.tv")
    assert (c["package_asset_id"], c["title_asset_id"]) == ("HHBO1964178600700001", "HHBO1964178600700002")
    assert c["movie_asset_id"] == "HHBO1964178600700003"
    assert c["verb"] is None  # Verb="" means a new or updated package
    assert (c["version_major"], c["version_minor"]) == (1, 0)
    assert c["release_year"] == 2010
    assert (c["studio"], c["country_of_origin"], c["rating"]) == ("HBO ENTERPRISES", "US", "R")
    assert c["category"] == "HBO On Demand/Series/Game Of Thrones/Temporada 1"
    assert c["summary_short"].startswith("El Lord Ned Stark está preocupado")
    assert c["licensing_window_start"] == datetime(2016, 2, 1, tzinfo=UTC)
    assert c["licensing_window_end"] == datetime(2016, 10, 11, 23, 59, 59, tzinfo=UTC)
    assert (c["eidr_status"], c["eidr_id"], c["eidr_id_provided"]) == ("missing", None, None)
    assert (c["has_preview"], c["has_poster"]) == (False, True)
    assert c["series_title"] is None and c["season_number"] is None


def test_record_keeps_every_attribute_and_app_data_value(public_adi: Path) -> None:
    record = _parsed((public_adi / "HBO_ADI_OK.XML").read_bytes()).columns["record"]
    title = record["assets"][0]
    assert record["ams"]["Asset_Class"] == "package" and record["ams"]["Verb"] == ""
    assert record["app_data"] == {"Metadata_Spec_Version": ["CableLabsVOD1.1"]}
    assert len(title["app_data"]["Actors"]) == 6
    assert title["app_data"]["Title_Sort_Name"] == [""]
    assert title["app_data"]["Display_Run_Time"] == ["01:03"]
    assert [a["ams"]["Asset_Class"] for a in title["assets"]] == ["movie", "poster"]
    assert title["assets"][1]["content"] == [{"Value": "GOT_T1.JPG"}]
    assert title["assets"][0]["app_data"]["Conax_Product_ID"] == ["HHBO1964178600700002_GOT_T1_E1"]
    json.dumps(record)  # plain JSON, ready for jsonb


def test_reference_package_sample(public_adi: Path) -> None:
    c = _parsed((public_adi / "vod_metadata_reference.xml").read_bytes()).columns
    assert (c["title"], c["title_brief"]) == ("Test Title", "Test Title_Brief")
    assert (c["show_type"], c["rating"]) == ("Other", "NR")
    assert c["runtime_seconds"] == 3723 and c["release_year"] == 2003
    assert c["category"] == "Test Category | Test Category/Second Level"
    assert c["genres"] == "Other"
    assert c["verb"] is None  # no Verb attribute at all
    assert c["licensing_window_end"] == datetime(2023, 1, 2, 23, 59, 59, tzinfo=UTC)
    assert (c["has_preview"], c["has_poster"], c["movie_asset_id"]) == (True, True, "TSTM2003010204050001")
    assert c["actors"] is None and c["episode_name"] is None


def test_template_sample_is_quarantined_with_every_bad_field(public_adi: Path) -> None:
    q = _quarantined((public_adi / "vod_metadata_template.xml").read_bytes(), "x/template.xml")
    for field in ("Version_Major", "Run_Time", "Year", "Licensing_Window_Start", "Licensing_Window_End"):
        assert f"bad {field} '%" in q.reason
    assert q.source_location == "x/template.xml#/ADI/Asset[1]"
    assert q.raw_record.startswith('<?xml version="1.0" encoding="utf-8"?>')


def _edit(reference: str, old: str, new: str) -> bytes:
    assert old in reference
    return reference.replace(old, new, 1).encode("utf-8")


TITLE_AMS_ID = 'Asset_ID="TSTT2003010204050001"'
TITLE_VERSION = 'Asset_Name="Metadata test (title)"\n           Version_Major="1"'


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (TITLE_AMS_ID, "", "title asset has no Asset_ID"),
        (TITLE_AMS_ID, 'Asset_ID="  "', "title asset has no Asset_ID"),
        ('Name="Title" Value="Test Title"', 'Name="Title" Value=""', "title asset has no Title"),
        ('Value="01:02:03"', 'Value="1h30"', "bad Run_Time '1h30': expected HH:MM:SS"),
        ('Value="01:02:03"', 'Value="01:72:03"', "bad Run_Time"),
        ('Name="Year" Value="2003"', 'Name="Year" Value="20O3"', "bad Year '20O3'"),
        ('Name="Year" Value="2003"', 'Name="Year" Value="1066"', "bad Year"),
        ('Value="2023-01-02T23:59:59"', 'Value="2023-02-30"', "bad Licensing_Window_End '2023-02-30'"),
        ('Value="2023-01-02T23:59:59"', 'Value="02/01/2023"', "bad Licensing_Window_End"),
        ('Asset_Class="title"', 'Asset_Class="titel"', "no title asset"),
        (TITLE_VERSION, TITLE_VERSION.replace('"1"', '"one"'), "bad Version_Major 'one'"),
    ],
)
def test_bad_packages_are_quarantined_with_a_reason(reference: str, old: str, new: str, reason: str) -> None:
    q = _quarantined(_edit(reference, old, new))
    assert reason in q.reason
    assert q.source_file == "2026-11-02/pkg.xml"
    assert q.source_location.startswith("2026-11-02/pkg.xml")
    assert q.raw_record == reference.replace(old, new, 1)


WINDOW_START = 'Name="Licensing_Window_Start" Value="2003-01-02"'
WINDOW_END = 'Name="Licensing_Window_End" Value="2023-01-02T23:59:59"'
# enough posters to take the file over MAX_FIELD_CHARS bytes, so it is read through the ElementTree path
POSTERS = "".join(
    f'<Asset><Metadata><AMS Asset_Class="poster" Asset_ID="P{i}"/></Metadata></Asset>' for i in range(900)
)


@pytest.mark.parametrize("large", [False, True], ids=["callback_reader", "element_tree"])
def test_inverted_licensing_window_is_quarantined_naming_both_dates(reference: str, large: bool) -> None:
    text = reference.replace(WINDOW_END, 'Name="Licensing_Window_End" Value="2002-12-31"', 1)
    if large:
        text = text.replace("</ADI>", POSTERS + "</ADI>")
    assert (len(text.encode()) > MAX_FIELD_CHARS) is large
    q = _quarantined(text.encode())
    assert q.reason == (
        "Licensing_Window_Start 2003-01-02T00:00:00+00:00 is after Licensing_Window_End 2002-12-31T23:59:59+00:00"
    )
    assert q.source_location == "2026-11-02/pkg.xml#/ADI/Asset[1]"  # the title asset
    assert q.raw_record == text


def test_inverted_licensing_window_is_named_with_the_other_bad_values(reference: str) -> None:
    text = reference.replace(WINDOW_END, 'Name="Licensing_Window_End" Value="2002-12-31"', 1)
    q = _quarantined(text.replace('Value="01:02:03"', 'Value="1h30"').encode())
    assert q.reason == (
        "bad Run_Time '1h30': expected HH:MM:SS; "
        "Licensing_Window_Start 2003-01-02T00:00:00+00:00 is after Licensing_Window_End 2002-12-31T23:59:59+00:00"
    )


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2003-01-02", "2003-01-02", (datetime(2003, 1, 2, tzinfo=UTC), datetime(2003, 1, 2, 23, 59, 59, tzinfo=UTC))),
        ("2003-01-02T10:00:00Z", "2003-01-02T10:00:00Z", (datetime(2003, 1, 2, 10, tzinfo=UTC),) * 2),
        ("2003-01-02T10:00:00+02:00", "2003-01-02T08:00:00Z", (datetime(2003, 1, 2, 8, tzinfo=UTC),) * 2),
        ("2003-01-02", None, (datetime(2003, 1, 2, tzinfo=UTC), None)),
    ],
    ids=["one_day", "empty", "same_moment_other_offsets", "open_end"],
)
def test_licensing_window_that_does_not_end_before_it_starts_loads(
    reference: str, start: str, end: str | None, expected: tuple[datetime | None, datetime | None]
) -> None:
    """The rule is the publish-time audit's (end >= start): a one-day or even empty window is not inverted."""
    text = reference.replace(WINDOW_START, f'Name="Licensing_Window_Start" Value="{start}"', 1)
    text = text.replace(WINDOW_END, "" if end is None else f'Name="Licensing_Window_End" Value="{end}"', 1)
    c = _parsed(text.encode()).columns
    assert (c["licensing_window_start"], c["licensing_window_end"]) == expected


def test_other_xml_is_not_an_adi_document(reference: str) -> None:
    data = reference.replace("<ADI>", "<PACKAGE>").replace("</ADI>", "</PACKAGE>").encode()
    assert _quarantined(data).reason == "not an ADI document: root element is <PACKAGE>"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "malformed XML: no element found"),
        (b"\x00\xff\xfe garbage", "malformed XML"),
        (b"<?xml version='1.0'?><ADI><Metadata>", "malformed XML"),
        (b'{"not": "xml"}', "malformed XML"),
    ],
)
def test_not_xml_is_quarantined(data: bytes, reason: str) -> None:
    q = _quarantined(data)
    assert q.reason.startswith(reason)
    assert "\x00" not in q.raw_record


def test_truncated_file_is_quarantined_with_line_and_column(reference: str) -> None:
    q = _quarantined(reference.encode()[:2000])
    assert q.reason.startswith("malformed XML")
    line, column = q.source_location.removeprefix("2026-11-02/pkg.xml:").split(":")
    assert int(line) > 1 and int(column) >= 0


def test_entity_expansion_is_refused() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE ADI [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<ADI><Metadata><AMS Asset_Class="package" Description="&b;"/></Metadata></ADI>"""
    assert _quarantined(bomb).reason.startswith("forbidden XML construct")


def test_external_entity_is_refused_and_never_read() -> None:
    xxe = b"""<?xml version="1.0"?>
<!DOCTYPE ADI [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
<ADI><Metadata><AMS Asset_Class="package" Description="&secret;"/></Metadata></ADI>"""
    assert _quarantined(xxe).reason.startswith("forbidden XML construct")


def test_doctype_system_reference_is_not_fetched(reference: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # an ADI.DTD next to the file would be found if the parser tried to load it
    (tmp_path / "ADI.DTD").write_text('<!ENTITY % oops SYSTEM "http://127.0.0.1:9/never">%oops;')
    assert _parsed(reference.encode()).columns["title"] == "Test Title"


def test_oversized_file_is_quarantined_with_its_head_only() -> None:
    data = b"<ADI>" + b" " * MAX_FILE_BYTES + b"</ADI>"
    q = _quarantined(data)
    assert q.reason.startswith("file too large")
    assert len(q.raw_record) < 2 * 1024 * 1024 and "[truncated" in q.raw_record


def test_oversized_field_is_quarantined(reference: str) -> None:
    long_summary = "x" * (MAX_FIELD_CHARS + 1)
    q = _quarantined(_edit(reference, 'Value="Test Summary_Short"', f'Value="{long_summary}"'))
    assert q.reason.startswith("field too long") and "Summary_Short" in q.reason


def test_two_title_assets_are_quarantined_not_half_loaded(reference: str) -> None:
    start = reference.index("  <Asset>")
    end = reference.rindex("</ADI>")
    doubled = reference[:end] + reference[start:end] + "</ADI>"
    assert "2 title assets" in _quarantined(doubled.encode()).reason


def test_absurdly_nested_assets_are_quarantined() -> None:
    nested = "<Asset>" * 12 + "</Asset>" * 12
    data = f'<ADI><Metadata><AMS Asset_Class="package"/></Metadata>{nested}</ADI>'.encode()
    q = _quarantined(data)
    assert q.reason == "assets nested deeper than 8 levels"
    assert q.source_location == "2026-11-02/pkg.xml#/ADI" + "/Asset[1]" * 9


def test_verb_eidr_and_episode_fields(reference: str) -> None:
    extra = (
        '<App_Data App="MOD" Name="eidr_id" Value=" urn:eidr:10.5240:fb0d-0a93-cad6-8e8d-80c2-4 "/>'
        '<App_Data App="MOD" Name="Series_Name" Value="Veep"/>'
        '<App_Data App="MOD" Name="Season_Number" Value="5"/>'
        '<App_Data App="MOD" Name="Episode_Number" Value="05"/>'
        '<App_Data App="MOD" Name="Actors" Value="Louis-Dreyfus, Julia"/>'
        '<App_Data App="MOD" Name="Actors" Value="  "/>'
    )
    data = _edit(reference, '<App_Data App="MOD" Name="Type" Value="title"/>', extra).decode()
    data = data.replace('Asset_Class="title"', 'Asset_Class="Title" Verb="delete"')
    c = _parsed(data.encode()).columns
    assert c["verb"] == "DELETE"
    assert (c["eidr_status"], c["eidr_id"]) == ("valid", "10.5240/FB0D-0A93-CAD6-8E8D-80C2-4")
    assert c["eidr_id_provided"] == "urn:eidr:10.5240:fb0d-0a93-cad6-8e8d-80c2-4"
    assert (c["series_title"], c["season_number"], c["episode_number"]) == ("Veep", 5, 5)
    assert c["actors"] == "Louis-Dreyfus, Julia"


def test_invalid_eidr_is_kept_not_quarantined(reference: str) -> None:
    tag = '<App_Data App="MOD" Name="EIDR" Value="10.5240/0344-992B-DF0A-21A5-8BF9-R"/>'
    c = _parsed(_edit(reference, '<App_Data App="MOD" Name="Type" Value="title"/>', tag)).columns
    assert (c["eidr_status"], c["eidr_id"]) == ("invalid", None)
    assert c["eidr_id_provided"] == "10.5240/0344-992B-DF0A-21A5-8BF9-R"
    assert c["eidr_invalid_reason"].startswith("check character should be Q")


def test_record_hash_follows_content_not_formatting(reference: str) -> None:
    a = _parsed(reference.encode())
    b = _parsed(reference.replace("\n      ", "\n  ").encode())
    c = _parsed(_edit(reference, "Test Summary_Short", "Another summary"))
    assert a.record_hash == b.record_hash != c.record_hash


def _check_outcome(outcome: object) -> None:
    assert isinstance(outcome, ParsedRecord | Quarantined)
    if isinstance(outcome, Quarantined):
        assert outcome.reason and "\x00" not in outcome.raw_record
    else:
        assert outcome.columns["title_asset_id"] and outcome.columns["title"]
        json.dumps(outcome.columns["record"])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    _check_outcome(parse_adi_file(data, "fuzz.xml"))


_SAMPLE = (Path(__file__).resolve().parents[3] / "fixtures" / "public" / "adi" / "HBO_ADI_OK.XML").read_bytes()


@st.composite
def mutated_adi(draw: st.DrawFn) -> bytes:
    data = bytearray(_SAMPLE)
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        position = draw(st.integers(min_value=0, max_value=len(data)))
        action = draw(st.sampled_from(["delete", "insert", "replace"]))
        chunk = draw(st.binary(min_size=1, max_size=12) | st.sampled_from([b"<", b">", b'"', b"&", b"&#0;", b"]]>"]))
        if action == "delete":
            del data[position : position + len(chunk)]
        elif action == "insert":
            data[position:position] = chunk
        else:
            data[position : position + len(chunk)] = chunk
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_adi())
def test_mutated_adi_never_raises(data: bytes) -> None:
    _check_outcome(parse_adi_file(data, "fuzz.xml"))


# --- the pyexpat reader (see test_adi_equivalence.py for the comparison with the ElementTree parser) ---------


def test_entities_pointing_at_the_network_are_refused_and_never_fetched(reference: str) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        url = f"http://127.0.0.1:{server.getsockname()[1]}/adi.dtd"
        body = reference.split("\n", 2)[2]
        attacks = [
            f'<!DOCTYPE ADI [<!ENTITY % remote SYSTEM "{url}"> %remote;]>\n{body}',
            f'<!DOCTYPE ADI [<!ENTITY remote SYSTEM "{url}">]>\n{body.replace("Test Title_Brief", "&remote;")}',
            f'<!DOCTYPE ADI [<!ENTITY remote PUBLIC "-//X//ADI" "{url}">]>\n<ADI>&remote;</ADI>',
            f'<!DOCTYPE ADI SYSTEM "{url}">\n{body}',  # ADI's own DOCTYPE form: allowed, but not fetched either
        ]
        outcomes = [parse_adi_file(attack.encode(), "x.xml") for attack in attacks]
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody connected
    for outcome in outcomes[:3]:
        assert isinstance(outcome, Quarantined) and outcome.reason.startswith("forbidden XML construct: Entities")
        assert "remote" in outcome.reason
    assert isinstance(outcomes[3], ParsedRecord)


def test_entity_expansion_reason_names_the_first_declaration() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE ADI [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<ADI><Metadata><AMS Asset_Class="package" Description="&b;"/></Metadata></ADI>"""
    q = _quarantined(bomb)
    assert q.reason == "forbidden XML construct: EntitiesForbidden(name='a', system_id=None, public_id=None)"
    assert q.source_location == "2026-11-02/pkg.xml" and "aaaaaaaaaaaaaaaaaaaa" not in q.reason


def test_undefined_entity_in_a_document_with_a_dtd_is_malformed(reference: str) -> None:
    q = _quarantined(_edit(reference, "<Content Value=", "&nbsp;<Content Value="))
    assert q.reason == "malformed XML: undefined entity &nbsp;: line 69, column 6"
    assert q.source_location == "2026-11-02/pkg.xml:69:6"
    # in an attribute value expat drops it, as it always did (the DTD it does not read might define it)
    assert _parsed(_edit(reference, "Test Title_Brief", "&nbsp;Brief")).columns["title_brief"] == "Brief"


def test_references_and_whitespace_in_attribute_values(reference: str) -> None:
    c = _parsed(_edit(reference, "Test Title_Brief", "A &amp; B &#xE9;&#10;x\ty")).columns
    assert c["title_brief"] == "A & B é\nx y"  # a character reference is kept, a literal tab becomes a space


def test_namespaced_packages_read_like_plain_ones(reference: str) -> None:
    plain = _parsed(reference.encode())
    default_ns = _parsed(reference.replace("<ADI>", '<ADI xmlns="urn:cablelabs:adi">').encode())
    prefixed = reference.replace("<ADI>", '<a:ADI xmlns:a="urn:x">').replace("</ADI>", "</a:ADI>")
    prefixed = prefixed.replace("<Asset>", "<a:Asset>").replace("</Asset>", "</a:Asset>")
    assert _parsed(prefixed.encode()).columns == default_ns.columns == plain.columns
    assert default_ns.record_hash == plain.record_hash
    with_attributes = reference.replace("<ADI>", '<ADI xmlns:x="urn:x">').replace(
        'Asset_Class="title"', 'Asset_Class="title" x:Extra="1" xml:lang="en"'
    )
    ams = _parsed(with_attributes.encode()).columns["record"]["assets"][0]["ams"]
    assert ams["{urn:x}Extra"] == "1" and ams["{http://www.w3.org/XML/1998/namespace}lang"] == "en"


def test_large_package_reads_like_a_small_one(reference: str) -> None:
    """Over MAX_FIELD_CHARS bytes the ElementTree path reads the file (it may hold a field too long to load)."""
    padding = "<!--" + "p" * MAX_FIELD_CHARS + "-->"
    large = _parsed(reference.replace("</ADI>", padding + "</ADI>").encode())
    small = _parsed(reference.encode())
    assert len(reference) < MAX_FIELD_CHARS
    assert (large.columns, large.record_hash) == (small.columns, small.record_hash)


def test_app_data_lookups_ignore_case_and_keep_document_order() -> None:
    from ingest.parse.formats.adi import AdiAsset

    asset = AdiAsset("/ADI", {}, {"Directors": ["B", " "], "Title": ["  ", " T "], "director": ["A"], "Genre": ["g"]})
    assert asset.first("title") == "T" and asset.first("TITLE") == "T"
    assert asset.values("Director", "Directors") == ["B", "A"]  # by App_Data name, in first-seen order
    assert asset.first("Director", "Directors") == "B"
    assert asset.values("genre") == ["g"] and asset.first("Missing") is None and asset.values("Missing") == []
    mixed = AdiAsset("/ADI", {}, {"Title": [" "], "TITLE": ["Upper"], "title": ["lower"]})
    assert mixed.values("Title") == ["Upper", "lower"] and mixed.first("title") == "Upper"


def test_expat_parser_rejects_as_parse_xml_does() -> None:
    from ingest.models import Rejected
    from ingest.parse.formats.safe_xml import expat_parser, parse_xml, run_expat

    documents = [
        b"",
        b"<ADI><Metadata></ADI>",
        b'<!DOCTYPE ADI [<!ENTITY e "x">]><ADI>&e;</ADI>',
        b'<!DOCTYPE ADI [<!ENTITY e SYSTEM "file:///etc/passwd">]><ADI>&e;</ADI>',
        b'<!DOCTYPE ADI SYSTEM "ADI.DTD"><ADI>\n  &undefined;</ADI>',
        b"<ADI>&undefined;</ADI>",
        "<?xml version='1.0' encoding='UTF-16'?><ADI>&copy;</ADI>".encode("utf-16"),
    ]
    for document in documents:
        with pytest.raises(Rejected) as tree:
            parse_xml(document)
        parser = expat_parser()
        with pytest.raises(Rejected) as callbacks:
            run_expat(parser, document)
        assert (callbacks.value.reason, callbacks.value.position) == (tree.value.reason, tree.value.position)
        assert parser.SkippedEntityHandler is None  # no parser -> handler -> parser cycle is left behind
