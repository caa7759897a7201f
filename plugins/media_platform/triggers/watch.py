"""What a drop-folder watcher fires: new, settled files not in the ingest ledger, one delivery per data interval."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from media_platform.triggers.intervals import Interval

MAX_NAMED_FILES = 20  # a delivery event names this many of its files (the asset event's extra stays small)


@dataclass(frozen=True)
class Seen:
    """One file as a poll listed it, with the data interval whose run reads it."""

    relative: str
    size: int | None
    modified_at: datetime | None
    etag: str | None
    interval: Interval

    @property
    def key(self) -> tuple[str, int | None, str | None]:
        """The file's identity for firing: a file replaced by different content is a new delivery."""
        return (self.relative, self.size, self.etag)


@dataclass(frozen=True)
class Delivery:
    """One event to fire: the provider's new files of one data interval."""

    provider_id: str
    interval: Interval
    files: tuple[str, ...]

    def payload(self) -> dict[str, Any]:
        """The trigger event's payload, kept in the asset event's extra; `interval_*` is what the run loads."""
        return {
            "provider_id": self.provider_id,
            "interval_start": self.interval.start.isoformat(),
            "interval_end": self.interval.end.isoformat(),
            "file_count": len(self.files),
            "files": list(self.files[:MAX_NAMED_FILES]),
        }


@dataclass
class _Fired:
    interval: Interval
    at: datetime
    times: int
    done: bool = False


@dataclass
class DeliveryWatch:
    """The watcher's memory between polls, and the rule for what each poll fires.

    A file fires once it is settled (same size, modification time and etag in two consecutive polls, so an upload in
    progress is not read half-written) and the ledger does not hold it. A fired file is not fired again while it
    waits for its run. It is done when the ledger holds it, or when a batch of its interval started after it fired
    and still did not load it (the run quarantined or rejected it). It fires again when neither happened within
    `refire_after` (the event was lost), or as soon as a batch of another interval started after it fired while its
    own interval had none (a run that consumed several intervals' events loads only one of them); at most
    `max_refires` times, after which it is left to the time-based sweep.
    """

    provider_id: str
    refire_after: timedelta
    max_refires: int = 2
    _last_seen: dict[str, tuple[int | None, datetime | None, str | None]] = field(default_factory=dict)
    _fired: dict[tuple[str, int | None, str | None], _Fired] = field(default_factory=dict)

    def settled(self, files: Sequence[Seen]) -> list[Seen]:
        """The files listed unchanged since the previous poll; remembers this listing for the next one."""
        previous = self._last_seen
        self._last_seen = {f.relative: (f.size, f.modified_at, f.etag) for f in files}
        return [f for f in files if previous.get(f.relative) == (f.size, f.modified_at, f.etag)]

    def pending_since(self) -> datetime | None:
        """When the oldest file still waiting for its run fired (None when none is waiting)."""
        waiting = [fired.at for fired in self._fired.values() if not fired.done]
        return min(waiting) if waiting else None

    def poll(
        self,
        now: datetime,
        settled: Iterable[Seen],
        loaded: Set[str],
        processed: Mapping[Interval, datetime],
    ) -> list[Delivery]:
        """The deliveries to fire now. `settled` are this poll's settled files, `loaded` the relative paths among them
        the ledger holds with the same content, `processed` the latest batch start per interval since
        pending_since()."""
        due: dict[Interval, list[str]] = {}
        for seen in settled:
            if seen.relative in loaded:
                self._fired.pop(seen.key, None)
                continue
            fired = self._fired.get(seen.key)
            if fired is not None:
                if fired.done:
                    continue
                batch_started = processed.get(fired.interval)
                if batch_started is not None and batch_started >= fired.at:
                    fired.done = True  # its interval ran after it fired and did not load it
                    continue
                passed_over = any(at >= fired.at for interval, at in processed.items() if interval != fired.interval)
                if now - fired.at < self.refire_after and not passed_over:
                    continue
                if fired.times > self.max_refires:
                    fired.done = True  # left to the sweep
                    continue
            self._fired[seen.key] = _Fired(seen.interval, now, fired.times + 1 if fired else 1)
            due.setdefault(seen.interval, []).append(seen.relative)
        listed = {(relative, size, etag) for relative, (size, _, etag) in self._last_seen.items()}
        for key in set(self._fired) - listed:
            del self._fired[key]  # deleted or replaced: forget it
        return [Delivery(self.provider_id, interval, tuple(sorted(due[interval]))) for interval in sorted(due)]
