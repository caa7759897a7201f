"""Builds `publish_reporting`: the shared marts, written to `audit`, checked by GX, published to `reporting`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from textwrap import dedent
from typing import Any

from media_platform.config.constants import AUDIT_SCHEMA, PUBLISH_WAREHOUSE_CONN_ID, REPORTING_SCHEMA
from media_platform.config.dbt_manifest import publish_keys, published_marts
from media_platform.config.provider import ProviderConfig
from media_platform.config.settings import PlatformSettings
from media_platform.dag_factory.assets import any_asset, reporting_asset, staging_asset
from media_platform.dag_factory.callbacks import audit_failure_callback
from media_platform.dag_factory.dbt_groups import dbt_task_group, dbt_test_task, dbt_vars, deploy_views_task

PUBLISH_DAG_ID = "publish_reporting"
REGISTRY_FORMAT = "eidr_registry"  # the ingest format of the EIDR registry export


DOC_MD = dedent(
    """\
    ### Publish reporting (write, audit, publish)
    Runs whenever any provider's staging is updated (Airflow assets), one run at a time, so the shared marts are
    never built concurrently by several provider DAGs.

    0. `check_inputs`: when nothing the marts are built from changed since the last completed publish (ingest
       batches, EIDR overrides, the dbt project), every later task is skipped and the log says so. Trigger with
       `{"force": true}` to build anyway.
    1. `build_intermediate`: re-creates the dbt views if the project changed (`deploy_views`), then tests the
       intermediate models (all formats' titles, unioned).
    2. `match_eidr`: the EIDR matcher scores new or changed assets against the registry mirror (all assets after
       a registry load) and writes `eidr.match_results` / `eidr.match_candidates`; overrides always win.
    3. `build_marts`: one `dbt build` (`dbt_producer_watcher`) builds and tests the marts into the `audit` schema
       (`titles` is incremental and carries the EIDR mapping; `eidr_mapping`, `eidr_review_queue`,
       `eidr_coverage`, `availability_windows`); each mart's `run` and `test` task shows that mart's outcome.
    4. `audit_marts`: Great Expectations validates the delta of each published mart (those marked
       `meta: {publish: true}` in their model YAML): its rows in `audit` changed since the last publish. A record
       breaking a record-level rule is written to `audit.quarantine` (rule, reason, provider, key, batch) and held
       back; a table-level failure (missing or duplicate keys, a collapsed row count, broken reconciliation)
       fails this task with the failures in its log, and `reporting` is untouched. Data docs keep the last runs.
    5. `publish`: merges the audited deltas into `reporting` by their keys in one transaction (tombstones delete,
       quarantined records keep their published version, watermarks move with it; tables, indexes and grants
       stay), completes the reconciliation in `provider_deliveries` and returns the counts per table.
    6. `record_inputs`: remembers what this publish was built from, for the next run's `check_inputs`.
    7. `dbt_docs`: regenerates the dbt docs (lineage) into the artifacts folder.
    """
)


def build_publish_dag(configs: tuple[ProviderConfig, ...], settings: PlatformSettings) -> Any:
    """The single DAG that owns the shared marts and their publication."""
    from airflow.sdk import DAG, Param, TaskGroup, task
    from cosmos.operators.local import DbtDocsLocalOperator

    from media_platform.dag_factory.dbt_groups import cosmos_profile_config, cosmos_project_kwargs
    from media_platform.tasks.dbt_docs import save_dbt_docs

    tables = published_marts(settings.dbt_manifest_path)
    # The registry mirror is reference data for matching: its batches are not published record by record.
    reference_providers = [config.provider_id for config in configs if config.format == REGISTRY_FORMAT]
    schedule = any_asset([staging_asset(config.provider_id) for config in configs])
    with DAG(
        dag_id=PUBLISH_DAG_ID,
        description="Build the shared marts into audit, validate them with GX, publish to reporting",
        schedule=schedule,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        default_args={
            "owner": "data-platform",
            "retries": 1 if settings.task_retries is None else settings.task_retries,
            "retry_delay": timedelta(minutes=2),
        },
        tags=["publish", "reporting"],
        doc_md=DOC_MD,
        params={"force": Param(False, type="boolean", description="Build and publish even when no input changed")},
    ) as dag:
        configured = dbt_vars(config.provider_id for config in configs)

        @task.short_circuit(task_id="check_inputs")
        def check_inputs(params: dict[str, Any] | None = None) -> str | None:
            import logging

            import psycopg2

            from media_platform.config.dbt_manifest import load_manifest, project_checksum
            from media_platform.tasks.publish_inputs import current_fingerprint, last_published_fingerprint
            from media_platform.tasks.warehouse_conn import resolve_warehouse_dsn

            log = logging.getLogger("airflow.task")
            checksum = project_checksum(load_manifest(settings.dbt_manifest_path), configured)
            with psycopg2.connect(resolve_warehouse_dsn()) as conn:
                fingerprint = current_fingerprint(conn, checksum)
                last = last_published_fingerprint(conn)
            conn.close()
            if fingerprint == last and not (params or {}).get("force"):
                log.info("nothing changed since the last publish (batches, overrides, dbt project): skipping")
                return None
            return fingerprint

        @task(task_id="record_inputs")
        def record_inputs(fingerprint: Any, run_id: str | None = None) -> None:
            import psycopg2

            from media_platform.tasks.publish_inputs import record_published_fingerprint
            from media_platform.tasks.warehouse_conn import resolve_warehouse_dsn

            conn = psycopg2.connect(resolve_warehouse_dsn())
            try:
                record_published_fingerprint(conn, fingerprint, run_id)
            finally:
                conn.close()

        inputs = check_inputs()
        with TaskGroup("build_intermediate") as intermediate:
            deploy_views_task(settings, configured) >> dbt_test_task(
                "test", "path:models/intermediate", settings, configured
            )
        marts = dbt_task_group("build_marts", ["path:models/marts"], settings, configured)

        @task(task_id="match_eidr")
        def match_eidr() -> dict[str, Any]:
            import logging

            from media_platform.tasks.matching import run_matching

            log = logging.getLogger("airflow.task")
            return run_matching(lambda line: log.info("%s", line))

        @task(task_id="audit_marts", on_failure_callback=audit_failure_callback())
        def audit_marts() -> dict[str, Any]:
            from media_platform.audit.gx_checkpoint import raise_for_result, run_audit
            from media_platform.tasks.warehouse_conn import resolve_warehouse_dsn

            keys = publish_keys(settings.dbt_manifest_path)
            result = run_audit(
                resolve_warehouse_dsn(), AUDIT_SCHEMA, list(tables), settings.gx_root_dir, keys, REPORTING_SCHEMA
            )
            raise_for_result(result)
            return result.summary()

        @task(task_id="publish", outlets=[reporting_asset(table) for table in tables])
        def publish(audited: Any) -> dict[str, Any]:
            from media_platform.tasks.publish import publish_tables
            from media_platform.tasks.warehouse_conn import resolve_warehouse_dsn

            keys = publish_keys(settings.dbt_manifest_path)
            return dict(
                publish_tables(
                    resolve_warehouse_dsn(PUBLISH_WAREHOUSE_CONN_ID),  # the publisher: the only writer of reporting
                    list(tables),
                    keys,
                    AUDIT_SCHEMA,
                    REPORTING_SCHEMA,
                    audited=audited["deltas"],
                    reference_providers=reference_providers,
                )
            )

        docs = DbtDocsLocalOperator(
            task_id="dbt_docs",
            profile_config=cosmos_profile_config(),
            callback=save_dbt_docs,
            callback_args={"destination": str(settings.dbt_docs_dir)},
            **cosmos_project_kwargs(settings),
        )
        audited = audit_marts()
        inputs >> intermediate >> match_eidr() >> marts >> audited
        publish(audited) >> record_inputs(inputs) >> docs
    return dag
