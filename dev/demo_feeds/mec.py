"""Deterministic demo MEC deliveries from the ggplot2movies film list: films, a series with its season and episodes,
an EIDR mix, a later update of an earlier title and one broken record a day."""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from demo_feeds.catalogue import FIRST, LAST, Film, load_films
from demo_feeds.eidr_registry import film_directors
from ingest.eidr import canonical_eidr, check_character

FILMS_PER_DAY = 8
EPISODES_PER_DAY = 2
SERIES_NAME, SEASON = "Harbour Lights", 1
NS = 'xmlns:md="http://www.movielabs.com/schema/md/v2.8/md" xmlns:mdmec="http://www.movielabs.com/schema/mdmec/v2.8"'


@dataclass
class _Title:
    """One MEC BasicMetadata to render: enough to write a realistic record and change it later."""

    content_id: str
    work_type: str
    title: str
    year: int
    summary: str
    minutes: int | None = None
    genres: tuple[str, ...] = ()
    director: str | None = None
    eidr_alt: str | None = None
    sequence: int | None = None
    parent: tuple[str, str] | None = None
    broken: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def write_demo_mec(location: Path, provider_id: str, start: date, days: int, seed: int) -> dict:
    """Write `<location>/<YYYY-MM-DD>/*.xml` MEC files for `days` days; the same arguments write the same bytes.

    Returns {"location", "files_written", "days": [{"date", "files", "records", "broken", "updates"}]}.
    """
    films = load_films(seed)
    history: list[_Title] = []
    summary_days = []
    written = 0
    for index in range(days):
        day = start + timedelta(days=index)
        rng = random.Random(f"{seed}:{provider_id}:mec:{day.isoformat()}")
        files: dict[str, bytes] = {}
        records = updates = 0
        earlier = sorted(history, key=lambda t: t.content_id)
        for n in range(FILMS_PER_DAY):
            film = films[(index * (FILMS_PER_DAY + 1) + n) % len(films)]
            title = _film(provider_id, seed, film, rng)
            files[f"{day:%Y%m%d}_{n + 1:03d}_{_slug(film.title)}.xml"] = _document([title])
            history.append(title)
            records += 1
        if index == 0:
            series, season = _series(provider_id, seed)
            files[f"{day:%Y%m%d}_series_{_slug(SERIES_NAME)}.xml"] = _document([series, season])
            records += 2
        episodes = [_episode(provider_id, seed, index * EPISODES_PER_DAY + n + 1, rng) for n in range(EPISODES_PER_DAY)]
        files[f"{day:%Y%m%d}_episodes_{_slug(SERIES_NAME)}.xml"] = _document(episodes)
        records += len(episodes)
        if earlier:
            original = rng.choice(earlier)
            updated = _Title(**{**original.__dict__, "summary": f"Updated synopsis. {original.summary}"})
            files[f"{day:%Y%m%d}_update_{_slug(original.title)}.xml"] = _document([updated])
            records += 1
            updates += 1
        broken_film = films[(index * (FILMS_PER_DAY + 1) + FILMS_PER_DAY) % len(films)]
        broken = _film(provider_id, seed, broken_film, rng)
        broken.broken = rng.choice(("no_work_type", "bad_run_length"))
        files[f"{day:%Y%m%d}_broken_{_slug(broken_film.title)}.xml"] = _document([broken])
        records += 1
        written += _write_day(location / day.isoformat(), files)
        summary_days.append(
            {"date": day.isoformat(), "files": len(files), "records": records, "broken": 1, "updates": updates}
        )
    return {"location": str(location), "files_written": written, "days": summary_days}


def demo_eidr(seed: int, key: str) -> tuple[str, str | None]:
    """("valid"|"invalid"|"missing", the EIDR ID or None): mostly valid, about 1 in 10 wrong check, 1 in 10 none."""
    digest = hashlib.sha256(f"{seed}|{key}".encode()).hexdigest().upper()
    hex20, bucket = digest[:20], int(digest[20:24], 16) % 100
    check = check_character(hex20)
    if bucket >= 90:
        return "missing", None
    if bucket >= 80:
        wrong = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[(int(check, 36) + 1 + int(digest[24:26], 16) % 35) % 36]
        return "invalid", canonical_eidr(hex20 + wrong)
    return "valid", canonical_eidr(hex20 + check)


def _content_id(provider_id: str, seed: int, key: str) -> tuple[str, str | None]:
    """A valid EIDR becomes the ContentID (md:cid:eidr-s:); an invalid one an AltIdentifier next to our own ID."""
    status, eidr_id = demo_eidr(seed, key)
    own = f"md:cid:org:{provider_id.replace('_', '-')}.example.com:{_slug(key)}"
    if status == "valid" and eidr_id:
        return f"md:cid:eidr-s:{eidr_id.split('/', 1)[1]}", None
    return own, eidr_id


def _registry_director(seed: int, film: Film, drawn: str) -> str:
    """The film's director as the demo EIDR registry names it (the random draw is kept so output stays stable)."""
    names = film_directors(seed, film.title, film.year)
    return f"{names[0][0]} {names[0][1]}" if names else drawn


