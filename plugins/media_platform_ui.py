"""Airflow plugin: the platform's operator pages (provider status, dbt docs, GX data docs) under Browse in the UI."""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from media_platform.ui.app import URL_PREFIX, create_app, external_views


class MediaPlatformUiPlugin(AirflowPlugin):
    """Mounts the pages' FastAPI app on the API server and lists them in the UI; the app checks the Airflow login
    itself, because Airflow does not authenticate plugin apps (apache/airflow#72655)."""

    name = "media_platform_ui"
    fastapi_apps: list[dict[str, Any]] = [{"name": "media_platform_ui", "app": create_app(), "url_prefix": URL_PREFIX}]
    external_views: list[dict[str, Any]] = external_views()
