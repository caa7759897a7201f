"""Deterministic demo EMA Avails spreadsheets from the ggplot2movies film list: windows per territory and format,
TV episodes, an EIDR mix, a later day that moves an earlier window, and one broken row a day."""

from __future__ import annotations

import io
import random
import re
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

from demo_feeds.catalogue import load_films
from demo_feeds.mec import SEASON, SERIES_NAME, demo_eidr

FILMS_PER_DAY = 6
EPISODES_PER_DAY = 2
TERRITORIES = ("US", "CA", "GB", "FR", "DE")
# (XML section, column name, REQ/Opt note): the EMA template's first three rows, data from row 4.
COLUMNS = (
    ("Avail", "DisplayName", "//REQ"),
    ("AvailTrans", "Territory", "//REQ"),
    ("AvailAsset", "WorkType", "//REQ"),
    ("Disposition", "EntryType", "//REQ"),
    ("AvailMetadata", "TitleInternalAlias", "//REQ"),
    ("AvailMetadata", "TitleDisplayUnlimited", "//Opt"),
    ("AvailMetadata", "SeriesTitleInternalAlias", "//REQ for episodes"),
    ("AvailMetadata", "SeasonNumber", "//REQ for episodes"),
    ("AvailMetadata", "EpisodeNumber", "//REQ for episodes"),
    ("AvailMetadata", "EpisodeTitleDisplayUnlimited", "//Opt"),
    ("AvailTrans", "LicenseType", "//REQ"),
    ("AvailTrans", "LicenseRightsDescription", "//Opt"),
    ("AvailTrans", "FormatProfile", "//REQ"),
    ("AvailTrans", "Start", "//REQ"),
    ("AvailTrans", "End", "//REQ"),
    ("AvailTrans", "PriceType", "//REQ for all but SVOD"),
    ("AvailTrans", "PriceValue", "//REQ for all but SVOD"),
    ("AvailAsset", "TitleID", "//Opt"),
    ("AvailAsset", "EditID", "//Opt"),
    ("AvailAsset", "ContentID", "//REQ"),
    ("Avail", "AvailID", "//Opt"),
    ("Avail", "ALID", "//REQ"),
    ("AvailMetadata", "ReleaseYear", "//Opt"),
    ("AvailTrans", "AllowedLanguages", "//Opt"),
)


def write_demo_avails(location: Path, provider_id: str, start: date, days: int, seed: int) -> dict:
    """Write `<location>/<YYYY-MM-DD>/avails_<provider>_<YYYYMMDD>.xlsx` for `days` days; same arguments, same bytes.

    Returns {"location", "files_written", "days": [{"date", "files", "rows", "broken", "updates"}]}.
    """
    films = load_films(seed + 1)
    history: list[dict] = []
    summary_days = []
    written = 0
    episode = 0
    for index in range(days):
        day = start + timedelta(days=index)
        rng = random.Random(f"{seed}:{provider_id}:avails:{day.isoformat()}")
        earlier = list(history)
        rows: list[dict] = []
        for n in range(FILMS_PER_DAY):
            film = films[(index * FILMS_PER_DAY + n) % len(films)]
            rows += _film_rows(provider_id, seed, film.title, film.year, day, rng)
        tv_rows = []
        for _ in range(EPISODES_PER_DAY):
            episode += 1
            tv_rows += _episode_rows(provider_id, seed, episode, day)
        history += rows + tv_rows
        updates = 0
        if earlier:
            moved = dict(rng.choice(earlier))
            moved["End"] = datetime.combine(day + timedelta(days=400), datetime.min.time())
            moved["AvailID"] = f"{moved['AvailID']}-u{index}"
            rows.append(moved)
            updates = 1
        broken = dict(rows[0])
        flaw = rng.choice(("window", "license_type", "territory"))
        if flaw == "window":
            broken["End"] = broken["Start"] - timedelta(days=10)  # ends before it starts
        elif flaw == "license_type":
            broken["LicenseType"] = "RENTAL"
        else:
            broken["Territory"] = "UK"
        broken["AvailID"] = f"{broken['AvailID']}-x"
        rows.append(broken)
        content = _workbook({"Movies": rows, "TV": tv_rows}, day)
        folder = location / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"avails_{provider_id}_{day:%Y%m%d}.xlsx"
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
        written += 1
        summary_days.append(
            {"date": day.isoformat(), "files": 1, "rows": len(rows) + len(tv_rows), "broken": 1, "updates": updates}
        )
    return {"location": str(location), "files_written": written, "days": summary_days}


