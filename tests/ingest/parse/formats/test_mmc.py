"""The MMC parser: one record per Experience of the public MovieLabs manifests, broken references, arbitrary bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.models import ParsedRecord, Quarantined
from ingest.parse.formats import get_format
from ingest.parse.formats.mmc import MMC_COLUMNS, parse_mmc_records

PUBLIC_MMC = Path(__file__).resolve().parents[3] / "fixtures" / "public" / "mmc"


def _parsed(name: str) -> list[dict]:
    outcomes = parse_mmc_records((PUBLIC_MMC / name).read_bytes(), f"2026-11-02/{name}", None)
    assert all(isinstance(o, ParsedRecord) for o in outcomes), outcomes
    for outcome in outcomes:
        assert set(outcome.columns) == set(MMC_COLUMNS)
        json.dumps(outcome.columns["record"])
    return [o.columns for o in outcomes]


def test_veep_episode_manifest() -> None:
    [c] = _parsed("VEEP_Season5_E5_manifest.xml")
    assert c["manifest_id"] == "md:manifestid:org:number.hbo.com:78732"
    assert (c["spec_version"], c["profile"], c["update_num"]) == ("1.9", "MMC-1", None)
    assert c["experience_id"] == "md:experienceid:eidr-x:5783-D070-78E6-3AC5-E892-W:1"
    assert c["content_id"] == "md:cid:eidr-x:5783-D070-78E6-3AC5-E892-W:1"  # trailing space in the sample trimmed
    assert (c["eidr_status"], c["eidr_id"]) == ("valid", "10.5240/5783-D070-78E6-3AC5-E892-W")
    assert c["alids"] == ["md:alid:eidr-x:5783-D070-78E6-3AC5-E892-W"]
    assert (c["audio_languages"], c["subtitle_languages"], c["video_track_count"]) == (["de", "en"], ["de"], 1)
    assert c["metadata_location"] == "./VEEP_Season5_E5_mec.xml"
    assert c["audiovisual_type"] == "Main"
    assert c["record"]["manifest"]["Inventory"][0]["ExternalManifest"][0]["@ManifestID"].endswith("BAC5-M")


def test_counselor_manifest_has_a_feature_and_a_trailer_experience() -> None:
    feature, trailer = _parsed("MMC_Example1_simple.xml")
    assert (feature["manifest_id"], feature["update_num"]) == ("SofaSpud.Example", 1)
    assert (feature["audiovisual_type"], feature["audiovisual_subtype"]) == ("Main", "Feature")
    assert (trailer["audiovisual_type"], trailer["audiovisual_subtype"]) == ("Promotion", "Default Trailer")
    assert feature["child_experiences"] == [
        {"relationship": "ispromotionfor", "experience_id": trailer["experience_id"]}
    ]
    assert (feature["audio_languages"], feature["subtitle_languages"]) == (["en"], ["en"])
    assert (trailer["audio_languages"], trailer["subtitle_languages"]) == (["en"], [])
    assert feature["metadata_location"] == "./resources/ManifestCore_Example1_MEC_movie-simple.xml"
    assert feature["alids"] == ["md:alid:eidr-s:AD07-310C-C59D-6785-C63A-G"] and trailer["alids"] == []
    assert feature["eidr_id"] == "10.5240/AD07-310C-C59D-6785-C63A-G"


def test_a_reference_to_a_missing_track_quarantines_that_experience() -> None:
    text = (PUBLIC_MMC / "MMC_Example1_simple.xml").read_text(encoding="utf-8")
    broken = text.replace(
        "<manifest:AudioTrackID>md:audtrackid:eidr-x:AD07-310C-C59D-6785-C63A-G:trailer.1.audio.en<",
        "<manifest:AudioTrackID>md:audtrackid:nowhere<",
    )
    feature, trailer = parse_mmc_records(broken.encode(), "m.xml", None)
    assert isinstance(feature, ParsedRecord)
    assert isinstance(trailer, Quarantined)
    assert trailer.reason == "Audio track 'md:audtrackid:nowhere' is not in the Inventory"
    assert trailer.source_location == "m.xml#/MediaManifest/Experiences[1]/Experience[2]"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<CoreMetadata/>", "not a Media Manifest: root element is <CoreMetadata>"),
        (b"<MediaManifest><Inventory/></MediaManifest>", "no Experience in the manifest"),
        (b"<MediaManifest><Experiences><Experience/></Experiences></MediaManifest>", "no ExperienceID"),
        (b"<MediaManifest>", "malformed XML"),
    ],
)
def test_unusable_manifests_are_quarantined(data: bytes, reason: str) -> None:
    [q] = parse_mmc_records(data, "m.xml", None)
    assert isinstance(q, Quarantined) and q.reason.startswith(reason)


def test_registered_as_a_format() -> None:
    assert get_format("mmc").table == "mmc_manifests"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1500) | st.sampled_from([(PUBLIC_MMC / "VEEP_Season5_E5_manifest.xml").read_bytes()]))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    outcomes = parse_mmc_records(data, "fuzz.xml", None)
    assert outcomes and all(isinstance(o, ParsedRecord | Quarantined) for o in outcomes)


_SAMPLE = (PUBLIC_MMC / "MMC_Example1_simple.xml").read_bytes()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_SAMPLE)), st.integers(1, 10)), min_size=1, max_size=5))
def test_sample_with_cut_out_pieces_never_raises(cuts: list[tuple[int, int]]) -> None:
    data = bytearray(_SAMPLE)
    for position, length in cuts:
        del data[position : position + length]
    outcomes = parse_mmc_records(bytes(data), "fuzz.xml", None)
    assert outcomes and all(isinstance(o, ParsedRecord | Quarantined) for o in outcomes)
