"""EIDR IDs: normalise the forms providers send and validate the ISO 7064 MOD 37,36 check character.

Content IDs (10.5240/) carry a check character; party (10.5237/) and video service (10.5239/) IDs are recognised and
kept apart (`EidrResult.kind`), they carry none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from stdnum.iso7064 import mod_37_36

EIDR_CONTENT_PREFIX = "10.5240"
EIDR_PARTY_PREFIX = "10.5237"
EIDR_SERVICE_PREFIX = "10.5239"
# MovieLabs Common Metadata content IDs: md:cid:eidr-s:<suffix> and md:cid:eidr-x:<suffix>:<extension>.
_MOVIELABS = re.compile(r"^MD:CID:EIDR-([SX]):(.*)$")
_SHORT_GROUPED = re.compile(r"^[0-9A-F]{4}-[0-9A-F]{4}$")
_SHORT_PLAIN = re.compile(r"^[0-9A-F]{8}$")
_PREFIX = re.compile(r"^(?:URN:EIDR:|DOI:|HTTPS?://(?:DX\.)?DOI\.ORG/)?(10\.\d{4,5})[/:]")
_GROUPED = re.compile(r"^(?:[0-9A-F]{4}-){5}[0-9A-Z]$")
_PLAIN = re.compile(r"^[0-9A-F]{20}[0-9A-Z]$")


class EidrKind(StrEnum):
    """Which EIDR registry an ID belongs to: content (titles, edits, episodes), parties, video services."""

    CONTENT = "content"
    PARTY = "party"
    SERVICE = "service"


_KIND_BY_PREFIX = {
    EIDR_CONTENT_PREFIX: EidrKind.CONTENT,
    EIDR_PARTY_PREFIX: EidrKind.PARTY,
    EIDR_SERVICE_PREFIX: EidrKind.SERVICE,
}


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
    kind: EidrKind | None = None


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
    text = _compact(value)
    movielabs = _MOVIELABS.match(text)
    if movielabs:
        text = _movielabs_suffix(movielabs.group(1), movielabs.group(2))
    prefix = _PREFIX.match(text)
    if prefix and prefix.group(1) != EIDR_CONTENT_PREFIX:
        kind = _KIND_BY_PREFIX.get(prefix.group(1))
        what = f": an EIDR {kind.value} ID" if kind else ""
        return EidrResult(
            None,
            EidrStatus.INVALID,
            f"prefix {prefix.group(1)} is not the EIDR content registry {EIDR_CONTENT_PREFIX}{what}",
            kind,
        )
    suffix = text[prefix.end() :] if prefix else text
    if not (_GROUPED.match(suffix) or _PLAIN.match(suffix)):
        return EidrResult(
            None,
            EidrStatus.INVALID,
            "not an EIDR content ID: expected 10.5240/XXXX-XXXX-XXXX-XXXX-XXXX-C (20 hex digits and a check character)",
            EidrKind.CONTENT if prefix or movielabs else None,
        )
    compact = suffix.replace("-", "")
    expected = check_character(compact[:20])
    if compact[20] != expected:
        return EidrResult(
            None, EidrStatus.INVALID, f"check character should be {expected}, got {compact[20]}", EidrKind.CONTENT
        )
    return EidrResult(canonical_eidr(compact), EidrStatus.VALID, None, EidrKind.CONTENT)


def parse_eidr_any(value: str | None) -> EidrResult:
    """Check an EIDR ID of any registry: content IDs as parse_eidr, party (10.5237/) and service (10.5239/) IDs too.

    Party and service IDs are 8 hex digits (canonical 10.5237/XXXX-XXXX) without a check character; `kind` keeps
    them apart from content IDs, which is what a title mapping must hold.
    """
    content = parse_eidr(value)
    if content.kind not in (EidrKind.PARTY, EidrKind.SERVICE) or value is None:
        return content
    text = _compact(value)
    prefix = _PREFIX.match(text)
    suffix = text[prefix.end() :] if prefix else ""
    if not (_SHORT_GROUPED.match(suffix) or _SHORT_PLAIN.match(suffix)):
        reason = f"not an EIDR {content.kind.value} ID: expected {prefix.group(1) if prefix else ''}/XXXX-XXXX"
        return EidrResult(None, EidrStatus.INVALID, reason, content.kind)
    assert prefix is not None  # without a prefix the suffix is empty, which matches neither pattern
    compact = suffix.replace("-", "")
    return EidrResult(f"{prefix.group(1)}/{compact[:4]}-{compact[4:]}", EidrStatus.VALID, None, content.kind)


def _compact(value: str) -> str:
    """Upper case without any whitespace, a URL-escaped slash restored (doi.org links are sometimes escaped)."""
    return "".join(value.split()).upper().replace("%2F", "/")


def _movielabs_suffix(variant: str, rest: str) -> str:
    """The DOI suffix inside md:cid:eidr-s:<suffix> or md:cid:eidr-x:<suffix>:<extension> (the extension dropped)."""
    if variant == "X":
        rest = rest.split(":", 1)[0]
    return f"{EIDR_CONTENT_PREFIX}/{rest}"
