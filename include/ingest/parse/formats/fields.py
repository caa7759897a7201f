"""Converters for provider field values (run times, years, integers, timestamps); each raises ValueError saying why."""

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
