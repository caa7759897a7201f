"""Names shared across the platform: formats, transports (from the ingest contract), execution modes, schemas."""

from __future__ import annotations

from enum import StrEnum

from ingest import contract

# The ingest package owns the format and transport names (its registries) and the pick-by values (its CLI
# contract); the provider config validates against these enums, built from them so they are never typed twice.
SourceFormat = StrEnum("SourceFormat", {name.upper(): name for name in contract.format_names()})  # type: ignore[misc]
Transport = StrEnum("Transport", {name.upper(): name for name in contract.transport_names()})  # type: ignore[misc]
PickBy = contract.PickBy


class ExecutionMode(StrEnum):
    """How the ingest step runs: in a Kubernetes pod, or as a local subprocess with the same entrypoint."""

    KUBERNETES = "kubernetes"
    LOCAL = "local"


# One Airflow connection per warehouse role (media_platform.warehouse.roles): `warehouse` is the transformer's
# (dbt, GX, EIDR matching, alerts, the status page), the ingest and the publish have their own.
WAREHOUSE_CONN_ID = "warehouse"
INGEST_WAREHOUSE_CONN_ID = "warehouse_ingest"  # ingest_writer: the local ingest subprocess (pods get a secret)
PUBLISH_WAREHOUSE_CONN_ID = "warehouse_publish"  # publisher: the publish task, the only writer of reporting
WAREHOUSE_LOADS_POOL = "warehouse_loads"  # bounds concurrent bulk loads across providers (airflow_settings.yaml)
RAW_SCHEMA = "raw"
AUDIT_SCHEMA = "audit"
REPORTING_SCHEMA = "reporting"
EXECUTION_MODE_ENV = "MEDIA_EXECUTION_MODE"


# Schedule presets a provider YAML may use, and the cron expression each stands for (UTC).
CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
}


def cron_expression(schedule: str) -> str:
    """A provider schedule (preset or cron) as a cron expression."""
    return CRON_PRESETS.get(schedule, schedule)
