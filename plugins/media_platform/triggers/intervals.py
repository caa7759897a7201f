"""Which data interval of a provider's schedule a delivery belongs to, and which one an asset-triggered run loads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from croniter import croniter

from ingest.contract import PickBy
from ingest.discover.files import folder_datetime


class Interval(NamedTuple):
    """[start, end) of one run of a provider's cron schedule, in UTC."""

    start: datetime
    end: datetime


def interval_containing(cron: str, moment: datetime) -> Interval:
    """The schedule interval [start, end) with start <= moment < end: the interval whose scheduled run (the sweep)
    reads a delivery made at `moment`, as Airflow's CronDataIntervalTimetable lays the intervals out (UTC)."""
    moment = moment.astimezone(UTC)
    end = croniter(cron, moment).get_next(datetime)
    start = croniter(cron, end).get_prev(datetime)
    return Interval(start.astimezone(UTC), end.astimezone(UTC))


def delivery_moment(relative: str, modified_at: datetime | None, date_in_path: str, pick_by: str) -> datetime | None:
    """When a delivered file counts as delivered, by the rule the ingest run picks files with: its delivery-date
    folder (`path_date`) or its modification time (`modified_time`); None when it would not be picked by any run."""
    if pick_by == PickBy.MODIFIED_TIME:
        return modified_at
    folder = relative.rsplit("/", 1)[0] if "/" in relative else ""
    return folder_datetime(folder, date_in_path) if folder else None


class RunInterval:
    """The `run_interval` macro of a provider DAG: the data interval an asset-triggered run ingests.

    An asset-triggered run has no data interval of its own (Airflow 3 gives it none), so it takes the interval named
    by the delivery events it consumed: the earliest one, when a run consumed deliveries of several (the watcher
    fires the others again if they stay unloaded). A run triggered by an asset event without one (created by hand
    in the UI or API) loads the interval that contains its run_after, the one in progress.
    """

    def __init__(self, cron: str, provider_id: str):
        self.cron = cron
        self.provider_id = provider_id

    def __call__(self, dag_run: Any) -> Interval:
        named = sorted(self.from_events(getattr(dag_run, "consumed_asset_events", None) or ()))
        if named:
            return named[0]
        return interval_containing(self.cron, dag_run.run_after)

    def from_events(self, events: Iterable[Any]) -> list[Interval]:
        """The intervals this provider's delivery events name in their payload."""
        found = []
        for event in events:
            extra = event.extra if not isinstance(event, Mapping) else event.get("extra")
            payload = (extra or {}).get("payload")
            if isinstance(payload, Mapping) and payload.get("provider_id") == self.provider_id:
                try:
                    found.append(Interval(_aware(payload["interval_start"]), _aware(payload["interval_end"])))
                except (KeyError, TypeError, ValueError):
                    continue
        return found


def _aware(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"interval bound without a timezone: {value!r}")
    return parsed.astimezone(UTC)
