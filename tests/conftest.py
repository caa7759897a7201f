"""Shared fixtures: a real PostgreSQL (embedded by default) with fresh databases for this test session."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
for sub in ("plugins", "include", "dags"):
    if str(PROJECT_ROOT / sub) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT / sub))

from media_platform import devenv  # noqa: E402

TEST_WAREHOUSE_DB = "warehouse_test"
TEST_AIRFLOW_DB = "airflow_test"


def _recreate_database(admin_url: str, name: str) -> None:
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
                (name,),
            )
            cur.execute(f'drop database if exists "{name}"')
            cur.execute(f'create database "{name}"')
    finally:
        conn.close()


def _ensure_database(admin_url: str, name: str) -> None:
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(f'create database "{name}"')
    finally:
        conn.close()


@pytest.fixture(scope="session")
def test_env() -> dict[str, str]:
    """The local environment pointed at this session's own databases (a fresh warehouse each session)."""
    env = devenv.environment(warehouse_db=TEST_WAREHOUSE_DB, airflow_db=TEST_AIRFLOW_DB)
    warehouse_url = env["WAREHOUSE_DSN"]
    admin_url = warehouse_url.rsplit("/", 1)[0] + "/postgres"
    _recreate_database(admin_url, TEST_WAREHOUSE_DB)
    _ensure_database(admin_url, TEST_AIRFLOW_DB)
    return env


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
