"""EIDR content IDs: canonical form, accepted variants, check-character errors and missing values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.eidr import EidrStatus, canonical_eidr, check_character, parse_eidr

REAL_IDS = [
    "10.5240/7EC7-228A-510A-053E-CBB8-J",  # Ghostbusters
    "10.5240/FB0D-0A93-CAD6-8E8D-80C2-4",  # Gone with the Wind
    "10.5240/AD07-310C-C59D-6785-C63A-G",  # The Counselor
    "10.5240/5783-D070-78E6-3AC5-E892-W",  # Veep S5E5
    "10.5240/B752-5B47-DBBE-E5D4-5A3F-N",  # The Hitchhiker's Guide to the Galaxy
]


@pytest.mark.parametrize("value", REAL_IDS)
def test_real_ids_are_valid_and_canonical(value: str) -> None:
    result = parse_eidr(value)
    assert result.status is EidrStatus.VALID
    assert result.canonical == value
    assert result.reason is None


@pytest.mark.parametrize(
    "value",
    [
        "10.5240/7ec7-228a-510a-053e-cbb8-j",
        "10.5240/7EC7228A510A053ECBB8J",
        "  10.5240/7EC7-228A-510A-053E-CBB8-J\n",
        "10.5240/ 7EC7-228A-510A-053E-CBB8-J",
        "urn:eidr:10.5240:7EC7-228A-510A-053E-CBB8-J",
        "URN:EIDR:10.5240:7ec7228a510a053ecbb8j",
        "doi:10.5240/7EC7-228A-510A-053E-CBB8-J",
        "https://doi.org/10.5240/7EC7-228A-510A-053E-CBB8-J",
        "7EC7-228A-510A-053E-CBB8-J",
    ],
)
def test_accepted_forms_normalise_to_the_canonical_id(value: str) -> None:
    result = parse_eidr(value)
    assert result.status is EidrStatus.VALID, result.reason
    assert result.canonical == "10.5240/7EC7-228A-510A-053E-CBB8-J"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.5240/0344-992B-DF0A-21A5-8BF9-R", "Q"),
        ("10.5240/E6CA-AB58-E298-7BA0-E574-A", "V"),
    ],
)
def test_wrong_check_character_is_invalid_with_the_expected_one(value: str, expected: str) -> None:
    result = parse_eidr(value)
    assert result.status is EidrStatus.INVALID
    assert result.canonical is None
    assert result.reason is not None and result.reason.startswith(f"check character should be {expected}")


@pytest.mark.parametrize(
    ("value", "reason_part"),
    [
        ("10.5240/7EC7-228A-510A-053E-CBB8", "expected 10.5240/XXXX"),
        ("10.5240/GEC7-228A-510A-053E-CBB8-J", "expected 10.5240/XXXX"),
        ("10.5240/7EC7-228A5-10A-053E-CBB8-J", "expected 10.5240/XXXX"),
        ("not an id", "expected 10.5240/XXXX"),
        ("10.5237/7EC7-228A-510A-053E-CBB8-J", "prefix 10.5237"),
        ("10.5240/7EC7-228A-510A-053E-CBB8-$", "expected 10.5240/XXXX"),
    ],
)
def test_bad_syntax_is_invalid_with_a_reason(value: str, reason_part: str) -> None:
    result = parse_eidr(value)
    assert result.status is EidrStatus.INVALID
    assert result.canonical is None
    assert reason_part in (result.reason or "")


@pytest.mark.parametrize("value", [None, "", "   ", "\n\t"])
def test_absent_values_are_missing(value: str | None) -> None:
    assert parse_eidr(value) == parse_eidr(None)
    assert parse_eidr(value).status is EidrStatus.MISSING
    assert parse_eidr(value).canonical is None


@given(st.text(alphabet="0123456789ABCDEF", min_size=20, max_size=20))
def test_generated_ids_with_their_check_character_round_trip(hex20: str) -> None:
    canonical = canonical_eidr(hex20 + check_character(hex20))
    assert parse_eidr(canonical).canonical == canonical
    assert parse_eidr(canonical.replace("-", "").lower()).canonical == canonical


@given(st.text(alphabet="0123456789ABCDEF", min_size=20, max_size=20), st.integers(min_value=1, max_value=35))
def test_any_other_check_character_is_invalid(hex20: str, shift: int) -> None:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    wrong = alphabet[(alphabet.index(check_character(hex20)) + shift) % 36]
    assert parse_eidr(canonical_eidr(hex20 + wrong)).status is EidrStatus.INVALID


@given(st.text(max_size=80))
def test_any_text_gives_a_status_and_never_raises(value: str) -> None:
    result = parse_eidr(value)
    assert result.status in set(EidrStatus)
    assert (result.canonical is not None) == (result.status is EidrStatus.VALID)
