"""A watched provider's delivery asset: updated by its drop-folder watcher, it triggers the provider's DAG."""

from __future__ import annotations

from typing import Any

from media_platform.config.constants import cron_expression
from media_platform.config.provider import ProviderConfig


def delivery_asset(config: ProviderConfig) -> Any:
    """Asset media-platform://delivery/<provider> with a DropFolderTrigger watching the provider's location.

    The trigger polls in the triggerer; each delivery it finds is an asset event, which queues an asset-triggered
    run of `ingest_<provider>`. A fired file waits for its run up to the provider's deadline before it fires again.
    """
    from airflow.sdk import Asset, AssetWatcher

    from media_platform.triggers.drop_folder import DropFolderTrigger

    source = config.source
    trigger = DropFolderTrigger(
        provider_id=config.provider_id,
        location=source.location,
        file_glob=source.file_glob,
        date_in_path=source.date_in_path,
        pick_by=source.pick_by.value,
        schedule=cron_expression(config.schedule),
        start_date=config.start_date.isoformat(),
        poll_seconds=source.watch_poll_seconds,
        refire_after_seconds=config.deadline_minutes * 60,
    )
    return Asset(
        name=f"delivery_{config.provider_id}",
        uri=f"media-platform://delivery/{config.provider_id}",
        group="delivery",
        watchers=[AssetWatcher(name=f"drop_folder_{config.provider_id}", trigger=trigger)],
    )
