"""Where an alert goes (`slack:#channel`, `email:address`, `none`) and its delivery through the providers' notifiers."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SLACK_CONN_ENV, SLACK_CONN_DEFAULT = "MEDIA_SLACK_CONN_ID", "slack_alerts"  # a `slackwebhook` connection
SMTP_CONN_ENV, SMTP_CONN_DEFAULT = "MEDIA_SMTP_CONN_ID", "smtp_alerts"  # an `smtp` connection
FROM_EMAIL_ENV = "MEDIA_ALERT_FROM_EMAIL"  # else the SMTP connection's extra `from_email`
NO_CHANNEL = "none"
SLACK_TEXT_LIMIT = 3500  # Slack truncates longer messages; the whole detail stays in ops.alerts

_CHANNEL = re.compile(r"^(?:slack:(#[\w-]+)|email:([^@\s]+@[^@\s]+)|(none))$")
# scheme://user:password@ (DSNs, SMTP URLs) and Slack webhook paths, wherever they appear in a message
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/\s@]*:)[^@\s]+@", re.IGNORECASE)
_SLACK_WEBHOOK = re.compile(r"(hooks\.slack\.com/services/)\S+", re.IGNORECASE)
_REDACTED = "***"


class ChannelError(ValueError):
    """An alert channel is not `slack:#channel`, `email:address` or `none`."""


class RouteKind(StrEnum):
    SLACK = "slack"
    EMAIL = "email"
    NONE = "none"


@dataclass(frozen=True)
class Route:
    """Where one alert goes: a Slack channel, an email address, or nowhere but ops.alerts and the log."""

    kind: RouteKind
    target: str = ""

    def __str__(self) -> str:
        return NO_CHANNEL if self.kind is RouteKind.NONE else f"{self.kind.value}:{self.target}"


def route_for(channel: str | None) -> Route:
    """Parse a provider's `alert_channel`; empty means `none`. The one place that decides where alerts go."""
    match = _CHANNEL.match((channel or NO_CHANNEL).strip())
    if not match:
        raise ChannelError(f"alert channel {channel!r}: expected slack:#channel, email:address or none")
    slack, email, _ = match.groups()
    if slack:
        return Route(RouteKind.SLACK, slack)
    if email:
        return Route(RouteKind.EMAIL, email)
    return Route(RouteKind.NONE)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` without the given secrets, URL passwords or Slack webhook paths: alerts and logs never carry them."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, _REDACTED)
    text = _URL_PASSWORD.sub(rf"\1{_REDACTED}@", text)
    return _SLACK_WEBHOOK.sub(rf"\1{_REDACTED}", text)


def slack_text(route: Route, subject: str, body: str) -> str:
    """The Slack message: subject in bold, the body below; the channel is named because a webhook has its own."""
    text = f"*{subject}*\n{body}\n_(alert channel {route.target})_"
    return text if len(text) <= SLACK_TEXT_LIMIT else text[: SLACK_TEXT_LIMIT - 20] + "\n… (truncated)"


def email_html(body: str) -> str:
    return f"<pre>{html.escape(body)}</pre>"


@dataclass(frozen=True)
class Delivery:
    """How one delivery went: `delivered_to` is what ops.alerts shows; `sent` is false only when the channel
    refused or could not be reached, so the next occurrence tries again (no channel or no connection configured
    means the alert is where it belongs: ops.alerts and the log)."""

    delivered_to: str
    sent: bool


def _connection(conn_id: str) -> Any | None:
    """The Airflow connection, or None when it is not configured (the local default)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def _secrets_of(conn: Any) -> list[str | None]:
    from airflow.sdk.log import mask_secret

    secrets = [conn.password, conn.host if conn.host and "://" in conn.host else None]
    for secret in secrets:
        if secret:
            mask_secret(secret)
    return secrets


def prepare(route: Route, subject: str, body: str) -> tuple[Any, Delivery | None, list[str | None]]:
    """The notifier for `route` (SlackWebhookNotifier or SmtpNotifier), or the delivery that needs none (no channel,
    no connection configured), and the secrets to keep out of an error message. Looks up connections: call it
    off the event loop."""
    if route.kind is RouteKind.NONE:
        return None, Delivery("ops.alerts only (alert channel none)", sent=True), []
    if route.kind is RouteKind.SLACK:
        conn_id = os.environ.get(SLACK_CONN_ENV, SLACK_CONN_DEFAULT)
        conn = _connection(conn_id)
        if conn is None:
            return None, Delivery(f"ops.alerts only (no `{conn_id}` connection for {route})", sent=True), []
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        text = slack_text(route, subject, body)
        # No retry handlers: slack_sdk's retry logs the webhook URL; the next occurrence of the alert retries.
        notifier: Any = SlackWebhookNotifier(slack_webhook_conn_id=conn_id, text=text, timeout=10, retry_handlers=[])
        return notifier, None, _secrets_of(conn)
    conn_id = os.environ.get(SMTP_CONN_ENV, SMTP_CONN_DEFAULT)
    conn = _connection(conn_id)
    if conn is None:
        return None, Delivery(f"ops.alerts only (no `{conn_id}` connection for {route})", sent=True), []
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    notifier = SmtpNotifier(
        to=route.target,
        from_email=os.environ.get(FROM_EMAIL_ENV) or None,
        subject=subject,
        html_content=email_html(body),
        smtp_conn_id=conn_id,
    )
    return notifier, None, _secrets_of(conn)


def deliver(route: Route, subject: str, body: str) -> Delivery:
    """Send through the provider's notifier (sync: task callbacks). Never raises: a failure is the outcome."""
    notifier, done, secrets = prepare(route, subject, body)
    if done is not None:
        return done
    try:
        # notify(), not notifier(context): calling it would render the message as a Jinja template.
        notifier.notify({})
    except Exception as error:  # noqa: BLE001 - an alert that cannot go out must not fail the caller
        return Delivery(f"failed to reach {route}: {redact(repr(error), secrets)}", sent=False)
    return Delivery(str(route), sent=True)


async def adeliver(route: Route, subject: str, body: str) -> Delivery:
    """Send through the notifier's async path (the triggerer: deadline callbacks). Never raises."""
    import asyncio

    notifier, done, secrets = await asyncio.to_thread(prepare, route, subject, body)
    if done is not None:
        return done
    try:
        await notifier.async_notify({})
    except Exception as error:  # noqa: BLE001 - an alert that cannot go out must not fail the callback
        return Delivery(f"failed to reach {route}: {redact(repr(error), secrets)}", sent=False)
    return Delivery(str(route), sent=True)
