"""Demo ADI packages from the real ggplot2movies film list: films, TV episodes, a realistic EIDR mix, asset ids."""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from datetime import date, timedelta

from demo_feeds.adi_writer import Ams, AssetSpec
from demo_feeds.catalogue import FIRST, LAST, Film
from demo_feeds.eidr_registry import film_directors
from ingest.eidr import canonical_eidr, check_character

STUDIOS = ("Meridian Pictures", "Blue Harbor Films", "Northlight Studios", "Cobalt Entertainment")
COUNTRIES = ("US", "US", "US", "GB", "FR", "CA", "DE", "IT", "ES", "JP")
EPISODE_WORDS = ("Tide", "Ledger", "Harbour", "Signal", "Crossing", "Winter", "Lantern", "Debt", "Station", "Fog")


@dataclass(frozen=True)
class Delivered:
    """A package already delivered, kept so a later day can send an update or a delete of it."""

    file_stem: str
    package: AssetSpec
    ams: Ams


class PackageMaker:
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
        """A 20-character ADI Asset_ID, unique per provider, day, package and asset class."""
        return f"{self.prefix}{letter}{self.day:%Y%m%d}{sequence:08d}"

    def film(self, film: Film, sequence: int) -> Delivered:
        """A feature film package from a catalogue row."""
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
            *self._people(film),
            *self._eidr(f"{film.title}|{film.year}"),
        )
        return self._package(_slug(film.title), film.title, app_data, sequence, self.rng.random() < 0.8)

    def episode(self, series: str, season: int, episode: int, sequence: int) -> Delivered:
        """A TV episode package, with Series_Name, Season_Number and Episode_Number App_Data."""
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
    ) -> Delivered:
        """package > title > movie, preview (most titles), poster: the shape of the public samples."""
        brief = title[:19]
        end = self.day + timedelta(days=self.rng.choice((90, 180, 365, 730)))
        title_data = (
            ("Type", "title"),
            ("Title_Brief", brief),
            *app_data,
            ("Billing_ID", f"{sequence:05d}"),
            ("Licensing_Window_Start", self.day.isoformat()),
            ("Licensing_Window_End", end.isoformat() if self.rng.random() < 0.5 else f"{end.isoformat()}T23:59:59"),
            ("Provider_QA_Contact", f"qa@{self.ams.provider_id}"),
            ("Country_of_Origin", self.rng.choice(COUNTRIES)),
            ("Studio", self.rng.choice(STUDIOS)),
        )
        checksum = hashlib.md5(f"{slug}{sequence}".encode(), usedforsecurity=False).hexdigest()
        media = [("movie", "M", (("Audio_Type", "Stereo"), ("HD_Content", "Y"), ("Content_CheckSum", checksum)), ".ts")]
        if preview:
            media.append(("preview", "R", (("Run_Time", "00:02:10"),), "_preview.ts"))
        media.append(("poster", "I", (("Image_Aspect_Ratio", "640x960"),), ".jpg"))
        children = tuple(
            self._asset(kind, letter, sequence, title, (("Type", kind), *data), f"{slug}{suffix}")
            for kind, letter, data, suffix in media
        )
        title_asset = self._asset("title", "T", sequence, title, title_data, None, children)
        spec_version = (("Metadata_Spec_Version", "CableLabsVOD1.1"),)
        package = AssetSpec("package", self.asset_id("P", sequence), brief, title, spec_version, None, (title_asset,))
        return Delivered(f"{self.day:%Y%m%d}_{sequence:03d}_{slug}", package, self.ams)

    def _asset(
        self,
        kind: str,
        letter: str,
        sequence: int,
        title: str,
        app_data: tuple[tuple[str, str], ...],
        content: str | None,
        children: tuple[AssetSpec, ...] = (),
    ) -> AssetSpec:
        name = f"{title[:19]}_{kind.capitalize()}"
        return AssetSpec(kind, self.asset_id(letter, sequence), name, f"{title} {kind}", app_data, content, children)

    def _people(self, film: Film | None = None) -> tuple[tuple[str, str], ...]:
        def person() -> str:
            return f"{self.rng.choice(LAST)}, {self.rng.choice(FIRST)}"

        actors = tuple(("Actors", person()) for _ in range(self.rng.randint(2, 4)))
        directors: tuple[str, ...] = (person(),)
        if film is not None:  # a real film: the directors the (demo) EIDR registry names for it
            directors = tuple(f"{last}, {first}" for first, last in film_directors(self.seed, film.title, film.year))
        return (*(("Director", name) for name in directors), *actors)

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


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40] or "untitled"
