"""Alerts: where each goes (a provider's `alert_channel`), the `ops.alerts` table, and the Airflow callbacks."""
