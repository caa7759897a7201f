"""The MEC parser on the public MovieLabs samples, on broken inputs, and on arbitrary bytes (it must never raise)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.models import ParsedRecord, Quarantined
from ingest.parse.formats import get_format
from ingest.parse.formats.mec import MEC_COLUMNS, parse_mec_records
from ingest.parse.formats.movielabs import duration_minutes

PUBLIC_MEC = Path(__file__).resolve().parents[3] / "fixtures" / "public" / "mec"
SAMPLES = sorted(p.name for p in PUBLIC_MEC.glob("*.xml"))


def _outcomes(data: bytes, name: str = "2026-11-02/mec.xml") -> list[ParsedRecord | Quarantined]:
    outcomes = parse_mec_records(data, name, None)
    assert outcomes and all(isinstance(o, ParsedRecord | Quarantined) for o in outcomes)
    return outcomes


def _one(name: str) -> dict:
    [outcome] = _outcomes((PUBLIC_MEC / name).read_bytes(), f"2026-11-02/{name}")
    assert isinstance(outcome, ParsedRecord), getattr(outcome, "reason", outcome)
    assert set(outcome.columns) == set(MEC_COLUMNS)
    json.dumps(outcome.columns["record"])
    return outcome.columns


def test_every_public_sample_is_read_without_quarantine() -> None:
    assert len(SAMPLES) == 6
    for name in SAMPLES:
        outcomes = _outcomes((PUBLIC_MEC / name).read_bytes(), name)
        assert [type(o) for o in outcomes] == [ParsedRecord], (name, outcomes)
        assert outcomes[0].source_location == f"{name}#/CoreMetadata/Basic[1]"


def test_veep_episode_five() -> None:
    c = _one("VEEP_Season5_E5_mec.xml")
    assert c["content_id"] == "md:cid:eidr-x:5783-D070-78E6-3AC5-E892-W:1"
    assert (c["eidr_status"], c["eidr_id"]) == ("valid", "10.5240/5783-D070-78E6-3AC5-E892-W")
    assert c["eidr_id_provided"] == c["content_id"]
    assert (c["work_type"], c["title"], c["title_language"]) == ("episode", "Thanksgiving", "en")
    assert c["localized_titles"] == [
        {"language": "de", "title": "Thanksgiving", "default": False},
        {"language": "en", "title": "Thanksgiving", "default": True},
    ]
    assert (c["sequence_number"], c["parent_relationship"]) == (5, "isepisodeof")
    assert c["parent_content_id"] == "md:cid:eidr-s:2D99-3C1C-9F31-3E10-3411-1"
    assert c["parent_eidr_id"] == "10.5240/2D99-3C1C-9F31-3E10-3411-1"
    assert (c["release_year"], c["release_date"]) == (2016, date(2016, 5, 22))
    assert c["directors"] == "Chris Addison"
    assert c["actors"].split("; ")[:3] == ["Julia Louis-Dreyfus", "Tony Hale", "Anna Chlumsky"]  # billing order
    assert c["associated_orgs"] == [{"role": "distributor", "organization_id": None, "display_name": "HBO"}]
    assert (c["country_of_origin"], c["genres"]) == ("US", "Comedy, Political")
    assert c["alt_identifiers"] == [
        {"namespace": "MPM", "identifier": "md:cid:org:microsoft-x:787232_WW:VEEP_43_THANKSGIVING"}
    ]
    assert c["record"]["@ContentID"] == c["content_id"]
    assert len(c["record"]["People"]) == 26  # every person kept, not just directors and actors


def test_veep_series_season_episode_chain() -> None:
    series, season, episode = (
        _one(n) for n in ("VEEP_Series_mec.xml", "VEEP_Season5_mec.xml", "VEEP_Season5_E4_mec.xml")
    )
    assert (series["work_type"], series["title"], series["parent_content_id"]) == ("series", "Veep", None)
    assert (season["work_type"], season["title"], season["sequence_number"]) == ("season", "Veep: Season 5", 5)
    assert (season["parent_relationship"], season["parent_eidr_id"]) == ("isseasonof", series["eidr_id"])
    assert (episode["title"], episode["sequence_number"], episode["parent_eidr_id"]) == ("Mother", 4, season["eidr_id"])
    assert {c["eidr_status"] for c in (series, season, episode)} == {"valid"}


def test_the_counselor_movie_with_ten_localized_titles() -> None:
    c = _one("ManifestCore_Example1_MEC_movie.xml")
    assert (c["title"], c["work_type"], c["eidr_id"]) == (
        "The Counselor",
        "movie",
        "10.5240/AD07-310C-C59D-6785-C63A-G",
    )
    assert (c["run_length"], c["run_length_minutes"]) == ("PT117M00.0S", 117)
    assert len(c["localized_titles"]) == 10
    assert {"language": "ko", "title": "카운슬러", "default": False} in c["localized_titles"]
    assert c["directors"] == "Ridley Scott" and c["genres"] == "Drama, Crime"
    assert _one("ManifestCore_Example1_MEC_movie-simple.xml")["localized_titles"] == [c["localized_titles"][0]]


BASIC = """<mdmec:Basic ContentID="{cid}">
  <md:LocalizedInfo language="en"><md:TitleDisplay19>{title}</md:TitleDisplay19></md:LocalizedInfo>
  {extra}
