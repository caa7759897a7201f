"""Every alert lands in ops.alerts on the real warehouse, repeats are grouped, no secret is stored, sent or logged."""

from __future__ import annotations

import asyncio
import logging
import uuid

import psycopg2
import pytest
from alert_cases import WEBHOOK_TOKEN, WebhookServer

from media_platform.notifications.notify import Alert, AlertKind, anotify, notify, notify_anomaly, quiet_period


def alert(provider: str, **overrides: object) -> Alert:
    values: dict = {
        "kind": AlertKind.TASK_FAILURE,
        "summary": f"Task failed: ingest_{provider}.extract_load",
        "detail": "Run r1, try 1: boom",
        "channel": "slack:#feeds",
        "incident_key": f"task_failure:ingest_{provider}.extract_load",
        "provider_id": provider,
        "dag_id": f"ingest_{provider}",
        "run_id": "r1",
    }
    return Alert(**{**values, **overrides})


def rows(warehouse: psycopg2.extensions.connection, provider: str) -> list[tuple]:
    with warehouse.cursor() as cur:
        cur.execute(
            "select kind, incident_key, occurrences, delivered_to, sent_at is not null, summary, detail, run_id "
            "from ops.alerts where provider_id = %s order by alert_id",
            (provider,),
        )
        return cur.fetchall()


@pytest.fixture()
def provider() -> str:
    return f"p_{uuid.uuid4().hex[:8]}"


@pytest.fixture()
def slack(monkeypatch: pytest.MonkeyPatch):
    with WebhookServer() as server:
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", server.connection_json())
        yield server


def test_quiet_period_default_is_an_hour() -> None:
    assert quiet_period({}).total_seconds() == 3600
    assert quiet_period({"MEDIA_ALERT_QUIET_MINUTES": "15"}).total_seconds() == 900


def test_repeats_of_an_incident_are_counted_not_sent_again(
    warehouse_dsn: str, warehouse: psycopg2.extensions.connection, provider: str, slack: WebhookServer
) -> None:
    first = notify(alert(provider), dsn=warehouse_dsn)
    second = notify(alert(provider, run_id="r2", detail="Run r2, try 1: boom again"), dsn=warehouse_dsn)
    assert (first.sent_now, second.sent_now) == (True, False)
    assert first.alert_id == second.alert_id and second.occurrences == 2
    assert len(slack.bodies) == 1
    [(kind, key, occurrences, delivered_to, was_sent, _, detail, run_id)] = rows(warehouse, provider)
    assert (kind, key, occurrences, delivered_to, was_sent) == (
        "task_failure",
        f"task_failure:ingest_{provider}.extract_load",
        2,
        "slack:#feeds",
        True,
    )
    assert (detail, run_id) == ("Run r2, try 1: boom again", "r2")  # the last occurrence's


def test_another_incident_is_its_own_row_and_is_sent(
    warehouse_dsn: str, warehouse: psycopg2.extensions.connection, provider: str, slack: WebhookServer
) -> None:
    notify(alert(provider), dsn=warehouse_dsn)
    other = notify(
        alert(provider, kind=AlertKind.DEADLINE_MISSED, incident_key=f"deadline_missed:ingest_{provider}:r1"),
        dsn=warehouse_dsn,
    )
    assert other.sent_now and len(slack.bodies) == 2
    assert [row[:3] for row in rows(warehouse, provider)] == [
        ("task_failure", f"task_failure:ingest_{provider}.extract_load", 1),
        ("deadline_missed", f"deadline_missed:ingest_{provider}:r1", 1),
    ]


