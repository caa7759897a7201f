"""Converters for provider field values (run times, years, integers, timestamps), each raising ValueError saying why;
and the record rules every format shares (a window that ends before it starts)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

_RUN_TIME = re.compile(r"^(\d{1,3}):([0-5]\d):([0-5]\d)$")
_YEAR = re.compile(r"^\d{4}$")
_INT = re.compile(r"^\+?\d{1,9}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
MIN_YEAR, MAX_YEAR = 1870, 2100


def text(value: str | None) -> str | None:
    """A value stripped of surrounding whitespace; empty becomes None."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def run_time_seconds(value: str) -> int:
    """ADI Run_Time `HH:MM:SS` as seconds."""
    match = _RUN_TIME.match(value.strip())
    if not match:
        raise ValueError("expected HH:MM:SS")
    hours, minutes, seconds = (int(part) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def year(value: str) -> int:
    """A four-digit production or release year within a plausible range."""
    stripped = value.strip()
    if not _YEAR.match(stripped):
        raise ValueError("expected a four-digit year")
    number = int(stripped)
    if not MIN_YEAR <= number <= MAX_YEAR:
        raise ValueError(f"expected a year between {MIN_YEAR} and {MAX_YEAR}")
    return number


def integer(value: str) -> int:
    """A non-negative integer that fits a PostgreSQL int."""
    stripped = value.strip()
    if not _INT.match(stripped):
        raise ValueError("expected a whole number")
    return int(stripped)


def timestamp(value: str, *, end_of_day: bool = False) -> datetime:
    """An ISO date or datetime as a UTC-aware datetime; naive times are UTC.

    A bare date means midnight, or 23:59:59 with end_of_day (a window that ends on a date includes that day).
    """
    stripped = value.strip()
    if not _TIMESTAMP.match(stripped):
        raise ValueError("expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS")
    parsed = datetime.fromisoformat(stripped)
    if len(stripped) == 10:
        parsed = datetime.combine(parsed.date(), time(23, 59, 59) if end_of_day else time(0, 0))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def window_problem(
    start_name: str, start: datetime | None, end_name: str, end: datetime | None, *, empty_allowed: bool
) -> str | None:
    """Why a window from start to end cannot be loaded, naming both bounds, or None when it can (or a bound is
    missing). Every format that carries a window checks it here, so the reason reads the same everywhere.

    The rule is the publish-time audit's: a window must not end before it starts; with empty_allowed False (Avails
    windows) it must also end after it starts. A window of one day (both bounds the same date) ends at 23:59:59.
    """
    if start is None or end is None or end > start or (empty_allowed and end == start):
        return None
    relation = "is after" if empty_allowed else "is not before"
    return f"{start_name} {start.isoformat()} {relation} {end_name} {end.isoformat()}"
