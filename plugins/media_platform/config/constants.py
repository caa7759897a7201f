"""Names shared across the platform: formats, transports, execution modes, schemas."""

from __future__ import annotations

from enum import StrEnum


class SourceFormat(StrEnum):
    """Delivery formats the ingest package can parse."""

    ADI = "adi"
    MEC = "mec"
    MMC = "mmc"
    AVAILS_XML = "avails_xml"
    AVAILS_XLSX = "avails_xlsx"
    CSV = "csv"
    JSON = "json"
    EIDR_REGISTRY = "eidr_registry"


class Transport(StrEnum):
    """Where deliveries are picked up from."""

    LOCAL = "local"
    S3 = "s3"
    SFTP = "sftp"
    HTTP = "http"
    API = "api"


class PickBy(StrEnum):
    """How files are matched to a data interval."""

    PATH_DATE = "path_date"
    MODIFIED_TIME = "modified_time"


class ExecutionMode(StrEnum):
    """How the ingest step runs: in a Kubernetes pod, or as a local subprocess with the same entrypoint."""

    KUBERNETES = "kubernetes"
    LOCAL = "local"


WAREHOUSE_CONN_ID = "warehouse"
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