def _ids(provider_id: str, seed: int, key: str) -> dict:
    """TitleID/EditID/ContentID/ALID: the EIDR mix of the MEC demo (same key, same ID), our own ID when none."""
    status, eidr_id = demo_eidr(seed, key)
    _, edit = demo_eidr(seed, f"{key}|edit")
    own = f"md:cid:org:{provider_id.replace('_', '-')}.example.com:{_key_slug(key)}"
    if eidr_id is None:
        return {"TitleID": None, "EditID": None, "ContentID": own, "ALID": own.replace(":cid:", ":alid:")}
    suffix = eidr_id.split("/", 1)[1]
    return {
        "TitleID": eidr_id,
        "EditID": edit if status == "valid" else None,
        "ContentID": f"md:cid:eidr-s:{suffix}",
        "ALID": f"md:alid:eidr-s:{suffix}",
    }


def _film_rows(provider_id: str, seed: int, title: str, year: int, day: date, rng: random.Random) -> list[dict]:
    ids = _ids(provider_id, seed, f"{title}|{year}")
    territories = rng.sample(TERRITORIES, rng.randint(1, 3))
    license_type = rng.choice(("EST", "EST", "VOD", "SVOD"))
    start = datetime.combine(day + timedelta(days=rng.randint(0, 30)), datetime.min.time())
    end = None if license_type == "EST" else start + timedelta(days=rng.choice((90, 180, 365)))
    rows = []
    for territory in territories:
        for profile in ("HD", "SD"):
            rows.append(
                {
                    "DisplayName": "Demo Distribution", "Territory": territory, "WorkType": "Movie",
                    "EntryType": "Full Extract", "TitleInternalAlias": title, "TitleDisplayUnlimited": title,
                    "LicenseType": license_type, "LicenseRightsDescription": "Library" if year < 2000 else "Catalog",
                    "FormatProfile": profile, "Start": start, "End": end or "Open",
                    "PriceType": None if license_type == "SVOD" else "Tier",
                    "PriceValue": None if license_type == "SVOD" else rng.randint(1, 4),
                    **ids, "AvailID": f"{ids['ALID'].rsplit(':', 1)[1]}-{territory}-{profile}-{day:%Y%m%d}",
                    "ReleaseYear": year, "AllowedLanguages": "en, fr, de",
                }
            )  # fmt: skip
    return rows


def _episode_rows(provider_id: str, seed: int, number: int, day: date) -> list[dict]:
    ids = _ids(provider_id, seed, f"{SERIES_NAME}|{SEASON}|{number}")
    start = datetime.combine(day, datetime.min.time())
    return [
        {
            "DisplayName": "Demo Distribution", "Territory": "US", "WorkType": "Episode", "EntryType": "Full Extract",
            "TitleInternalAlias": f"Episode {number}", "SeriesTitleInternalAlias": SERIES_NAME,
            "SeasonNumber": SEASON, "EpisodeNumber": number, "EpisodeTitleDisplayUnlimited": f"Episode {number}",
            "LicenseType": "SVOD", "FormatProfile": "HD", "Start": start, "End": start + timedelta(days=365),
            **ids, "AvailID": f"{SERIES_NAME[:3].upper()}-{SEASON}-{number}-{day:%Y%m%d}",
        }
    ]  # fmt: skip


def _workbook(sheets: dict[str, list[dict]], day: date) -> bytes:
    """An xlsx in the EMA layout; zip entry times and document properties are pinned so the bytes are repeatable."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for column in zip(*COLUMNS, strict=True):
            sheet.append(list(column))
        for row in rows:
            sheet.append([row.get(column) for _, column, _ in COLUMNS])
    pinned = datetime.combine(day, datetime.min.time())
    workbook.properties.created = workbook.properties.modified = pinned
    workbook.properties.creator = "media-platform demo"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _repack(buffer.getvalue(), (day.year, day.month, day.day, 0, 0, 0))


def _repack(data: bytes, date_time: tuple[int, int, int, int, int, int]) -> bytes:
    """The workbook again with fixed zip entry times and document dates (openpyxl stamps `modified` on save)."""
    stamp = "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format(*date_time).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp, content)
            target.writestr(zipfile.ZipInfo(info.filename, date_time), content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _key_slug(key: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in key.lower()).strip("_")[:40]
