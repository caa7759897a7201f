"""Fixtures of the integration tests that start the real Airflow components on a deployment of their own."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from local_stack.airflow_components import COMPONENTS, AirflowComponents, migrate_metadata, running_airflow


def _rows(dsn: str, sql: str, params: tuple) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


@dataclass(frozen=True)
class Deployment:
    """A module's own warehouse and Airflow metadata databases, its own folders (providers, drop root, logs,
    artifacts) and the environment that points Airflow, dbt, GX and the ingest at them: a scheduler started on it
    sees only the module's DAGs and runs."""

    warehouse: str  # libpq URL
    metadata: str  # libpq URL
    root: Path
    env: dict[str, str]

    @property
    def providers(self) -> Path:
        return self.root / "providers"

    @property
    def drop(self) -> Path:
        return self.root / "drop"

    @property
    def logs(self) -> Path:
        """Component logs here, task logs under `tasks/`."""
        return self.root / "logs"

    def warehouse_rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        return _rows(self.warehouse, sql, params)

    def metadata_rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        return _rows(self.metadata, sql, params)

    def airflow(
        self, extra_env: Mapping[str, str] | None = None, components: Sequence[str] = COMPONENTS
    ) -> AbstractContextManager[AirflowComponents]:
        """The real components on this deployment (`extra_env` on top of its environment), healthy on entry and
        stopped on exit, their logs in `logs`."""
        return running_airflow({**self.env, **(extra_env or {})}, self.logs, components)


def _session_admin(config: pytest.Config) -> Callable[..., list]:
    """`_admin` of tests/conftest.py (server-level statements on the test PostgreSQL). Every conftest.py outside a
    package is imported as the module `conftest`, so it is reached through pytest's plugin registry."""
    session_conftest = Path(__file__).resolve().parents[1] / "conftest.py"
    module: Any = config.pluginmanager.get_plugin(str(session_conftest))
    assert module is not None, f"{session_conftest} is not loaded"
    return module._admin


@pytest.fixture(scope="module")
def own_deployment(
    test_env: dict[str, str], pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Deployment]]:
    """Make `own_deployment(name, providers, migrate=False)`: a Deployment named `name` whose providers folder
    holds `providers` (provider id -> YAML). Its metadata database is a copy of the session's migrated one, or, with
    `migrate`, migrated afresh under an AIRFLOW_HOME of its own. Its databases are dropped after the module."""
    admin = _session_admin(pytestconfig)
    server = test_env["WAREHOUSE_DSN"].rsplit("/", 1)[0]
    session_metadata_db = test_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].rsplit("/", 1)[1]
    created: list[str] = []

    def make(name: str, providers: Mapping[str, str], migrate: bool = False) -> Deployment:
        warehouse_db, metadata_db = f"{test_env['WAREHOUSE_DB']}_{name}", f"{session_metadata_db}_{name}"
        created.extend((warehouse_db, metadata_db))
        statements = [(f'drop database if exists "{db}" with (force)', ()) for db in (warehouse_db, metadata_db)]
        statements.append((f'create database "{warehouse_db}"', ()))
        if migrate:
            statements.append((f'create database "{metadata_db}"', ()))
        else:  # a template must have no other connection while it is copied
            terminate = "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s"
            statements.append((terminate, (session_metadata_db,)))
            statements.append((f'create database "{metadata_db}" template "{session_metadata_db}"', ()))
        admin(test_env["WAREHOUSE_DSN"], *statements)
        root = tmp_path_factory.mktemp(name)
        deployment = Deployment(f"{server}/{warehouse_db}", f"{server}/{metadata_db}", root, {})
        for folder in (deployment.providers, deployment.drop, deployment.logs):
            folder.mkdir()
        for provider_id, yaml in providers.items():
            (deployment.providers / f"{provider_id}.yaml").write_text(yaml)
        deployment.env.update(
            {
                **os.environ,
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": deployment.metadata.replace(
                    "postgresql://", "postgresql+psycopg2://", 1
                ),
                "AIRFLOW_CONN_AIRFLOW_METADATA": deployment.metadata,  # the deadline guard's read of it
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(deployment.logs / "tasks"),
                "MEDIA_PROVIDERS_DIR": str(deployment.providers),
                "MEDIA_DROP_ROOT": str(deployment.drop),
                "MEDIA_ARTIFACTS_DIR": str(root / "artifacts"),
                "AIRFLOW_CONN_WAREHOUSE": deployment.warehouse,
                "AIRFLOW_CONN_WAREHOUSE_INGEST": deployment.warehouse,
                "AIRFLOW_CONN_WAREHOUSE_PUBLISH": deployment.warehouse,
                "WAREHOUSE_DSN": deployment.warehouse,
                "WAREHOUSE_DB": warehouse_db,
            }
        )
        if migrate:
            deployment.env["AIRFLOW_HOME"] = str(root / "airflow")
            Path(deployment.env["AIRFLOW_HOME"]).mkdir()
            migrate_metadata(deployment.env)
        return deployment

    try:
        yield make
    finally:
        if created:
            admin(test_env["WAREHOUSE_DSN"], *((f'drop database if exists "{db}" with (force)', ()) for db in created))
