"""Every alert goes through here: recorded in ops.alerts (grouped), logged, and sent to its channel when due."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, TypeVar

from media_platform.notifications import channels, store

log = logging.getLogger(__name__)

QUIET_MINUTES_ENV = "MEDIA_ALERT_QUIET_MINUTES"
QUIET_MINUTES_DEFAULT = 60
PLATFORM_CHANNEL_ENV = "MEDIA_PLATFORM_ALERT_CHANNEL"  # alerts of the publish DAG (audit failures); default none
DETAIL_LIMIT = 20_000

T = TypeVar("T")


class AlertKind(StrEnum):
    TASK_FAILURE = "task_failure"
    DEADLINE_MISSED = "deadline_missed"
    AUDIT_FAILED = "audit_failed"
    ANOMALY = "anomaly"
    DEADLINE_GUARD = "deadline_guard"  # a run of a DAG with a deadline has no deadline record (apache/airflow#72471)


@dataclass(frozen=True)
class Alert:
    """One alert. `incident_key` groups repeats of the same incident of a provider (see `record`)."""

    kind: AlertKind
    summary: str
    detail: str
    channel: str
    incident_key: str
    provider_id: str | None = None
    dag_id: str | None = None
    run_id: str | None = None
    extra_secrets: tuple[str, ...] = field(default=(), repr=False)

    def redacted(self) -> Alert:
        """The alert as it is stored, logged and sent: no URL passwords, webhook paths or given secrets."""
        return Alert(
            kind=self.kind,
            summary=channels.redact(self.summary, self.extra_secrets),
            detail=channels.redact(self.detail, self.extra_secrets)[:DETAIL_LIMIT],
            channel=self.channel,
            incident_key=self.incident_key,
            provider_id=self.provider_id,
            dag_id=self.dag_id,
            run_id=self.run_id,
        )


@dataclass(frozen=True)
class Outcome:
    """What became of one alert: its incident row, whether it went out now, and how."""

    alert_id: int | None
    occurrences: int
    sent_now: bool
    delivered_to: str


def quiet_period(environ: dict[str, str] | None = None) -> timedelta:
    """How long repeats of an incident are only counted, not sent again (MEDIA_ALERT_QUIET_MINUTES, default 60)."""
    env = os.environ if environ is None else environ
    return timedelta(minutes=int(env.get(QUIET_MINUTES_ENV) or QUIET_MINUTES_DEFAULT))


def platform_channel() -> str:
    """Where alerts that belong to no provider go (MEDIA_PLATFORM_ALERT_CHANNEL; default `none`)."""
    return os.environ.get(PLATFORM_CHANNEL_ENV) or channels.NO_CHANNEL


def _warehouse(dsn: str | None, work: Callable[[Any], T]) -> T:
    import psycopg2

    from media_platform.tasks.warehouse_conn import resolve_warehouse_dsn

    conn = psycopg2.connect(dsn or resolve_warehouse_dsn())
    try:
        with conn:
            store.ensure_table(conn)
        with conn:
            return work(conn)
    finally:
        conn.close()


def _message(alert: Alert, incident: store.Incident | None) -> str:
    body = alert.detail
    if incident and incident.occurrences > 1:
        body += f"\n\n{incident.occurrences} occurrences since {incident.first_at:%Y-%m-%d %H:%M} UTC."
    if alert.dag_id:
        from airflow.configuration import conf

        base_url = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
        if base_url:
            body += f"\n{base_url}/dags/{alert.dag_id}" + (f"/runs/{alert.run_id}" if alert.run_id else "")
    return body


def _open(alert: Alert, dsn: str | None) -> tuple[Alert, channels.Route, store.Incident | None, str]:
    """Record the alert and decide; a warehouse that cannot be reached still lets the alert go out."""
    safe = alert.redacted()
    try:
        route = channels.route_for(safe.channel)
    except channels.ChannelError as error:
        log.error("%s", error)
        route = channels.Route(channels.RouteKind.NONE)
    try:
        incident: store.Incident | None = _warehouse(dsn, lambda conn: store.record(conn, safe, quiet_period()))
    except Exception:  # noqa: BLE001 - recording is the local default, never a reason to lose the alert
        log.exception("could not record the alert in %s; sending it anyway", store.ALERTS_TABLE)
        incident = None
    if incident is None or incident.send:
        log.warning("ALERT %s to %s: %s\n%s", safe.kind.value, route, safe.summary, safe.detail)
    else:
        log.info("alert %s grouped into incident %s (%s occurrences, quiet period): %s", safe.kind.value,
                 incident.alert_id, incident.occurrences, safe.summary)  # fmt: skip
    return safe, route, incident, _message(safe, incident)


def _close(incident: store.Incident | None, delivery: channels.Delivery | None, dsn: str | None) -> Outcome:
    if incident is None:
        return Outcome(None, 1, bool(delivery and delivery.sent), delivery.delivered_to if delivery else "")
    if delivery is None:
        return Outcome(incident.alert_id, incident.occurrences, False, "grouped (quiet period)")
    try:
        _warehouse(dsn, lambda conn: store.record_delivery(conn, incident.alert_id, delivery.delivered_to,
                                                           delivery.sent))  # fmt: skip
    except Exception:  # noqa: BLE001
        log.exception("could not record the delivery of alert %s", incident.alert_id)
    if not delivery.sent:
        log.error("alert %s: %s", incident.alert_id, delivery.delivered_to)
    return Outcome(incident.alert_id, incident.occurrences, delivery.sent, delivery.delivered_to)


def notify(alert: Alert, *, dsn: str | None = None) -> Outcome:
    """Record `alert` in ops.alerts and send it to its channel unless it repeats an incident within the quiet
    period (sync: task callbacks). Never raises: an alert must not fail the task that reports."""
    safe, route, incident, body = _open(alert, dsn)
    delivery = channels.deliver(route, safe.summary, body) if incident is None or incident.send else None
    return _close(incident, delivery, dsn)


async def anotify(alert: Alert, *, dsn: str | None = None) -> Outcome:
    """`notify` for the triggerer's event loop: the database work runs in a thread, the notifier's async path sends."""
    import asyncio

    safe, route, incident, body = await asyncio.to_thread(_open, alert, dsn)
    delivery = await channels.adeliver(route, safe.summary, body) if incident is None or incident.send else None
    return await asyncio.to_thread(_close, incident, delivery, dsn)


def notify_anomaly(
    *,
    provider_id: str,
    channel: str,
    metric: str,
    period: str,
    value: float,
    expected_low: float,
    expected_high: float,
    score: float,
    dag_id: str | None = None,
    run_id: str | None = None,
    dsn: str | None = None,
) -> Outcome:
    """An anomaly on a business metric: one incident per provider, metric and period, sent once."""
    return notify(
        Alert(
            kind=AlertKind.ANOMALY,
            summary=f"Anomaly: {provider_id} {metric} {period}",
            detail=(
                f"{metric} of {provider_id} for {period} is {value:g}, expected {expected_low:g} .. "
                f"{expected_high:g} (score {score:.1f})."
            ),
            channel=channel,
            incident_key=f"anomaly:{metric}:{period}",
            provider_id=provider_id,
            dag_id=dag_id,
            run_id=run_id,
        ),
        dsn=dsn,
    )