</mdmec:Basic>"""
DOC = """<?xml version="1.0"?>
<mdmec:CoreMetadata xmlns:md="http://www.movielabs.com/schema/md/v2.8/md"
  xmlns:mdmec="http://www.movielabs.com/schema/mdmec/v2.8">{body}</mdmec:CoreMetadata>"""


def _doc(*basics: str) -> bytes:
    return DOC.format(body="".join(basics)).encode()


def _basic(cid: str = "md:cid:org:acme:1", title: str = "Heat", extra: str = "<md:WorkType>Movie</md:WorkType>") -> str:
    return BASIC.format(cid=cid, title=title, extra=extra)


def test_several_basics_in_one_file_and_a_bad_one_is_quarantined_alone() -> None:
    bad = _basic("md:cid:org:acme:2", "Ronin", "<md:WorkType>Movie</md:WorkType><md:RunLength>1h30</md:RunLength>")
    outcomes = _outcomes(_doc(_basic(), bad, _basic("md:cid:org:acme:3", extra="")))
    assert [type(o) for o in outcomes] == [ParsedRecord, Quarantined, Quarantined]
    good, run_length, no_type = outcomes
    assert good.columns["title"] == "Heat" and good.columns["eidr_status"] == "missing"  # own ID: no EIDR sent
    assert run_length.reason == "bad RunLength '1h30': expected an ISO 8601 duration like PT1H30M"
    assert run_length.source_location == "2026-11-02/mec.xml#/CoreMetadata/Basic[2]"
    assert "Ronin" in run_length.raw_record and no_type.reason == "no WorkType"


def test_every_problem_of_a_record_is_named() -> None:
    extra = "<md:ReleaseYear>20O3</md:ReleaseYear><md:SequenceInfo><md:Number>x</md:Number></md:SequenceInfo>"
    [q] = _outcomes(_doc(BASIC.format(cid="", title="", extra=extra)))
    assert isinstance(q, Quarantined)
    for part in ("no ContentID", "no WorkType", "no title", "bad ReleaseYear '20O3'", "bad SequenceInfo/Number 'x'"):
        assert part in q.reason


@pytest.mark.parametrize(
    ("extra", "provided", "status", "eidr_id"),
    [
        ("<md:AltIdentifier><md:Namespace>EIDR-S</md:Namespace><md:Identifier>7EC7-228A-510A-053E-CBB8-J"
         "</md:Identifier></md:AltIdentifier>", "7EC7-228A-510A-053E-CBB8-J", "valid",
         "10.5240/7EC7-228A-510A-053E-CBB8-J"),
        ("<md:AltIdentifier><md:Namespace>eidr</md:Namespace><md:Identifier>10.5240/0344-992B-DF0A-21A5-8BF9-R"
         "</md:Identifier></md:AltIdentifier>", "10.5240/0344-992B-DF0A-21A5-8BF9-R", "invalid", None),
        ("<md:AltIdentifier><md:Namespace>MPM</md:Namespace><md:Identifier>X1</md:Identifier></md:AltIdentifier>",
         None, "missing", None),
    ],
)  # fmt: skip
def test_eidr_from_alt_identifier(extra: str, provided: str | None, status: str, eidr_id: str | None) -> None:
    [outcome] = _outcomes(_doc(_basic(extra=f"<md:WorkType>Movie</md:WorkType>{extra}")))
    assert isinstance(outcome, ParsedRecord)
    c = outcome.columns
    assert (c["eidr_id_provided"], c["eidr_status"], c["eidr_id"]) == (provided, status, eidr_id)
    assert (c["eidr_invalid_reason"] or "").startswith("check character") == (status == "invalid")


def test_invalid_eidr_content_id_is_kept_with_a_reason() -> None:
    [outcome] = _outcomes(_doc(_basic("md:cid:eidr-s:E6CA-AB58-E298-7BA0-E574-A")))
    assert isinstance(outcome, ParsedRecord)
    assert (outcome.columns["eidr_status"], outcome.columns["eidr_invalid_reason"]) == (
        "invalid",
        "check character should be V, got A",
    )


@pytest.mark.parametrize(
    ("value", "minutes"),
    [("PT1H30M", 90), ("PT117M00.0S", 117), ("PT01H37M49S", 98), ("PT45S", 1), ("PT29S", 0), ("P1DT1M", 1441)],
)
def test_iso_durations(value: str, minutes: int) -> None:
    assert duration_minutes(value) == minutes


@pytest.mark.parametrize("value", ["1h30", "PT", "P", "90", "PT1.5H", "P1Y"])
def test_bad_durations(value: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601 duration"):
        duration_minutes(value)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "malformed XML"),
        (b"<mdmec:CoreMetadata", "malformed XML"),
        (b"<ADI><Metadata/></ADI>", "not an MEC document: root element is <ADI>"),
        (DOC.format(body="").encode(), "no BasicMetadata (mdmec:Basic) in the document"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><CoreMetadata>&a;</CoreMetadata>',
         "forbidden XML construct"),
    ],
)  # fmt: skip
def test_unusable_documents_are_one_quarantine_row(data: bytes, reason: str) -> None:
    [q] = _outcomes(data)
    assert isinstance(q, Quarantined) and q.reason.startswith(reason)
    assert q.source_file == "2026-11-02/mec.xml"


def test_basic_metadata_inside_another_document_is_found() -> None:
    wrapped = (
        "<Wrapper><Items><BasicMetadata ContentID='c1'><LocalizedInfo language='en'>"
        "<TitleDisplayUnlimited>Inside</TitleDisplayUnlimited></LocalizedInfo><WorkType>Short</WorkType>"
        "</BasicMetadata></Items></Wrapper>"
    )
    [outcome] = _outcomes(wrapped.encode())
    assert isinstance(outcome, ParsedRecord)
    assert outcome.source_location.endswith("#/Wrapper/Items[1]/BasicMetadata[1]")
    assert (outcome.columns["title"], outcome.columns["work_type"]) == ("Inside", "short")


def test_record_hash_follows_content_not_formatting() -> None:
    data = (PUBLIC_MEC / "VEEP_Series_mec.xml").read_text(encoding="utf-8")
    [a] = _outcomes(data.encode())
    [b] = _outcomes(data.replace("\n\t\t", "\n  ").encode())
    [c] = _outcomes(data.replace("<md:TitleDisplayUnlimited>Veep<", "<md:TitleDisplayUnlimited>VEEP<").encode())
    assert a.record_hash == b.record_hash != c.record_hash


def test_registered_as_a_format() -> None:
    spec = get_format("mec")
    assert (spec.table, spec.columns, spec.parse_file) == ("mec_titles", MEC_COLUMNS, parse_mec_records)


def _check(outcomes: list) -> None:
    assert outcomes
    for outcome in outcomes:
        assert isinstance(outcome, ParsedRecord | Quarantined)
        if isinstance(outcome, Quarantined):
            assert outcome.reason and "\x00" not in outcome.raw_record
        else:
            assert outcome.columns["content_id"] and outcome.columns["title"] and outcome.columns["work_type"]
            json.dumps(outcome.columns["record"])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    _check(parse_mec_records(data, "fuzz.xml", None))


_SAMPLE = (PUBLIC_MEC / "VEEP_Season5_E5_mec.xml").read_bytes()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(_SAMPLE)
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        position = draw(st.integers(min_value=0, max_value=len(data)))
        chunk = draw(st.binary(min_size=1, max_size=12) | st.sampled_from([b"<", b">", b'"', b"&", b"PT", b"-"]))
        if draw(st.booleans()):
            data[position:position] = chunk
        else:
            del data[position : position + len(chunk)]
    return bytes(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_sample_never_raises(data: bytes) -> None:
    _check(parse_mec_records(data, "fuzz.xml", None))
