"""Builds one `ingest_<provider>` DAG per provider config: extract_load, then the provider's dbt staging models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from textwrap import dedent
from typing import Any

from media_platform.config.constants import WAREHOUSE_LOADS_POOL, cron_expression
from media_platform.config.provider import ProviderConfig
from media_platform.config.settings import PlatformSettings
from media_platform.dag_factory.assets import staging_asset
from media_platform.dag_factory.callbacks import deadline_alert, deadline_guard_callback, failure_callback
from media_platform.dag_factory.dbt_groups import dbt_test_task, dbt_vars, deploy_views_task


def shared_default_args(config: ProviderConfig, settings: PlatformSettings) -> dict[str, Any]:
    """default_args every provider DAG shares; the YAML sets owner and retries."""
    return {
        "owner": config.owner,
        "retries": config.retries if settings.task_retries is None else settings.task_retries,
        "retry_delay": timedelta(minutes=config.retry_delay_minutes),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(hours=1),
        "on_failure_callback": failure_callback(config),
    }


def data_interval_timetable(schedule: str) -> Any:
    """A cron timetable with real data intervals, so each run owns [data_interval_start, data_interval_end)."""
    from airflow.sdk import CronDataIntervalTimetable

    return CronDataIntervalTimetable(cron_expression(schedule), timezone="UTC")


def provider_schedule(config: ProviderConfig) -> Any:
    """The provider's cron timetable (the sweep: one run per interval, what backfill plans with); for a watched
    source (`source.watch`) combined with its delivery asset, so a delivery also starts a run within seconds.

    An asset-triggered run has no data interval of its own; its extract_load loads the schedule interval its
    delivery belongs to (the `run_interval` macro), the interval the sweep replaces too, so both replace it with
    the same files and neither loads a file under a second interval.
    """
    timetable = data_interval_timetable(config.schedule)
    if not config.source.watch:
        return timetable
    from airflow.sdk import AssetOrTimeSchedule

    from media_platform.triggers.delivery import delivery_asset

    return AssetOrTimeSchedule(timetable=timetable, assets=delivery_asset(config))


def run_interval_macros(config: ProviderConfig) -> dict[str, Any]:
    """The DAG's user-defined macros: `run_interval(dag_run)`, the data interval an asset-triggered run ingests."""
    from media_platform.triggers.intervals import RunInterval

    return {"run_interval": RunInterval(cron_expression(config.schedule), config.provider_id)}


def provider_doc_md(config: ProviderConfig) -> str:
    return dedent(
        f"""\
        ### {config.display_name} (`{config.provider_id}`)
        {config.description.strip()}

        | | |
        |---|---|
        | format | `{config.format.value}` |
        | transport | `{config.source.transport.value}` at `{config.source.location}` (`{config.source.file_glob}`, \
delivery-date folders `{config.source.date_in_path}`) |
        | schedule | `{config.schedule}` (UTC), deadline {config.deadline} after the run is queued |
        | delivery watch | {_watch_doc(config)} |
        | owner / alerts | {config.owner} / `{config.alert_channel}` |

        **Tasks**: `extract_load` reads the interval's deliveries into `raw` (bad records to `raw.quarantine`),
        `transform_staging` re-creates the dbt views if the project changed (`deploy_views`) and tests the
        provider's rows in its format's staging models (`test`), `staging_ready` updates the asset that schedules
        `publish_reporting`. Re-running an interval replaces that interval's rows.
        """
    )


def _watch_doc(config: ProviderConfig) -> str:
    if not config.source.watch:
        return "off: deliveries are read by the scheduled run of their interval"
    return (
        f"on: a delivery starts a run within about {config.source.watch_poll_seconds:g} s (asset "
        f"`media-platform://delivery/{config.provider_id}`); the scheduled run still sweeps every interval"
    )


def build_provider_dag(config: ProviderConfig, settings: PlatformSettings, providers: Sequence[str]) -> Any:
    """The `ingest_<provider>` DAG: extract_load >> transform_staging >> staging_ready. `providers` are all
    configured provider ids (dbt deploys the views with them)."""
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG, TaskGroup

    from media_platform.tasks.extract_load import build_extract_load_task
    from media_platform.tasks.ingest_cli import INTERVAL_END, INTERVAL_START

    with DAG(
        dag_id=config.dag_id,
        description=f"Ingest {config.display_name} ({config.format.value}) into raw and staging",
        schedule=provider_schedule(config),
        user_defined_macros=run_interval_macros(config),
        start_date=config.start_datetime,
        catchup=config.catchup,
        max_active_runs=1,
        default_args=shared_default_args(config, settings),
        tags=["provider", config.format.value, *config.tags],
        doc_md=provider_doc_md(config),
        deadline=deadline_alert(config, config.dag_id) if settings.deadline_alerts else None,
    ) as dag:
        extract_load = build_extract_load_task(config, settings.execution_mode)
        extract_load.pool = WAREHOUSE_LOADS_POOL
        if settings.deadline_alerts:
            extract_load.on_execute_callback = [deadline_guard_callback()]
        with TaskGroup("transform_staging") as staging:
            # the provider's rows of the run's data interval: the test costs the delivery, not the history
            own_slice = dbt_vars(
                providers,
                provider_id=config.provider_id,
                test_interval_start=INTERVAL_START,
                test_interval_end=INTERVAL_END,
            )
            tests = dbt_test_task("test", config.dbt_staging_selector, settings, own_slice)
            deploy_views_task(settings, dbt_vars(providers)) >> tests
        ready = EmptyOperator(task_id="staging_ready", outlets=[staging_asset(config.provider_id)])
        extract_load >> staging >> ready
    return dag
