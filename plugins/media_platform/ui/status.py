"""What the provider status page says about one provider: freshness, deadline, problems, and the order of rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum

# A run past this share of its deadline and not finished is "at risk".
AT_RISK_SHARE = 0.75
# A quarantine rate above this over the last 24 hours is flagged.
QUARANTINE_RATE_WARNING = 0.05
# Run states that mean the run is over (Airflow's DagRunState values).
FINISHED_STATES = frozenset({"success", "failed"})


class Severity(IntEnum):
    """How badly a provider needs attention; rows are sorted by it, worst first."""

    OK = 0
    INFO = 1
    WARNING = 2
    ERROR = 3


@dataclass(frozen=True)
class Problem:
    severity: Severity
    text: str


@dataclass(frozen=True)
class RunInfo:
    """The provider DAG's latest run, as the metadata database has it."""

    run_id: str
    state: str
    queued_at: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    data_interval_start: datetime | None
    data_interval_end: datetime | None
    log_task_id: str  # the failed task, else extract_load: where the run's log is worth reading
    deadline_time: datetime | None = None  # Airflow's own deadline record for the run, when there is one
    deadline_missed: bool | None = None


@dataclass(frozen=True)
class DeadlineState:
    label: str  # met, missed, at risk, on track, or "" without a run
    severity: Severity
    due: datetime | None


def schedule_period(cron: str, now: datetime) -> timedelta:
    """The time between two runs of a cron schedule around `now` (e.g. one day for @daily)."""
    from croniter import croniter

    it = croniter(cron, now)
    previous = it.get_prev(datetime)
    before = it.get_prev(datetime)
    return previous - before


def deadline_state(run: RunInfo | None, deadline: timedelta, now: datetime) -> DeadlineState:
    """Whether the latest run met its deadline (`deadline` after being queued, as the DAG's DeadlineAlert says).

    Airflow's deadline record wins when the run has one; without one (deadline alerts off, or
    apache/airflow#72471) the deadline is computed from the provider YAML the same way the alert is.
    """
    if run is None or run.queued_at is None:
        return DeadlineState("", Severity.OK, None)
    due = run.deadline_time or run.queued_at + deadline
    finished = run.state in FINISHED_STATES
    if run.state == "failed":
        return DeadlineState("run failed", Severity.OK, due)  # the failure is the problem, reported on its own
    if finished:
        late = run.end_date is not None and run.end_date > due
        return DeadlineState("missed" if late else "met", Severity.WARNING if late else Severity.OK, due)
    if run.deadline_missed or now > due:
        return DeadlineState("missed", Severity.ERROR, due)
    elapsed = (now - run.queued_at) / (due - run.queued_at) if due > run.queued_at else 1.0
    if elapsed >= AT_RISK_SHARE:
        return DeadlineState("at risk", Severity.WARNING, due)
    return DeadlineState("on track", Severity.OK, due)


def freshness(newest_load: datetime | None, period: timedelta, deadline: timedelta, now: datetime) -> Problem:
    """Age of the newest published records against the schedule: one period plus the deadline is on time."""
    allowed = period + deadline
    if newest_load is None:
        return Problem(Severity.WARNING, "no published records yet")
    age = now - newest_load
    if age <= allowed:
        return Problem(Severity.OK, f"{human_duration(age)} old")
    return Problem(Severity.WARNING, f"stale: {human_duration(age)} old (expected within {human_duration(allowed)})")


def human_duration(delta: timedelta) -> str:
    """A short duration for a table cell: 45s, 12m, 3h 5m, 2d 4h."""
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


@dataclass(frozen=True)
class Counts24h:
    batches: int = 0
    read: int = 0
    loaded: int = 0
    quarantined: int = 0

    @property
    def quarantine_rate(self) -> float:
        return self.quarantined / self.read if self.read else 0.0


@dataclass
class ProviderRow:
    """One row of the status page: everything known about a provider, and what is wrong with it."""

    provider_id: str
    display_name: str = ""
    dag_id: str = ""
    schedule: str = ""
    deadline: str = ""
    owner: str = ""
    alert_channel: str = ""
    config_error: str = ""
    in_airflow: bool = False
    paused: bool | None = None
    run: RunInfo | None = None
    deadline_state: DeadlineState = DeadlineState("", Severity.OK, None)
    freshness: Problem = Problem(Severity.OK, "")
    last_published: tuple[datetime, datetime] | None = None
    counts: Counts24h = Counts24h()
    top_reasons: list[tuple[str, int]] = field(default_factory=list)
    coverage: tuple[int, int] | None = None  # (assets mapped to an EIDR ID, assets)
    review_backlog: int = 0
    alerts: list[str] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)
    charts: dict[str, str] = field(default_factory=dict)  # chart name -> inline SVG

    @property
    def problems(self) -> list[Problem]:
        """What is wrong, worst first; an empty list is a healthy provider."""
        found: list[Problem] = []
        if self.config_error:
            found.append(Problem(Severity.ERROR, "invalid provider YAML"))
            return found
        if not self.in_airflow:
            found.append(Problem(Severity.WARNING, "DAG not in Airflow yet (not parsed, or an import error)"))
        if self.run is not None and self.run.state == "failed":
            found.append(Problem(Severity.ERROR, "last run failed"))
        if self.deadline_state.severity >= Severity.WARNING:
            found.append(Problem(self.deadline_state.severity, f"deadline {self.deadline_state.label}"))
        if self.freshness.severity >= Severity.WARNING:
            found.append(self.freshness)
        if self.counts.quarantine_rate > QUARANTINE_RATE_WARNING:
            found.append(Problem(Severity.WARNING, f"{self.counts.quarantine_rate:.0%} quarantined in 24 h"))
        if self.anomalies:
            count = len(self.anomalies)
            found.append(Problem(Severity.WARNING, f"{count} open {'anomaly' if count == 1 else 'anomalies'}"))
        if self.paused:
            found.append(Problem(Severity.INFO, "paused"))
        return sorted(found, key=lambda problem: -problem.severity)

    @property
    def severity(self) -> Severity:
        problems = self.problems
        return problems[0].severity if problems else Severity.OK


def problems_first(rows: list[ProviderRow]) -> list[ProviderRow]:
    """Worst severity first, then the provider with more problems, then by provider id."""
    return sorted(rows, key=lambda row: (-row.severity, -len(row.problems), row.provider_id))