def _film(provider_id: str, seed: int, film: Film, rng: random.Random) -> _Title:
    content_id, alt = _content_id(provider_id, seed, f"{film.title}|{film.year}")
    genre = film.genres[0]
    return _Title(
        content_id=content_id,
        work_type="Movie",
        title=film.title,
        year=film.year,
        summary=f"{film.title} ({film.year}): a {genre.lower()} feature, {film.minutes} minutes.",
        minutes=film.minutes,
        genres=film.genres,
        director=_registry_director(seed, film, f"{rng.choice(FIRST)} {rng.choice(LAST)}"),
        eidr_alt=alt,
    )


def _series(provider_id: str, seed: int) -> tuple[_Title, _Title]:
    series_id, series_alt = _content_id(provider_id, seed, SERIES_NAME)
    season_id, season_alt = _content_id(provider_id, seed, f"{SERIES_NAME}|{SEASON}")
    series = _Title(
        series_id, "Series", SERIES_NAME, 2026, f"{SERIES_NAME}: a coastal crime drama.", eidr_alt=series_alt
    )
    season = _Title(
        season_id, "Season", f"{SERIES_NAME}: Season {SEASON}", 2026, f"Season {SEASON} of {SERIES_NAME}.",
        eidr_alt=season_alt, sequence=SEASON, parent=("isseasonof", series_id),
    )  # fmt: skip
    return series, season


def _episode(provider_id: str, seed: int, number: int, rng: random.Random) -> _Title:
    content_id, alt = _content_id(provider_id, seed, f"{SERIES_NAME}|{SEASON}|{number}")
    season_id, _ = _content_id(provider_id, seed, f"{SERIES_NAME}|{SEASON}")
    return _Title(
        content_id=content_id,
        work_type="Episode",
        title=f"Episode {number}",
        year=2026,
        summary=f"{SERIES_NAME}, season {SEASON}, episode {number}.",
        minutes=rng.randint(42, 58),
        genres=("Drama", "Crime"),
        director=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        eidr_alt=alt,
        sequence=number,
        parent=("isepisodeof", season_id),
    )


def _document(titles: list[_Title]) -> bytes:
    basics = "".join(_basic(t) for t in titles)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<mdmec:CoreMetadata {NS}>\n{basics}</mdmec:CoreMetadata>\n'.encode()
    )


def _basic(t: _Title) -> str:
    lines = [f"  <mdmec:Basic ContentID={quoteattr(t.content_id)}>"]
    lines.append('    <md:LocalizedInfo language="en" default="true">')
    lines.append(f"      <md:TitleDisplay19>{escape(t.title[:19])}</md:TitleDisplay19>")
    lines.append(f"      <md:TitleDisplayUnlimited>{escape(t.title)}</md:TitleDisplayUnlimited>")
    lines.append(f"      <md:Summary190>{escape(t.summary[:190])}</md:Summary190>")
    lines += [f'      <md:Genre level="{i}">{escape(g)}</md:Genre>' for i, g in enumerate(t.genres)]
    lines.append(f"      <md:OriginalTitle>{escape(t.title)}</md:OriginalTitle>")
    lines.append("    </md:LocalizedInfo>")
    if t.minutes is not None:
        run_length = "1h30" if t.broken == "bad_run_length" else f"PT{t.minutes // 60}H{t.minutes % 60}M"
        lines.append(f"    <md:RunLength>{run_length}</md:RunLength>")
    lines.append(f"    <md:ReleaseYear>{t.year}</md:ReleaseYear>")
    if t.broken != "no_work_type":
        lines.append(f"    <md:WorkType>{t.work_type}</md:WorkType>")
    if t.eidr_alt:
        lines.append("    <md:AltIdentifier>")
        lines.append("      <md:Namespace>EIDR-S</md:Namespace>")
        lines.append(f"      <md:Identifier>{escape(t.eidr_alt.split('/', 1)[1])}</md:Identifier>")
        lines.append("    </md:AltIdentifier>")
    if t.director:
        lines.append("    <md:People>")
        lines.append("      <md:Job><md:JobFunction>Director</md:JobFunction></md:Job>")
        lines.append(f"      <md:Name><md:DisplayName>{escape(t.director)}</md:DisplayName></md:Name>")
        lines.append("    </md:People>")
    lines.append("    <md:CountryOfOrigin><md:country>US</md:country></md:CountryOfOrigin>")
    lines.append('    <md:AssociatedOrg role="distributor"><md:DisplayName>Demo Distribution</md:DisplayName>')
    lines.append("    </md:AssociatedOrg>")
    if t.sequence is not None:
        lines.append(f"    <md:SequenceInfo><md:Number>{t.sequence}</md:Number></md:SequenceInfo>")
    if t.parent:
        lines.append(f"    <md:Parent relationshipType={quoteattr(t.parent[0])}>")
        lines.append(f"      <md:ParentContentID>{escape(t.parent[1])}</md:ParentContentID>")
        lines.append("    </md:Parent>")
    lines.append("  </mdmec:Basic>\n")
    return "\n".join(lines)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40] or "untitled"


def _write_day(folder: Path, files: dict[str, bytes]) -> int:
    """Write the day's files, skipping those already identical, so re-running changes nothing."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in sorted(files.items()):
        path = folder / name
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
    return len(files)
