"""Hand-made registry records and assets for the matching tests (IDs are valid, built with the real check)."""

from __future__ import annotations

import hashlib

from eidr_matching.models import RegistryRecord
from ingest.eidr import canonical_eidr, check_character


def make_id(key: str) -> str:
    """A valid EIDR content ID derived from a key."""
    hex20 = hashlib.sha256(key.encode()).hexdigest().upper()[:20]
    return canonical_eidr(hex20 + check_character(hex20))


def film(title: str, year: int | None, minutes: int | None = None, director: str | None = None, **kw) -> RegistryRecord:
    """A film (abstraction) record."""
    return RegistryRecord(
        eidr_id=make_id(f"{title}|{year}"),
        resource_name=title,
        referent_type="Movie",
        structural_type="Abstraction",
        release_year=year,
        length_minutes=minutes,
        directors=director,
        **kw,
    )


SERIES = RegistryRecord(make_id("series|Harbour Lights"), "Harbour Lights", referent_type="Series")
SEASON = RegistryRecord(
    make_id("season|Harbour Lights|2"), "Harbour Lights: Season 2", referent_type="Season",
    parent_eidr_id=SERIES.eidr_id, season_number=2,
)  # fmt: skip


def episode(number: int) -> RegistryRecord:
    """Harbour Lights S2 E<number>; series title and season come from the parents."""
    return RegistryRecord(
        make_id(f"Harbour Lights|2|{number}"), f"Episode {number}", referent_type="Episode",
        structural_type="Abstraction", parent_eidr_id=SEASON.eidr_id, episode_number=number, release_year=2026,
        length_minutes=50,
    )  # fmt: skip


MATRIX = film("The Matrix", 1999, 136, "Lana Wachowski; Lilly Wachowski", country="US")
HAMLET_1948 = film("Hamlet", 1948, 155, "Laurence Olivier", country="GB")
HAMLET_1996 = film("Hamlet", 1996, 242, "Kenneth Branagh", country="GB")
AMELIE = film(
    "Le Fabuleux Destin d'Amélie Poulain", 2001, 122, "Jean-Pierre Jeunet", alternate_names=("Amélie",), country="FR"
)
STRANGELOVE = film("Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb", 1964, 95, "Stanley Kubrick")
EDIT = RegistryRecord(
    make_id("matrix edit"), "The Matrix (Director's Cut)", referent_type="Movie", structural_type="Performance",
    release_year=1999, length_minutes=140, parent_eidr_id=MATRIX.eidr_id,
)  # fmt: skip
RECORDS = [
    MATRIX,
    HAMLET_1948,
    HAMLET_1996,
    AMELIE,
    STRANGELOVE,
    EDIT,
    SERIES,
    SEASON,
    *(episode(n) for n in (1, 2, 3)),
]
