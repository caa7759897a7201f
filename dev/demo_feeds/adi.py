"""Deterministic demo ADI deliveries from a real film list, with the updates, deletes and mistakes real feeds have."""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

from demo_feeds.adi_packages import Delivered, PackageMaker
from demo_feeds.adi_writer import render_package
from demo_feeds.catalogue import SERIES, Film, load_films

FILMS_PER_DAY = 20
EPISODES_PER_DAY = 2
PUBLIC_SAMPLE = "HBO_ADI_OK.XML"


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
    """What the generator wrote, per day; printed as JSON by `python -m demo_feeds adi`."""

    location: str
    files_written: int
    days: list[DemoDay] = field(default_factory=list)

    def to_json(self) -> str:
        """One JSON line for the CLI's stdout."""
        return json.dumps(asdict(self))


def write_demo_data(location: Path, provider_id: str, start: date, days: int, seed: int) -> DemoDataSummary:
    """Write `<location>/<YYYY-MM-DD>/*.xml` for `days` days; the same arguments always write the same bytes."""
    feed = _Feed(provider_id, seed)
    summary_days, written = [], 0
    for index in range(days):
        day = start + timedelta(days=index)
        files, summary = feed.day(index, day)
        written += _write_day(location / day.isoformat(), files)
        summary_days.append(summary)
    return DemoDataSummary(str(location), written, summary_days)


class _Feed:
    """A provider's deliveries day after day: new titles, episodes, changes to earlier titles, broken files."""

    def __init__(self, provider_id: str, seed: int):
        self.provider_id = provider_id
        self.seed = seed
        self.films = load_films(seed)
        self.history: list[Delivered] = []
        self.episodes = {name: 0 for name, _ in SERIES}

    def day(self, index: int, day: date) -> tuple[dict[str, bytes], DemoDay]:
        """The files of one delivery day (name -> bytes), and what they are."""
        rng = random.Random(f"{self.seed}:{self.provider_id}:{day.isoformat()}")
        maker = PackageMaker(self.provider_id, day, rng, self.seed)
        per_day = FILMS_PER_DAY + 1
        films = [self.films[(index * per_day + k) % len(self.films)] for k in range(per_day)]
        delivered = [maker.film(film, n) for n, film in enumerate(films[:FILMS_PER_DAY], start=1)]
        for n in range(EPISODES_PER_DAY):
            series, season = SERIES[(index * EPISODES_PER_DAY + n) % len(SERIES)]
            self.episodes[series] += 1
            delivered.append(maker.episode(series, season, self.episodes[series], FILMS_PER_DAY + n + 1))
        changes = []
        for kind in ("update", "delete"):
            candidates = _unchanged(self.history)
            if candidates:
                changes.append(_changed(rng.choice(candidates), day, kind))
                self.history.append(changes[-1])
        self.history.extend(delivered)
        files = {f"{d.file_stem}.xml": render_package(d.package, d.ams) for d in delivered + changes}
        broken = _broken(maker, films[FILMS_PER_DAY], rng)
        files.update(broken)
        if index == 0:
            files[PUBLIC_SAMPLE] = resources.files("demo_feeds").joinpath("samples", PUBLIC_SAMPLE).read_bytes()
        deletes = sum(d.ams.verb == "DELETE" for d in changes)
        return files, DemoDay(day.isoformat(), len(files), len(broken), len(changes) - deletes, deletes)


def _unchanged(history: list[Delivered]) -> list[Delivered]:
    """Original deliveries not yet updated or deleted, in a stable order, to pick a change from."""
    changed = {d.package.asset_id for d in history if d.ams.version_minor > 0}
    originals = (d for d in history if d.ams.version_minor == 0 and d.package.asset_id not in changed)
    return sorted(originals, key=lambda d: d.file_stem)


def _changed(original: Delivered, day: date, kind: str) -> Delivered:
    """A later version of a delivered package, same Asset_IDs: an update (new summary) or a delete."""
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
    return Delivered(f"{day:%Y%m%d}_{kind}_{original.file_stem}", package, ams)


def _broken(maker: PackageMaker, film: Film, rng: random.Random) -> dict[str, bytes]:
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
