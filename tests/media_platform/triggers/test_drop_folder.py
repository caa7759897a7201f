"""DropFolderTrigger on a real folder and the real ingest ledger: it fires for what no run has loaded yet."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.run import RunRequest, run
from media_platform.triggers.drop_folder import CLASSPATH, DropFolderTrigger
from media_platform.triggers.watch import DeliveryWatch

ADI = Path(__file__).resolve().parents[2] / "fixtures" / "public" / "adi" / "HBO_ADI_OK.XML"
NOON = datetime(2026, 11, 2, 12, tzinfo=UTC)
DAY_2 = ("2026-11-02T00:00:00+00:00", "2026-11-03T00:00:00+00:00")


def trigger(provider_id: str, folder: Path, **kwargs: object) -> DropFolderTrigger:
    options = {"provider_id": provider_id, "location": str(folder), "file_glob": "*.xml", "date_in_path": "%Y-%m-%d",
               "pick_by": "path_date", "schedule": "0 0 * * *", "start_date": "2026-11-01", **kwargs}  # fmt: skip
    return DropFolderTrigger(**options)  # type: ignore[arg-type]


def deliver(folder: Path, relative: str) -> None:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ADI, path)


def polls(subject: DropFolderTrigger, watch: DeliveryWatch, dsn: str, now: datetime, times: int = 2) -> list[dict]:
    """The payloads of `times` polls a few seconds apart (a file fires on the poll after the one that first saw it)."""
    fired = []
    for step in range(times):
        fired += subject.poll_once(watch, dsn, now + timedelta(seconds=5 * step))
    return fired


def ingest(provider_id: str, folder: Path, dsn: str, start: str, end: str) -> None:
    """What the DAG's extract_load does for the interval: the real ingest run, which writes the ledger."""
    interval = datetime.fromisoformat(start), datetime.fromisoformat(end)
    run(RunRequest(provider_id, "adi", str(folder), "*.xml", "%Y-%m-%d", *interval), dsn=dsn)


def test_a_delivery_fires_its_interval_once_and_a_loaded_file_never(tmp_path: Path, warehouse_dsn: str) -> None:
    folder = tmp_path / "watch_once"
    deliver(folder, "2026-11-02/a.xml")
    deliver(folder, "2026-11-02/notes.txt")  # not the provider's glob
    deliver(folder, "stray.xml")  # in no delivery-date folder: no run reads it
    subject = trigger("watch_once", folder)
    watch = DeliveryWatch("watch_once", timedelta(hours=2))
    [payload] = polls(subject, watch, warehouse_dsn, NOON)
    assert (payload["interval_start"], payload["interval_end"]) == DAY_2
    assert payload["files"] == ["2026-11-02/a.xml"] and payload["provider_id"] == "watch_once"
    assert polls(subject, watch, warehouse_dsn, NOON + timedelta(minutes=1)) == []  # its run is pending

    ingest("watch_once", folder, warehouse_dsn, *DAY_2)
    restarted = DeliveryWatch("watch_once", timedelta(hours=2))  # a triggerer restart forgets what it fired
    assert polls(subject, restarted, warehouse_dsn, NOON + timedelta(minutes=2)) == []  # the ledger has it
    deliver(folder, "2026-11-02/b.xml")
    [again] = polls(subject, restarted, warehouse_dsn, NOON + timedelta(minutes=3))
    assert again["files"] == ["2026-11-02/b.xml"] and (again["interval_start"], again["interval_end"]) == DAY_2


def test_a_late_file_fires_the_interval_of_its_date_folder(tmp_path: Path, warehouse_dsn: str) -> None:
    folder = tmp_path / "watch_late"
    deliver(folder, "2026-11-01/late.xml")
    deliver(folder, "2026-10-20/too_old.xml")  # before the start date and outside the lookback
    subject = trigger("watch_late", folder)
    [payload] = polls(subject, DeliveryWatch("watch_late", timedelta(hours=2)), warehouse_dsn, NOON)
    assert (payload["interval_start"], payload["interval_end"]) == (
        "2026-11-01T00:00:00+00:00",
        "2026-11-02T00:00:00+00:00",
    )


def test_a_missing_folder_fires_nothing_until_it_appears(tmp_path: Path, warehouse_dsn: str) -> None:
    folder = tmp_path / "watch_missing"
    subject = trigger("watch_missing", folder)
    watch = DeliveryWatch("watch_missing", timedelta(hours=2))
    assert polls(subject, watch, warehouse_dsn, NOON) == []
    deliver(folder, "2026-11-02/a.xml")
    assert [p["files"] for p in polls(subject, watch, warehouse_dsn, NOON)] == [["2026-11-02/a.xml"]]


def test_run_yields_a_trigger_event_for_a_file_dropped_today(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "watch_run"
    today = datetime.now(UTC).date()
    deliver(folder, f"{today:%Y-%m-%d}/a.xml")
    subject = trigger("watch_run", folder, poll_seconds=0.2, start_date="2026-01-01")

    async def first_event() -> object:
        events = subject.run()
        try:
            return await asyncio.wait_for(events.__anext__(), timeout=120)  # a guard against hanging, not a speed test
        finally:
            await events.aclose()

    event = asyncio.run(first_event())
    payload = event.payload  # type: ignore[attr-defined]
    assert payload["files"] == [f"{today:%Y-%m-%d}/a.xml"]
    assert payload["interval_start"] == f"{today:%Y-%m-%d}T00:00:00+00:00"


def test_the_triggerer_rebuilds_it_from_its_serialized_form(tmp_path: Path) -> None:
    from airflow._shared.module_loading import import_string  # what the triggerer loads trigger classes with

    subject = trigger("watch_serial", tmp_path, poll_seconds=2.0)
    classpath, kwargs = subject.serialize()
    assert classpath == CLASSPATH
    rebuilt = import_string(classpath)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
