"""The status page's judgement of a provider: deadline, freshness, problems and the order of rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from media_platform.ui.status import (
    Counts24h,
    Problem,
    ProviderRow,
    RunInfo,
    Severity,
    deadline_state,
    freshness,
    human_duration,
    problems_first,
    schedule_period,
)

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
TWO_HOURS = timedelta(hours=2)


def run(state: str, queued_minutes_ago: int, ended_minutes_ago: int | None = None, **extra: object) -> RunInfo:
    queued = NOW - timedelta(minutes=queued_minutes_ago)
    end = NOW - timedelta(minutes=ended_minutes_ago) if ended_minutes_ago is not None else None
    return RunInfo("manual__1", state, queued, queued, end, None, None, "extract_load", **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("latest", "label", "severity"),
    [
        (None, "", Severity.OK),
        (run("running", 30), "on track", Severity.OK),
        (run("running", 100), "at risk", Severity.WARNING),
        (run("queued", 130), "missed", Severity.ERROR),
        (run("success", 200, 150), "met", Severity.OK),
        (run("success", 200, 10), "missed", Severity.WARNING),
        (run("failed", 200, 10), "run failed", Severity.OK),
    ],
)
def test_deadline_counts_from_queued_at(latest: RunInfo | None, label: str, severity: Severity) -> None:
    state = deadline_state(latest, TWO_HOURS, NOW)
    assert (state.label, state.severity) == (label, severity)


def test_airflow_deadline_record_wins_over_the_yaml() -> None:
    recorded = run("running", 30, deadline_time=NOW - timedelta(minutes=1), deadline_missed=True)
    assert deadline_state(recorded, TWO_HOURS, NOW).label == "missed"
    assert deadline_state(recorded, TWO_HOURS, NOW).due == NOW - timedelta(minutes=1)


def test_freshness_allows_one_period_plus_the_deadline() -> None:
    day = timedelta(days=1)
    assert freshness(NOW - timedelta(hours=25), day, TWO_HOURS, NOW).severity == Severity.OK
    stale = freshness(NOW - timedelta(hours=27), day, TWO_HOURS, NOW)
    assert stale.severity == Severity.WARNING and stale.text.startswith("stale: 1d 3h old")
    assert freshness(None, day, TWO_HOURS, NOW).text == "no published records yet"


@pytest.mark.parametrize(("cron", "period"), [("0 0 * * *", timedelta(days=1)), ("0 * * * *", timedelta(hours=1))])
def test_schedule_period(cron: str, period: timedelta) -> None:
    assert schedule_period(cron, NOW) == period


@pytest.mark.parametrize(
    ("seconds", "text"), [(42, "42s"), (600, "10m"), (3 * 3600 + 300, "3h 5m"), (2 * 86400 + 4 * 3600, "2d 4h")]
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(timedelta(seconds=seconds)) == text


def test_problems_first_orders_by_worst_problem() -> None:
    fresh = Problem(Severity.OK, "1h old")
    healthy = ProviderRow("a_ok", in_airflow=True, paused=False, freshness=fresh)
    paused = ProviderRow("b_paused", in_airflow=True, paused=True, freshness=fresh)
    failed = ProviderRow("c_failed", in_airflow=True, paused=False, run=run("failed", 60, 50), freshness=fresh)
    noisy = ProviderRow("d_noisy", in_airflow=True, paused=False, freshness=fresh, counts=Counts24h(1, 100, 80, 20))
    broken = ProviderRow("e_yaml", config_error="e_yaml.yaml: invalid provider config")
    order = [row.provider_id for row in problems_first([healthy, paused, failed, noisy, broken])]
    assert order == ["c_failed", "e_yaml", "d_noisy", "b_paused", "a_ok"]
    assert healthy.problems == [] and healthy.severity == Severity.OK
    assert [problem.text for problem in noisy.problems] == ["20% quarantined in 24 h"]


def test_open_anomalies_are_a_problem() -> None:
    row = ProviderRow("p", in_airflow=True, paused=False, anomalies=["records_loaded (2026-11-03)"])
    assert [problem.text for problem in row.problems] == ["1 open anomaly"]
