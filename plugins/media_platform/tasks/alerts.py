"""Alerts to a provider's channel (Slack webhook or email): deadline misses and task failures."""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

log = logging.getLogger(__name__)

SLACK_CONN_ID = "slack_alerts"  # an HTTP connection whose password (or host) holds the incoming-webhook URL


def send_alert(channel: str, subject: str, text: str) -> str:
    """Send one alert to `slack:#channel` or `email:address`; returns how it went out, or why it was only logged."""
    kind, _, target = channel.partition(":")
    log.warning("ALERT to %s: %s\n%s", channel, subject, text)
    if kind == "slack":
        return _send_slack(target, subject, text)
    if kind == "email":
        return _send_email(target, subject, text)
    return "logged"


def _send_slack(slack_channel: str, subject: str, text: str) -> str:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(SLACK_CONN_ID)
    except AirflowNotFoundException:
        return f"logged (no `{SLACK_CONN_ID}` connection configured)"
    url = conn.password or conn.host
    if not url:
        raise ValueError(f"the `{SLACK_CONN_ID}` connection holds no webhook URL: set its password (or host)")
    body = json.dumps({"channel": slack_channel, "text": f"*{subject}*\n{text}"}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - operator-configured webhook
        return f"slack {response.status}"


def _send_email(address: str, subject: str, text: str) -> str:
    from airflow.configuration import conf

    if not conf.get("smtp", "smtp_host", fallback=None):
        return "logged (no SMTP configured)"
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook() as hook:
        hook.send_email_smtp(to=address, subject=subject, html_content=f"<pre>{text}</pre>")
    return "email"


def deadline_missed(context: Any = None, *, channel: str, dag_id: str, deadline: str, **_: Any) -> str:
    """Deadline-alert callback: the run was not done within the provider's deadline."""
    run_id = _context_value(context, "dag_run", "run_id")
    return send_alert(
        channel,
        f"Deadline missed: {dag_id}",
        f"Run {run_id or '?'} of {dag_id} was not finished within {deadline} of being queued.",
    )


def task_failed(context: dict[str, Any], *, channel: str) -> None:
    """on_failure_callback: names the DAG, task and try so the alert explains itself."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", "?")
    send_alert(
        channel,
        f"Task failed: {dag_id}.{getattr(ti, 'task_id', '?')}",
        f"Run {getattr(ti, 'run_id', '?')}, try {getattr(ti, 'try_number', '?')}: {context.get('exception')}",
    )


def _context_value(context: Any, *path: str) -> Any:
    value = context
    for key in path:
        if value is None:
            return None
        value = value.get(key) if isinstance(value, dict) else getattr(value, key, None)
    return value
