"""Builds the status page's rows: provider YAMLs joined with Airflow's runs and the warehouse's figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from media_platform.config.constants import cron_expression
from media_platform.config.provider import load_provider_configs
from media_platform.config.settings import PlatformSettings
from media_platform.ui import charts
from media_platform.ui.queries import (
    CHART_DAYS,
    UnknownProvider,
    WarehouseFacts,
    airflow_state,
    unknown_providers,
    warehouse_dsn,
    warehouse_facts,
)
from media_platform.ui.status import ProviderRow, deadline_state, freshness, problems_first, schedule_period


@dataclass
class StatusPage:
    rows: list[ProviderRow]
    generated_at: datetime
    warehouse_error: str = ""
    missing_tables: list[str] = field(default_factory=list)
    hidden: int = 0  # providers whose DAG the user may not read
    unknown: list[UnknownProvider] = field(default_factory=list)  # provider ids in raw without a YAML


def _days(now: datetime) -> list[date]:
    first = (now - timedelta(days=CHART_DAYS - 1)).date()
    return [first + timedelta(days=offset) for offset in range(CHART_DAYS)]


def _charts(row: ProviderRow, facts: WarehouseFacts, lags: list[tuple[str, float]], days: list[date]) -> None:
    daily = facts.daily.get(row.provider_id, {})
    deliveries = [(f"{day:%a %d %b}", float(daily.get(day, (0, 0, 0))[0])) for day in days]
    rates = [
        (f"{day:%a %d %b}", (daily[day][2] / daily[day][1]) if day in daily and daily[day][1] else None) for day in days
    ]
    coverage = facts.coverage_daily.get(row.provider_id, {})
    shares = [(f"{day:%a %d %b}", coverage.get(day)) for day in days]
    row.charts = {
        "deliveries/day": charts.bars(deliveries, f"{row.provider_id}: deliveries per day", "{:,.0f} batches"),
        "quarantine rate": charts.line(rates, f"{row.provider_id}: quarantine rate per day"),
        "EIDR coverage": charts.line(shares, f"{row.provider_id}: EIDR coverage per day", top=1.0),
        "lag per run": charts.bars(
            lags[-CHART_DAYS:], f"{row.provider_id}: lag per run (end minus interval end)", "{:,.0f} min", CHART_DAYS
        ),
    }


def build_status_page(
    now: datetime,
    readable: Callable[[set[str]], set[str]],
    settings: PlatformSettings | None = None,
    dsn: str | None = None,
) -> StatusPage:
    """One row per provider YAML the user may see (`readable` filters DAG ids), problems first."""
    settings = settings or PlatformSettings.from_env()
    loaded = load_provider_configs(settings.providers_dir)
    configs = {config.dag_id: config for config in loaded.configs}
    allowed = readable(set(configs))
    visible = [config for dag_id, config in sorted(configs.items()) if dag_id in allowed]
    dags, runs, lags = airflow_state([config.dag_id for config in visible], now)
    providers = [config.provider_id for config in visible]
    configured = [config.provider_id for config in loaded.configs] + [error.path.stem for error in loaded.errors]
    unknown: list[UnknownProvider] = []
    try:
        dsn = dsn or warehouse_dsn()
        facts = warehouse_facts(dsn, providers, now)
        unknown = unknown_providers(dsn, configured)
    except Exception as err:  # no `warehouse` connection: the Airflow half of the page still helps
        facts = WarehouseFacts(error=f"warehouse connection unavailable: {err}")
    days = _days(now)
    rows: list[ProviderRow] = []
    for config in visible:
        deadline = timedelta(minutes=config.deadline_minutes)
        dag = dags.get(config.dag_id)
        run = runs.get(config.dag_id)
        row = ProviderRow(
            provider_id=config.provider_id,
            display_name=config.display_name,
            dag_id=config.dag_id,
            schedule=config.schedule,
            deadline=config.deadline,
            owner=config.owner,
            alert_channel=config.alert_channel,
            in_airflow=dag is not None and not dag.has_import_errors,
            paused=dag.is_paused if dag else None,
            run=run,
            deadline_state=deadline_state(run, deadline, now),
            freshness=freshness(
                facts.newest_load.get(config.provider_id),
                schedule_period(cron_expression(config.schedule), now),
                deadline,
                now,
            ),
            last_published=facts.last_published.get(config.provider_id),
            counts=facts.counts.get(config.provider_id, ProviderRow(config.provider_id).counts),
            top_reasons=facts.top_reasons.get(config.provider_id, []),
            coverage=facts.coverage.get(config.provider_id),
            review_backlog=facts.review_backlog.get(config.provider_id, 0),
            alerts=facts.alerts.get(config.provider_id, []),
            anomalies=facts.anomalies.get(config.provider_id, []),
        )
        _charts(row, facts, lags.get(config.dag_id, []), days)
        rows.append(row)
    for error in loaded.errors:
        rows.append(ProviderRow(provider_id=error.path.stem, config_error=str(error)))
    return StatusPage(
        rows=problems_first(rows),
        generated_at=now,
        warehouse_error=facts.error,
        missing_tables=facts.missing_tables,
        hidden=len(configs) - len(visible),
        unknown=unknown,
    )
