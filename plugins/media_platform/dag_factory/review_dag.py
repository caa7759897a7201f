"""Builds `eidr_review`: a review cycle of the EIDR review queue in Airflow's Required Actions, after each publish."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from textwrap import dedent
from typing import Any

from media_platform.config.settings import SettingsError
from media_platform.dag_factory.assets import reporting_asset

REVIEW_DAG_ID = "eidr_review"
REVIEW_QUEUE_TABLE = "eidr_review_queue"  # its publication (the publish task's outlet) starts a review cycle
MAX_ASSETS_ENV = "MEDIA_EIDR_REVIEW_MAX_ASSETS"  # assets per cycle, oldest in review first
TIMEOUT_ENV = "MEDIA_EIDR_REVIEW_TIMEOUT_MINUTES"  # how long a request waits for a reviewer
DEFAULT_MAX_ASSETS = 20
DEFAULT_TIMEOUT_MINUTES = 24 * 60.0

DOC_MD = dedent(
    """\
    ### EIDR review (Required Actions)
    Starts after every publish that published `reporting.eidr_review_queue` (and whenever triggered). Each of the
    oldest assets in the EIDR review band without an override (at most `max_assets`) becomes one
    human-in-the-loop task, listed under **Browse → Required Actions**: the asset, why it is in review and its top
    candidates with their scores and evidence. Choose a candidate, *None of these* (the asset has no EIDR ID) or
    *Leave in review*, and give a reason. A choice is recorded as an override in `eidr.overrides` (the responding
    user, the response time, the reason), exactly as `python -m eidr_matching override` records one, and reaches
    `reporting.eidr_mapping` with the next `publish_reporting` run. A request nobody answers within
    `response_timeout_minutes` leaves its asset in review; the next cycle offers it again. One cycle at a time.
    """
)


def _positive(name: str, default: float, environ: Mapping[str, str] | None) -> float:
    env = os.environ if environ is None else environ
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise SettingsError(f"{name}={raw!r} is not valid; expected a positive number")
    return value


def review_defaults(environ: Mapping[str, str] | None = None) -> tuple[int, float]:
    """(max_assets, response_timeout_minutes) of a cycle: the environment's, else 20 assets and 24 hours."""
    max_assets = _positive(MAX_ASSETS_ENV, DEFAULT_MAX_ASSETS, environ)
    if max_assets != int(max_assets):
        raise SettingsError(f"{MAX_ASSETS_ENV}={max_assets!r} is not valid; expected a whole number of assets")
    return int(max_assets), _positive(TIMEOUT_ENV, DEFAULT_TIMEOUT_MINUTES, environ)


def build_review_dag(environ: Mapping[str, str] | None = None) -> Any:
    """`eidr_review`: read the queue (`review_queue`), then one mapped EidrReviewOperator per asset."""
    from airflow.sdk import DAG, Param, task

    from media_platform.tasks.eidr_review import EidrReviewOperator

    max_assets, timeout_minutes = review_defaults(environ)
    with DAG(
        dag_id=REVIEW_DAG_ID,
        description="Work the EIDR review queue in Required Actions; decisions become overrides",
        schedule=reporting_asset(REVIEW_QUEUE_TABLE),
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,  # an asset is offered by one cycle at a time
        default_args={"owner": "data-platform", "retries": 0},
        tags=["eidr", "review"],
        doc_md=DOC_MD,
        params={
            "max_assets": Param(max_assets, type="integer", minimum=1, description="Assets offered in this cycle"),
            "response_timeout_minutes": Param(
                timeout_minutes, type="number", exclusiveMinimum=0, description="How long each request waits"
            ),
        },
    ) as dag:

        @task(task_id="read_review_queue")
        def read_review_queue(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
            from media_platform.tasks.eidr_review import review_requests
            from media_platform.tasks.warehouse_conn import resolve_warehouse_dsn

            chosen = params or {}
            requests = review_requests(resolve_warehouse_dsn(), int(chosen.get("max_assets") or max_assets))
            minutes = float(chosen.get("response_timeout_minutes") or timeout_minutes)
            return [{**request, "timeout_minutes": minutes} for request in requests]

        EidrReviewOperator.partial(task_id="review_asset", map_index_template="{{ task.asset_key }}").expand_kwargs(
            read_review_queue()
        )
    return dag
