"""Where an alert goes (slack, email, none), delivery through the Slack provider's notifier, and no secret shown."""

from __future__ import annotations

import asyncio

import pytest
from alert_cases import WEBHOOK_TOKEN, SmtpSink, WebhookServer

from media_platform.notifications.channels import (
    ChannelError,
    Route,
    RouteKind,
    adeliver,
    deliver,
    prepare,
    redact,
    route_for,
)


@pytest.mark.parametrize(
    ("channel", "route"),
    [
        ("slack:#media-data-alerts", Route(RouteKind.SLACK, "#media-data-alerts")),
        ("email:ops@example.com", Route(RouteKind.EMAIL, "ops@example.com")),
        ("none", Route(RouteKind.NONE)),
        ("", Route(RouteKind.NONE)),
        (None, Route(RouteKind.NONE)),
    ],
)
def test_a_channel_names_its_route(channel: str | None, route: Route) -> None:
    assert route_for(channel) == route
    assert str(route_for(channel)) == (channel or "none")


@pytest.mark.parametrize("channel", ["slack:media", "email:nobody", "teams:#x", "slack:#a b"])
def test_an_unknown_channel_is_refused_by_name(channel: str) -> None:
    with pytest.raises(ChannelError, match="expected slack:#channel, email:address or none"):
        route_for(channel)


def test_redact_removes_url_passwords_webhook_paths_and_given_secrets() -> None:
    text = (
        "could not connect to postgresql://loader:hunter2pw@db:5432/warehouse; "
        f"posted to https://hooks.slack.com/services/{WEBHOOK_TOKEN} with token abcd-1234-efgh"
    )
    clean = redact(text, ["abcd-1234-efgh"])
    for secret in ("hunter2pw", WEBHOOK_TOKEN, "abcd-1234-efgh"):
        assert secret not in clean
    assert "postgresql://loader:***@db:5432/warehouse" in clean


def test_no_channel_or_no_connection_leaves_the_alert_in_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_SLACK_ALERTS", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_ALERTS", raising=False)
    assert deliver(route_for("none"), "s", "b").delivered_to == "ops.alerts only (alert channel none)"
    slack = deliver(route_for("slack:#x"), "s", "b")
    assert (slack.delivered_to, slack.sent) == ("ops.alerts only (no `slack_alerts` connection for slack:#x)", True)
    assert deliver(route_for("email:a@b.c"), "s", "b").delivered_to.startswith("ops.alerts only (no `smtp_alerts`")


def test_email_goes_through_the_smtp_notifier_to_the_address(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    monkeypatch.setenv("AIRFLOW_CONN_SMTP_ALERTS", '{"conn_type": "smtp", "host": "127.0.0.1", "password": "pw42x"}')
    notifier, done, secrets = prepare(route_for("email:ops@example.com"), "Task failed: x", "a <b> & c")
    assert done is None and isinstance(notifier, SmtpNotifier)
    assert (notifier.to, notifier.subject, notifier.smtp_conn_id) == (
        "ops@example.com",
        "Task failed: x",
        "smtp_alerts",
    )
    assert notifier.html_content == "<pre>a &lt;b&gt; &amp; c</pre>"
    assert "pw42x" in secrets


@pytest.mark.parametrize("use_async", [False, True])
def test_slack_goes_through_the_webhook_notifier(monkeypatch: pytest.MonkeyPatch, use_async: bool) -> None:
    with WebhookServer() as server:
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", server.connection_json())
        route = route_for("slack:#media-data-alerts")
        send = asyncio.run(adeliver(route, "Deadline missed", "run x")) if use_async else deliver(route, "T", "x")
    assert (send.delivered_to, send.sent) == ("slack:#media-data-alerts", True)
    [body] = server.bodies
    assert body["text"].startswith("*Deadline missed*\nrun x" if use_async else "*T*\nx")
    assert "#media-data-alerts" in body["text"]


@pytest.mark.parametrize("use_async", [False, True])
def test_a_refused_webhook_is_an_outcome_without_the_url(monkeypatch: pytest.MonkeyPatch, use_async: bool) -> None:
    with WebhookServer(status=403) as server:
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", server.connection_json())
        route = route_for("slack:#x")
        send = asyncio.run(adeliver(route, "s", "b")) if use_async else deliver(route, "s", "b")
    assert not send.sent and send.delivered_to.startswith("failed to reach slack:#x")
    assert WEBHOOK_TOKEN not in send.delivered_to and "s3cr3t" not in send.delivered_to


@pytest.mark.parametrize("use_async", [False, True])
def test_email_is_mailed_through_the_smtp_notifier(monkeypatch: pytest.MonkeyPatch, use_async: bool) -> None:
    with SmtpSink() as sink:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_ALERTS", sink.connection_json())
        route = route_for("email:ops@example.com")
        body = "Run r1 of ingest_x: <boom>"
        send = (
            asyncio.run(adeliver(route, "Task failed: x", body))
            if use_async
            else deliver(route, "Task failed: x", body)
        )
    assert (send.delivered_to, send.sent) == ("email:ops@example.com", True)
    [mail] = sink.messages
    assert (mail["To"], mail["From"], mail["Subject"]) == ("ops@example.com", "alerts@example.com", "Task failed: x")
    [part] = [p for p in mail.walk() if p.get_content_type() == "text/html"]
    assert part.get_payload(decode=True).decode() == "<pre>Run r1 of ingest_x: &lt;boom&gt;</pre>"
