"""The interval a delivery belongs to is the one Airflow's cron timetable gives its sweep; an asset run takes it."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pendulum
import pytest

from media_platform.triggers.intervals import Interval, RunInterval, delivery_moment, interval_containing


@pytest.mark.parametrize("cron", ["0 0 * * *", "0 * * * *", "30 6 * * 1", "*/15 * * * *"])
@pytest.mark.parametrize(
    "moment",
    [datetime(2026, 11, 2, 0, 0, tzinfo=UTC), datetime(2026, 11, 2, 13, 47, 5, tzinfo=UTC),
     datetime(2026, 11, 9, 6, 30, tzinfo=UTC), datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)],
)  # fmt: skip
def test_the_interval_containing_a_moment_is_the_cron_timetables(cron: str, moment: datetime) -> None:
    from airflow.timetables.interval import CronDataIntervalTimetable

    interval = interval_containing(cron, moment)
    assert interval.start <= moment < interval.end
    # the run at the interval's end (the sweep, or a manual run then) covers exactly this interval
    manual = CronDataIntervalTimetable(cron, "UTC").infer_manual_data_interval(
        run_after=pendulum.instance(interval.end)
    )
    assert (manual.start, manual.end) == (interval.start, interval.end)


def test_a_delivery_counts_by_its_date_folder_or_its_modification_time() -> None:
    touched = datetime(2026, 11, 5, 8, 0, tzinfo=UTC)
    assert delivery_moment("2026-11-02/a.xml", touched, "%Y-%m-%d", "path_date") == datetime(2026, 11, 2, tzinfo=UTC)
    assert delivery_moment("2026/11/02/a.xml", touched, "%Y/%m/%d", "path_date") == datetime(2026, 11, 2, tzinfo=UTC)
    assert delivery_moment("a.xml", touched, "%Y-%m-%d", "path_date") is None  # no run would read it
    assert delivery_moment("incoming/a.xml", touched, "%Y-%m-%d", "path_date") is None
    assert delivery_moment("any/depth/a.xml", touched, "%Y-%m-%d", "modified_time") == touched


def _event(provider_id: str, start: str, end: str) -> SimpleNamespace:
    return SimpleNamespace(
        extra={"from_trigger": True, "payload": {"provider_id": provider_id, "interval_start": start,
                                                 "interval_end": end}}
    )  # fmt: skip


def test_an_asset_run_loads_the_interval_of_its_delivery_the_earliest_of_several() -> None:
    run_interval = RunInterval("0 0 * * *", "demo_adi")
    dag_run = SimpleNamespace(
        run_after=datetime(2026, 11, 5, 9, tzinfo=UTC),
        consumed_asset_events=[
            _event("demo_adi", "2026-11-03T00:00:00+00:00", "2026-11-04T00:00:00+00:00"),
            _event("other", "2026-11-01T00:00:00+00:00", "2026-11-02T00:00:00+00:00"),
            _event("demo_adi", "2026-11-02T00:00:00+00:00", "2026-11-03T00:00:00+00:00"),
        ],
    )
    assert run_interval(dag_run) == Interval(datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))


def test_an_asset_run_without_a_delivery_loads_the_interval_in_progress() -> None:
    run_interval = RunInterval("0 * * * *", "demo_adi")
    by_hand = SimpleNamespace(extra={})  # an asset event created in the UI or the API
    dag_run = SimpleNamespace(run_after=datetime(2026, 11, 5, 9, 20, tzinfo=UTC), consumed_asset_events=[by_hand])
    assert run_interval(dag_run) == Interval(
        datetime(2026, 11, 5, 9, tzinfo=UTC), datetime(2026, 11, 5, 10, tzinfo=UTC)
    )
