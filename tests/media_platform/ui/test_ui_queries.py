"""The status page's warehouse figures include the alert incidents the notification module records in ops.alerts."""

from __future__ import annotations

from datetime import UTC, datetime

from media_platform.notifications.notify import Alert, AlertKind, notify
from media_platform.ui.queries import warehouse_facts


def test_recorded_alert_incidents_show_on_the_status_page(warehouse_dsn: str) -> None:
    provider = f"ui_alerts_{datetime.now(UTC):%H%M%S%f}"
    alert = Alert(
        kind=AlertKind.TASK_FAILURE,
        summary=f"{provider}: extract_load failed",
        detail="no such folder",
        channel="none",
        incident_key=f"task_failure:ingest_{provider}.extract_load",
        provider_id=provider,
    )
    notify(alert, dsn=warehouse_dsn)
    notify(alert, dsn=warehouse_dsn)  # the same incident again: grouped, shown once with its count

    facts = warehouse_facts(warehouse_dsn, [provider, "someone_else"], datetime.now(UTC))

    assert not facts.error
    assert facts.alerts[provider] == [f"{provider}: extract_load failed (x2)"]
    assert facts.alerts["someone_else"] == []
