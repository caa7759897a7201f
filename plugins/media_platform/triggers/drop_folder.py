"""DropFolderTrigger: the asset watcher of a drop folder; fires for each interval with new files the ledger lacks."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from ingest.models import LedgerFile, UsageError
from media_platform.config.constants import WAREHOUSE_CONN_ID
from media_platform.triggers.intervals import Interval, delivery_moment, interval_containing
from media_platform.triggers.watch import DeliveryWatch, Seen

CLASSPATH = f"{__name__}.DropFolderTrigger"
DEFAULT_POLL_SECONDS = 5.0
DEFAULT_LOOKBACK_HOURS = 48  # late deliveries into a date folder this old still fire; older ones need a backfill


class DropFolderTrigger(BaseEventTrigger):
    """Polls a provider's drop folder every `poll_seconds` and fires one event per data interval that has new files.

    The folder is listed with the ingest run's own rules (file glob, delivery-date folders or modification time,
    hidden folders skipped), over the intervals from `lookback_hours` ago to as far ahead (not before the provider's
    start date). A file fires when it is settled and the ingest ledger does not hold it, and not again while its run
    is pending (see watch.DeliveryWatch). The event's payload names the interval, which the run then ingests in full.
    Runs in the triggerer: the location must be readable there, and the warehouse connection reachable.
    """

    def __init__(
        self,
        *,
        provider_id: str,
        location: str,
        file_glob: str,
        date_in_path: str,
        pick_by: str,
        schedule: str,
        start_date: str,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        lookback_hours: int = DEFAULT_LOOKBACK_HOURS,
        refire_after_seconds: int = 7200,
        warehouse_conn_id: str = WAREHOUSE_CONN_ID,
    ) -> None:
        super().__init__()
        self.provider_id = provider_id
        self.location = location
        self.file_glob = file_glob
        self.date_in_path = date_in_path
        self.pick_by = pick_by
        self.schedule = schedule
        self.start_date = start_date
        self.poll_seconds = poll_seconds
        self.lookback_hours = lookback_hours
        self.refire_after_seconds = refire_after_seconds
        self.warehouse_conn_id = warehouse_conn_id
        self._conn: Any = None
        self._missing_logged = False

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            CLASSPATH,
            {
                "provider_id": self.provider_id,
                "location": self.location,
                "file_glob": self.file_glob,
                "date_in_path": self.date_in_path,
                "pick_by": self.pick_by,
                "schedule": self.schedule,
                "start_date": self.start_date,
                "poll_seconds": self.poll_seconds,
                "lookback_hours": self.lookback_hours,
                "refire_after_seconds": self.refire_after_seconds,
                "warehouse_conn_id": self.warehouse_conn_id,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll forever; each delivery found is one TriggerEvent (one asset event, which queues the provider's run)."""
        watch = DeliveryWatch(self.provider_id, timedelta(seconds=self.refire_after_seconds))
        dsn = await self._dsn()
        try:
            while True:
                for payload in await asyncio.to_thread(self.poll_once, watch, dsn, datetime.now(UTC)):
                    self.log.info(
                        "delivery for %s [%s, %s): %d new file(s)", self.provider_id, payload["interval_start"],
                        payload["interval_end"], payload["file_count"],
                    )  # fmt: skip
                    yield TriggerEvent(payload)
                await asyncio.sleep(self.poll_seconds)
        finally:
            self._close()

    def poll_once(self, watch: DeliveryWatch, dsn: str, now: datetime) -> list[dict[str, Any]]:
        """One poll (blocking: the triggerer runs it in a thread): list, check the ledger, decide what fires."""
        from ingest.discover.files import files_for_interval, resolve_location

        try:
            location = resolve_location(self.location, os.environ)
            window = self.window(now)
            listed = files_for_interval(
                location, self.file_glob, self.date_in_path, window.start, window.end, self.pick_by
            )
        except UsageError as err:
            if not self._missing_logged:
                self.log.warning("%s: %s; watching until it appears", self.provider_id, err)
                self._missing_logged = True
            return []
        self._missing_logged = False
        seen = []
        for source in listed:
            moment = delivery_moment(source.relative, source.modified_at, self.date_in_path, self.pick_by)
            if moment is not None:
                interval = interval_containing(self.schedule, moment)
                seen.append(Seen(source.relative, source.size, source.modified_at, source.etag, interval))
        settled = watch.settled(seen)
        if not settled:
            return []
        try:
            loaded, processed = self._ledger(dsn, location.key, settled, watch.pending_since())
        except Exception as err:  # noqa: BLE001 - the warehouse may be down for a while; the next poll retries
            self.log.warning("%s: cannot read the ingest ledger (%s); not firing until it can", self.provider_id, err)
            self._close()
            return []
        return [delivery.payload() for delivery in watch.poll(now, settled, loaded, processed)]

    def window(self, now: datetime) -> Interval:
        """The deliveries watched: from the interval `lookback_hours` ago (not before the start date) to the interval
        as far ahead, for delivery-date folders named ahead of time."""
        lookback = timedelta(hours=self.lookback_hours)
        start = interval_containing(self.schedule, now - lookback).start
        not_before = datetime.combine(date.fromisoformat(self.start_date), datetime.min.time(), UTC)
        return Interval(max(start, not_before), interval_containing(self.schedule, now + lookback).end)

    def _ledger(
        self, dsn: str, location_key: str, settled: list[Seen], since: datetime | None
    ) -> tuple[set[str], dict[Interval, datetime]]:
        from ingest.load import ledger

        conn = self._connection(dsn)
        known = ledger.loaded_files(conn, self.provider_id, location_key, [s.relative for s in settled])
        loaded = {
            s.relative
            for s in settled
            if any(prior.same_content(LedgerFile(s.relative, s.size, s.modified_at, s.etag, None))
                   for prior in known.get(s.relative, ()))
        }  # fmt: skip
        processed = {}
        if since is not None:
            for (start, end), at in ledger.batches_started(conn, self.provider_id, since).items():
                processed[Interval(start.astimezone(UTC), end.astimezone(UTC))] = at
        return loaded, processed

    async def _dsn(self) -> str:
        from airflow.sdk import BaseHook

        from media_platform.tasks.warehouse_conn import warehouse_dsn

        return warehouse_dsn(await BaseHook.aget_connection(self.warehouse_conn_id))

    def _connection(self, dsn: str) -> Any:
        import psycopg2

        if self._conn is None or self._conn.closed:
            self._conn = psycopg2.connect(dsn, application_name=f"watch_{self.provider_id}")
            self._conn.autocommit = True
        return self._conn

    def _close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None
