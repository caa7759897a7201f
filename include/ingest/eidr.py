"""EIDR content IDs: normalise the forms providers send and validate the ISO 7064 MOD 37,36 check character."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from stdnum.iso7064 import mod_37_36

EIDR_CONTENT_PREFIX = "10.5240"
_PREFIX = re.compile(r"^(?:URN:EIDR:|DOI:|HTTPS?://(?:DX\.)?DOI\.ORG/)?(10\.\d{4,5})[/:]")
_GROUPED = re.compile(r"^(?:[0-9A-F]{4}-){5}[0-9A-Z]$")
_PLAIN = re.compile(r"^[0-9A-F]{20}[0-9A-Z]$")


class EidrStatus(StrEnum):
    """Outcome of checking one provided EIDR value."""

    VALID = "valid"
    INVALID = "invalid"
    MISSING = "missing"


@dataclass(frozen=True)
class EidrResult:
    """A provided EIDR value checked: the canonical ID when valid, else why not."""

    canonical: str | None
    status: EidrStatus
    reason: str | None = None


def canonical_eidr(suffix: str) -> str:
    """Format 21 suffix characters (20 hex digits and the check character) as 10.5240/XXXX-XXXX-XXXX-XXXX-XXXX-C."""
    groups = [suffix[i : i + 4] for i in range(0, 20, 4)]
    return f"{EIDR_CONTENT_PREFIX}/{'-'.join(groups)}-{suffix[20]}"


def check_character(hex20: str) -> str:
    """The MOD 37,36 check character of 20 hex digits, so generators and tests can build valid IDs."""
    return mod_37_36.calc_check_digit(hex20.upper())


def parse_eidr(value: str | None) -> EidrResult:
    """Check a provided EIDR content ID; accepts hyphens or none, any case, whitespace and urn:eidr:/doi: prefixes.

    A bad value is reported as invalid with a reason, never dropped: the raw layer keeps what was sent.
    """
    if value is None or not value.strip():
        return EidrResult(None, EidrStatus.MISSING)
    text = "".join(value.split()).upper()
    prefix = _PREFIX.match(text)
    if prefix and prefix.group(1) != EIDR_CONTENT_PREFIX:
        return EidrResult(
            None, EidrStatus.INVALID, f"prefix {prefix.group(1)} is not the EIDR content registry {EIDR_CONTENT_PREFIX}"
        )
    suffix = text[prefix.end() :] if prefix else text
    if not (_GROUPED.match(suffix) or _PLAIN.match(suffix)):
        return EidrResult(
            None,
            EidrStatus.INVALID,
            "not an EIDR content ID: expected 10.5240/XXXX-XXXX-XXXX-XXXX-XXXX-C (20 hex digits and a check character)",
        )
    compact = suffix.replace("-", "")
    expected = check_character(compact[:20])
    if compact[20] != expected:
        return EidrResult(None, EidrStatus.INVALID, f"check character should be {expected}, got {compact[20]}")
    return EidrResult(canonical_eidr(compact), EidrStatus.VALID)
