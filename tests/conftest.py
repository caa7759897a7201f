"""Shared fixtures: a real PostgreSQL (embedded by default) with this session's own warehouse and Airflow databases."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import psycopg2
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
for sub in ("plugins", "include", "dags", "dev"):
    if str(PROJECT_ROOT / sub) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT / sub))

from local_stack import devenv  # noqa: E402

# Set MEDIA_TEST_DB_SUFFIX (e.g. _alice) to run test sessions side by side on one server without interfering.
_SUFFIX = os.environ.get("MEDIA_TEST_DB_SUFFIX", "")
TEST_WAREHOUSE_DB = f"warehouse_test{_SUFFIX}"
TEST_AIRFLOW_DB = f"airflow_test{_SUFFIX}"
_TEST_ENV: dict[str, str] = {}


def _admin(url: str, *statements: tuple[str, tuple]) -> list:
    conn = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    conn.autocommit = True
    rows = []
    try:
        with conn.cursor() as cur:
            for sql, params in statements:
                cur.execute(sql, params)
                rows.append(cur.fetchall() if cur.description else None)
    finally:
        conn.close()
    return rows


def pytest_configure(config: pytest.Config) -> None:
    """Point Airflow, dbt, GX and the ingest CLI at the test databases before anything imports Airflow."""
    env = devenv.environment(warehouse_db=TEST_WAREHOUSE_DB, airflow_db=TEST_AIRFLOW_DB)
    for role in devenv.WAREHOUSE_ROLES:  # configured servers may have none: the tests connect as the admin
        env.setdefault(f"WAREHOUSE_{role.upper()}_PASSWORD", "")
    env["AIRFLOW_HOME"] = str(devenv.LOCAL_DIR / f"airflow_test{_SUFFIX}")
    env["MEDIA_ARTIFACTS_DIR"] = str(devenv.LOCAL_DIR / f"artifacts_test{_SUFFIX}")
    env["MEDIA_DROP_ROOT"] = str(devenv.LOCAL_DIR / f"drop_test{_SUFFIX}")
    for conn_id in ("WAREHOUSE", "WAREHOUSE_INGEST", "WAREHOUSE_PUBLISH"):  # the admin for every role's connection
        env[f"AIRFLOW_CONN_{conn_id}"] = env["WAREHOUSE_DSN"]
    env["MEDIA_TASK_RETRIES"] = "0"
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    url = env["WAREHOUSE_DSN"]
    name = TEST_WAREHOUSE_DB
    _admin(
        url,
        (
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
            (name,),
        ),
        (f'drop database if exists "{name}"', ()),
        (f'create database "{name}"', ()),
    )
    [exists] = _admin(url, ("select 1 from pg_database where datname = %s", (TEST_AIRFLOW_DB,)))
    if not exists:
        _admin(url, (f'create database "{TEST_AIRFLOW_DB}"', ()))
    os.environ.update(env)
    _TEST_ENV.update(env)
    for command in (["airflow", "db", "migrate"], ["local_stack.airflow_settings"]):
        subprocess.run([sys.executable, "-m", *command], check=True, env=os.environ.copy(), capture_output=True)


@pytest.fixture(scope="session")
def test_env() -> dict[str, str]:
    """The environment the session runs in (also in os.environ): fresh `warehouse_test`, migrated `airflow_test`."""
    return dict(_TEST_ENV)


@pytest.fixture(scope="session")
def warehouse_dsn(test_env: dict[str, str]) -> str:
    """libpq URL of this session's fresh warehouse database."""
    return test_env["WAREHOUSE_DSN"]


@pytest.fixture()
def warehouse(warehouse_dsn: str) -> Iterator[psycopg2.extensions.connection]:
    """An autocommit connection to the test warehouse."""
    conn = psycopg2.connect(warehouse_dsn)
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture()
def scratch_schema(warehouse: psycopg2.extensions.connection, request: pytest.FixtureRequest) -> Iterator[str]:
    """A schema of one's own for a test that must not see the others' tables."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    with warehouse.cursor() as cur:
        cur.execute(f"drop schema if exists {name} cascade; create schema {name}")
    yield name
    with warehouse.cursor() as cur:
        cur.execute(f"drop schema if exists {name} cascade")


@pytest.fixture(scope="session")
def own_database(warehouse_dsn: str) -> Callable[[str], AbstractContextManager[psycopg2.extensions.connection]]:
    """`with own_database(prefix) as conn`: a database of its own on the warehouse server (the shared one holds
    other tests' rows), dropped after."""

    @contextmanager
    def make(prefix: str) -> Iterator[psycopg2.extensions.connection]:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        admin = psycopg2.connect(warehouse_dsn)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'create database "{name}"')
        conn = psycopg2.connect(warehouse_dsn.rsplit("/", 1)[0] + f"/{name}")
        try:
            yield conn
        finally:
            conn.close()
            with admin.cursor() as cur:
                cur.execute(f'drop database "{name}"')
            admin.close()

    return make


@pytest.fixture(scope="session")
def own_server_dir() -> Iterator[Callable[[str], Path]]:
    """Make `own_server_dir(name)`: a new data folder for an embedded PostgreSQL of a test's own (one the test may
    stop and restart; the session's server is shared and never restarted). The folders are under .local, not in
    pytest's temporary directory, which pytest keeps private to this user while the server runs as another one when
    tests run as root. Every server started in them is stopped, and the folders removed, after the session."""
    from local_stack import postgres

    made: list[Path] = []

    def make(name: str) -> Path:
        path = devenv.LOCAL_DIR / "test_servers" / f"{name}-{uuid.uuid4().hex[:8]}" / "pgdata"
        made.append(path)
        return path

    try:
        yield make
    finally:
        for path in made:
            postgres.stop(path)
            shutil.rmtree(path.parent, ignore_errors=True)