def test_after_the_quiet_period_a_repeat_reminds_and_a_later_one_opens_a_new_incident(
    warehouse_dsn: str, warehouse: psycopg2.extensions.connection, provider: str, slack: WebhookServer
) -> None:
    notify(alert(provider), dsn=warehouse_dsn)
    with warehouse.cursor() as cur:  # sent 2 hours ago, still recurring half an hour ago: the incident is open
        cur.execute(
            "update ops.alerts set sent_at = now() - interval '2 hours', last_at = now() - interval '30 minutes' "
            "where provider_id = %s",
            (provider,),
        )
    reminder = notify(alert(provider), dsn=warehouse_dsn)
    assert reminder.sent_now and reminder.occurrences == 2
    assert "2 occurrences since" in slack.bodies[-1]["text"]
    with warehouse.cursor() as cur:  # nothing for 2 hours: over
        cur.execute("update ops.alerts set last_at = now() - interval '2 hours' where provider_id = %s", (provider,))
    fresh = notify(alert(provider), dsn=warehouse_dsn)
    assert fresh.sent_now and fresh.alert_id != reminder.alert_id
    assert [row[2] for row in rows(warehouse, provider)] == [2, 1]
    assert len(slack.bodies) == 3


def test_a_failed_delivery_is_recorded_and_retried_by_the_next_occurrence(
    warehouse_dsn: str, warehouse: psycopg2.extensions.connection, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with WebhookServer(status=500) as server:
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", server.connection_json())
        failed = notify(alert(provider), dsn=warehouse_dsn)
        server.status = 200
        retried = notify(alert(provider), dsn=warehouse_dsn)
    assert (failed.sent_now, retried.sent_now, len(server.bodies)) == (False, True, 2)
    [(_, _, occurrences, delivered_to, was_sent, *_)] = rows(warehouse, provider)
    assert (occurrences, delivered_to, was_sent) == (2, "slack:#feeds", True)


def test_no_secret_reaches_the_table_the_channel_or_the_log(
    warehouse_dsn: str,
    warehouse: psycopg2.extensions.connection,
    provider: str,
    slack: WebhookServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    leaky = alert(
        provider,
        detail=(
            "OperationalError: connection to postgresql://loader:Pa55word99@db/warehouse failed; "
            f"webhook https://hooks.slack.com/services/{WEBHOOK_TOKEN}; token tok-777-secret"
        ),
        extra_secrets=("tok-777-secret",),
    )
    with caplog.at_level(logging.INFO):
        notify(leaky, dsn=warehouse_dsn)
    stored = " ".join(str(value) for row in rows(warehouse, provider) for value in row)
    for secret in ("Pa55word99", WEBHOOK_TOKEN, "tok-777-secret"):
        assert secret not in stored
        assert secret not in slack.bodies[0]["text"]
        assert secret not in caplog.text
    assert "postgresql://loader:***@db/warehouse" in stored


def test_the_async_path_records_groups_and_sends_the_same_way(
    warehouse_dsn: str, warehouse: psycopg2.extensions.connection, provider: str, slack: WebhookServer
) -> None:
    first = asyncio.run(anotify(alert(provider), dsn=warehouse_dsn))
    second = asyncio.run(anotify(alert(provider), dsn=warehouse_dsn))
    assert (first.sent_now, second.sent_now, second.occurrences, len(slack.bodies)) == (True, False, 2, 1)


def test_channel_none_records_the_alert_only(
    warehouse_dsn: str, warehouse: psycopg2.extensions.connection, provider: str, slack: WebhookServer
) -> None:
    outcome = notify(alert(provider, channel="none"), dsn=warehouse_dsn)
    assert outcome.sent_now and slack.bodies == []
    assert rows(warehouse, provider)[0][3] == "ops.alerts only (alert channel none)"


def test_an_anomaly_is_one_incident_per_metric_and_period(
    warehouse_dsn: str, warehouse: psycopg2.extensions.connection, provider: str, slack: WebhookServer
) -> None:
    args = {"provider_id": provider, "channel": "slack:#feeds", "metric": "assets_delivered", "period": "2026-11-03",
            "value": 3, "expected_low": 40, "expected_high": 60, "score": -7.25}  # fmt: skip
    assert notify_anomaly(**args, dsn=warehouse_dsn).sent_now
    assert not notify_anomaly(**args, dsn=warehouse_dsn).sent_now
    [(kind, key, occurrences, *_rest)] = rows(warehouse, provider)
    assert (kind, key, occurrences) == ("anomaly", "anomaly:assets_delivered:2026-11-03", 2)
    assert "assets_delivered of" in slack.bodies[0]["text"] and "expected 40 .. 60" in slack.bodies[0]["text"]
