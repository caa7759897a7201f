"""Picking a provider's files for one data interval from date-named folders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from ingest.discover.files import files_for_interval, resolve_location
from ingest.discover.transports.local import drop_path
from ingest.models import UsageError

NOV_2 = datetime(2026, 11, 2, tzinfo=UTC)


def _touch(root: Path, *relative: str) -> None:
    for rel in relative:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"<ADI/>")


def test_only_the_interval_folders_and_matching_files_are_picked(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "2026-11-01/a.xml",
        "2026-11-02/b.xml",
        "2026-11-02/A.XML",
        "2026-11-02/notes.txt",
        "2026-11-02/nested/c.xml",
        "2026-11-03/d.xml",
        "not-a-date/e.xml",
        "top.xml",
    )
    files = files_for_interval(tmp_path, "*.xml", "%Y-%m-%d", NOV_2, NOV_2 + timedelta(days=1))
    assert [f.relative for f in files] == ["2026-11-02/A.XML", "2026-11-02/b.xml"]
    assert all(f.opener().read() == b"<ADI/>" and f.size == 6 and f.rejected is None for f in files)


def test_interval_spanning_days_is_start_inclusive_end_exclusive(tmp_path: Path) -> None:
    _touch(tmp_path, "2026-11-01/a.xml", "2026-11-02/b.xml", "2026-11-03/c.xml", "2026-11-04/d.xml")
    files = files_for_interval(tmp_path, "*.xml", "%Y-%m-%d", NOV_2, NOV_2 + timedelta(days=2))
    assert [f.relative for f in files] == ["2026-11-02/b.xml", "2026-11-03/c.xml"]


def test_bounds_in_another_timezone_are_compared_as_instants(tmp_path: Path) -> None:
    _touch(tmp_path, "2026-11-02/b.xml")
    paris = timezone(timedelta(hours=1))
    start = datetime(2026, 11, 2, 1, 0, tzinfo=paris)  # 2026-11-02T00:00Z
    files = files_for_interval(tmp_path, "*.xml", "%Y-%m-%d", start, start + timedelta(days=1))
    assert [f.relative for f in files] == ["2026-11-02/b.xml"]


def test_nested_date_folders(tmp_path: Path) -> None:
    _touch(tmp_path, "2026/11/01/a.xml", "2026/11/02/b.xml", "2026/12/02/c.xml")
    files = files_for_interval(tmp_path, "*.xml", "%Y/%m/%d", NOV_2, NOV_2 + timedelta(days=1))
    assert [f.relative for f in files] == ["2026/11/02/b.xml"]


def test_hourly_folders(tmp_path: Path) -> None:
    _touch(tmp_path, "2026-11-02T05/a.xml", "2026-11-02T06/b.xml", "2026-11-02T07/c.xml")
    start = NOV_2 + timedelta(hours=6)
    files = files_for_interval(tmp_path, "*.xml", "%Y-%m-%dT%H", start, start + timedelta(hours=1))
    assert [f.relative for f in files] == ["2026-11-02T06/b.xml"]


def test_relative_location_is_under_the_drop_root(tmp_path: Path) -> None:
    (tmp_path / "demo_adi").mkdir()
    assert resolve_location("demo_adi", {"MEDIA_DROP_ROOT": str(tmp_path)}).root == str(tmp_path / "demo_adi")
    assert resolve_location(str(tmp_path / "demo_adi"), {}).root == str(tmp_path / "demo_adi")
    assert resolve_location((tmp_path / "demo_adi").as_uri(), {}).root == str(tmp_path / "demo_adi")


def test_missing_location_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=f"drop location not found: {tmp_path / 'nope'}"):
        resolve_location("nope", {"MEDIA_DROP_ROOT": str(tmp_path)})


def test_relative_location_without_drop_root_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="MEDIA_DROP_ROOT is not set"):
        drop_path("demo_adi", {})
