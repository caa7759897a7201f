"""Airflow assets that connect provider DAGs to the publish DAG; stable names, independent of warehouse host."""

from __future__ import annotations

from airflow.sdk import Asset


def staging_asset(provider_id: str) -> Asset:
    """Updated when a provider's raw batch and staging models are ready."""
    return Asset(name=f"staging_{provider_id}", uri=f"media-platform://staging/{provider_id}", group="staging")


def reporting_asset(table: str) -> Asset:
    """Updated when a reporting table is published."""
    return Asset(name=f"reporting_{table}", uri=f"media-platform://reporting/{table}", group="reporting")
