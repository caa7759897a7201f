"""EIDR ID forms the providers send: DOI, no hyphens, URN (both separators), doi.org, MovieLabs, party, service."""

from __future__ import annotations

import pytest

from ingest.eidr import EidrKind, EidrStatus, parse_eidr, parse_eidr_any

GHOSTBUSTERS = "10.5240/7EC7-228A-510A-053E-CBB8-J"


@pytest.mark.parametrize(
    "value",
    [
        "10.5240/7EC7-228A-510A-053E-CBB8-J",
        "10.5240/7EC7228A510A053ECBB8J",
        "urn:eidr:10.5240:7EC7-228A-510A-053E-CBB8-J",
        "urn:eidr:10.5240/7EC7-228A-510A-053E-CBB8-J",
        "https://doi.org/10.5240/7EC7-228A-510A-053E-CBB8-J",
        "http://dx.doi.org/10.5240/7ec7-228a-510a-053e-cbb8-j",
        "https://doi.org/10.5240%2F7EC7-228A-510A-053E-CBB8-J",
        "md:cid:eidr-s:7EC7-228A-510A-053E-CBB8-J",
        "md:cid:eidr-x:7EC7-228A-510A-053E-CBB8-J:B7E1",
        "MD:CID:EIDR-S:7ec7-228a-510a-053e-cbb8-j",
        "  10.5240/7ec7-228a-510a-053e-cbb8-j \t",
    ],
)
def test_every_form_normalises_to_the_canonical_doi(value: str) -> None:
    result = parse_eidr(value)
    assert result.status is EidrStatus.VALID, result.reason
    assert result.canonical == GHOSTBUSTERS
    assert result.kind is EidrKind.CONTENT


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("md:cid:eidr-s:0344-992B-DF0A-21A5-8BF9-R", "check character should be Q"),
        ("md:cid:eidr-x:E6CA-AB58-E298-7BA0-E574-A:ext", "check character should be V"),
        ("md:cid:eidr-s:", "expected 10.5240/XXXX"),
    ],
)
def test_movielabs_forms_are_checked_like_any_other(value: str, reason: str) -> None:
    result = parse_eidr(value)
    assert result.status is EidrStatus.INVALID and result.canonical is None
    assert reason in (result.reason or "")


@pytest.mark.parametrize(
    ("value", "kind", "canonical"),
    [
        ("10.5237/9F6B-A4D6", EidrKind.PARTY, "10.5237/9F6B-A4D6"),
        ("urn:eidr:10.5237:9f6ba4d6", EidrKind.PARTY, "10.5237/9F6B-A4D6"),
        ("10.5239/8BE5-E3F6", EidrKind.SERVICE, "10.5239/8BE5-E3F6"),
        ("https://doi.org/10.5239/8be5e3f6", EidrKind.SERVICE, "10.5239/8BE5-E3F6"),
    ],
)
def test_party_and_service_ids_are_recognised_and_kept_apart(value: str, kind: EidrKind, canonical: str) -> None:
    as_content = parse_eidr(value)
    assert as_content.status is EidrStatus.INVALID and as_content.kind is kind
    assert f"an EIDR {kind.value} ID" in (as_content.reason or "")
    any_kind = parse_eidr_any(value)
    assert (any_kind.status, any_kind.kind, any_kind.canonical) == (EidrStatus.VALID, kind, canonical)


def test_a_malformed_party_id_is_invalid_with_a_reason() -> None:
    result = parse_eidr_any("10.5237/9F6B-A4D")
    assert result.status is EidrStatus.INVALID and result.kind is EidrKind.PARTY
    assert "expected 10.5237/XXXX-XXXX" in (result.reason or "")


def test_content_ids_through_parse_eidr_any_are_unchanged() -> None:
    assert parse_eidr_any(GHOSTBUSTERS) == parse_eidr(GHOSTBUSTERS)
    assert parse_eidr_any(None).status is EidrStatus.MISSING
