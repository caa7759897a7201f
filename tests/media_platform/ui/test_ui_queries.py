"""The status page's warehouse figures: the alert incidents the notification module records in ops.alerts, and the
provider ids in raw that have no YAML."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from media_platform.notifications.notify import Alert, AlertKind, notify
from media_platform.ui.queries import unknown_providers, warehouse_facts


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


def _batch(cur: Any, batch_id: str, provider_id: str, records: int) -> None:
    cur.execute(
        "insert into raw.ingest_batches values (%s, %s, 'adi', '2026-11-02', '2026-11-03', 1, %s, %s, 0, 10, now(),"
        " now())",
        (batch_id, provider_id, records, records),
    )


def test_provider_ids_in_raw_without_a_yaml_are_listed_with_their_counts(warehouse_dsn: str) -> None:
    from ingest.load import warehouse

    conn = warehouse.connect(warehouse_dsn)
    warehouse.ensure_tables(conn)
    with conn, conn.cursor() as cur:
        cur.execute("delete from raw.ingest_batches where batch_id like 'ui-unknown-%'")
        _batch(cur, "ui-unknown-1", "ui_configured", 5)
        _batch(cur, "ui-unknown-2", "ui_typo_provider", 7)
        _batch(cur, "ui-unknown-3", "ui_typo_provider", 3)
    try:
        found = {entry.provider_id: entry for entry in unknown_providers(warehouse_dsn, ["ui_configured"])}
        assert "ui_configured" not in found
        typo = found["ui_typo_provider"]
        assert (typo.batches, typo.records_read) == (2, 10) and typo.last_seen is not None
        assert "ui_typo_provider" not in {e.provider_id for e in unknown_providers(warehouse_dsn, list(found))}
    finally:
        with conn, conn.cursor() as cur:
            cur.execute("delete from raw.ingest_batches where batch_id like 'ui-unknown-%'")
        conn.close()
