"""The deploy_views task: re-create the staging and intermediate views only when their definition changed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cosmos.operators.local import DbtRunLocalOperator

from media_platform.config.dbt_manifest import load_manifest, views_to_deploy

log = logging.getLogger(__name__)

DEPLOY_SCHEMA = "dbt_deploy"
DEPLOY_TABLE = f"{DEPLOY_SCHEMA}.deployed_views"
# pg_advisory_lock key held while views are re-created, so two DAG runs never re-create the same view at once.
DEPLOY_LOCK_KEY = 8_008_001


def deploy_views(
    dsn: str,
    manifest_path: Path,
    run_dbt: Callable[[Sequence[str]], None],
    dbt_vars: Mapping[str, Any] | None = None,
) -> list[str]:
    """Re-create the staging and intermediate views whose definition changed since they were last deployed.

    `run_dbt(model_names)` runs `dbt run` for those models, with `dbt_vars`; a change of the vars (a provider
    added or removed) counts as a change of every view. Nothing runs when the project is unchanged, so every DAG
    run may call this; a session advisory lock makes concurrent callers wait, and the second finds nothing to do.
    Returns the names of the models it ran.
    """
    import psycopg2

    manifest = load_manifest(manifest_path)
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("select pg_advisory_lock(%s)", (DEPLOY_LOCK_KEY,))
            try:
                cur.execute(
                    f"do $$ begin if to_regnamespace('{DEPLOY_SCHEMA}') is null then create schema {DEPLOY_SCHEMA};"
                    " end if; end $$;"  # `if not exists` needs the right to create schemas even when it exists
                    f" create table if not exists {DEPLOY_TABLE} ("
                    " relation text primary key, checksum text not null, deployed_at timestamptz not null)"
                )
                cur.execute(f"select relation, checksum from {DEPLOY_TABLE}")  # noqa: S608 - fixed name
                deployed = dict(cur.fetchall())
                cur.execute("select schemaname || '.' || viewname from pg_views")
                existing = [row[0] for row in cur.fetchall()]
                views = views_to_deploy(manifest, deployed, existing, dbt_vars)
                if not views:
                    log.info("dbt views unchanged: nothing to deploy")
                    return []
                names = [view.name for view in views]
                log.info("deploying dbt views: %s", ", ".join(names))
                run_dbt(names)
                cur.executemany(
                    f"insert into {DEPLOY_TABLE} (relation, checksum, deployed_at) values (%s, %s, now())"  # noqa: S608
                    " on conflict (relation) do update set checksum = excluded.checksum, deployed_at = now()",
                    [(view.relation, view.checksum) for view in views],
                )
                return names
            finally:
                cur.execute("select pg_advisory_unlock(%s)", (DEPLOY_LOCK_KEY,))
    finally:
        conn.close()


class DeployViewsOperator(DbtRunLocalOperator):
    """`dbt run` of the views whose definition changed since the warehouse last deployed them; else nothing."""

    def __init__(self, manifest_path: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.manifest_path = manifest_path

    def execute(self, context: Any, **kwargs: Any) -> list[str]:
        from media_platform.tasks.warehouse_conn import resolve_warehouse_dsn

        def run_dbt(models: Sequence[str]) -> None:
            self.select = " ".join(models)
            super(DeployViewsOperator, self).execute(context, **kwargs)

        return deploy_views(resolve_warehouse_dsn(), Path(self.manifest_path), run_dbt, self.vars)
