"""The demo registry export: deterministic, every row loads, series/seasons/episodes/edits, IDs shared with ADI demo."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from demo_feeds.eidr_registry import eidr_for, write_demo_registry
from eidr_matching.registry import load_export
from ingest.eidr import parse_eidr


def test_small_demo_registry_is_deterministic_and_loads_cleanly(tmp_path: Path) -> None:
    first = write_demo_registry(tmp_path / "a", date(2026, 11, 1), seed=7, size="small")
    second = write_demo_registry(tmp_path / "b", date(2026, 11, 1), seed=7, size="small")
    path = tmp_path / "a" / "2026-11-01" / "registry.csv"
    assert Path(first["file"]) == path
    assert path.read_bytes() == (tmp_path / "b" / "2026-11-01" / "registry.csv").read_bytes()
    assert first["movies"] == 2000 and first["episodes"] > 0 and first["seasons"] > 0 and first["series"] > 0
    assert first == {**second, "location": first["location"], "file": first["file"]}
    records, problems = load_export(path)
    assert problems == []
    assert len(records) == first["rows"]
    assert all(parse_eidr(r.eidr_id).canonical == r.eidr_id for r in records)
    episodes = [r for r in records if r.kind == "episode"]
    assert all(r.parent_eidr_id and r.episode_number for r in episodes)
    assert any(r.structural_type == "Performance" and r.parent_eidr_id for r in records)


def test_episode_ids_are_derived_like_the_demo_adi_feed() -> None:
    # demo_feeds.adi_packages derives episode IDs from sha256(f"{seed}|{series}|{season}|{episode}"): valid ones agree
    assert parse_eidr(eidr_for(7, "Harbour Lights|2|1")).status.value == "valid"
