"""The shared field converters' window rule: one wording for every format, the audit's strictness per table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ingest.parse.formats import fields

DAY_START = datetime(2026, 11, 2, tzinfo=UTC)
DAY_END = fields.timestamp("2026-11-02", end_of_day=True)  # a one-day window ends at 23:59:59


@pytest.mark.parametrize("empty_allowed", [True, False])
def test_a_window_that_ends_after_it_starts_or_has_a_missing_bound_is_fine(empty_allowed: bool) -> None:
    assert DAY_END.isoformat() == "2026-11-02T23:59:59+00:00"
    for start, end in ((DAY_START, DAY_END), (None, DAY_START), (DAY_END, None), (None, None)):
        assert fields.window_problem("Start", start, "End", end, empty_allowed=empty_allowed) is None


def test_a_window_that_ends_before_it_starts_names_both_bounds() -> None:
    assert fields.window_problem("From", DAY_END, "To", DAY_START, empty_allowed=True) == (
        "From 2026-11-02T23:59:59+00:00 is after To 2026-11-02T00:00:00+00:00"
    )
    assert fields.window_problem("Start", DAY_END, "End", DAY_START, empty_allowed=False) == (
        "Start 2026-11-02T23:59:59+00:00 is not before End 2026-11-02T00:00:00+00:00"
    )


def test_an_empty_window_is_refused_only_when_asked() -> None:
    """The titles audit takes end >= start, the availability windows audit end > start; moments, not offsets."""
    same_moment = DAY_START.astimezone(timezone(timedelta(hours=2)))
    assert fields.window_problem("Start", same_moment, "End", DAY_START, empty_allowed=True) is None
    assert fields.window_problem("Start", same_moment, "End", DAY_START, empty_allowed=False) == (
        "Start 2026-11-02T02:00:00+02:00 is not before End 2026-11-02T00:00:00+00:00"
    )
