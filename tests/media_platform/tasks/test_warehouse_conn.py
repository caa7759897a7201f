"""The warehouse connection as a libpq URL, resolved through the Task SDK at run time."""

from __future__ import annotations

import json

import psycopg2.extensions
import pytest
from airflow.sdk import Connection

from media_platform.tasks.warehouse_conn import resolve_warehouse_dsn, warehouse_dsn

SECRET_PASSWORD = "s3cr3t-Ingest-pw"


def test_warehouse_connection_becomes_a_libpq_url():
    conn = Connection(
        conn_id="warehouse",
        conn_type="postgres",
        host="db.internal",
        port=5433,
        login="ingest",
        password="p@ss:w/rd",
        schema="warehouse",
        extra=json.dumps({"sslmode": "require", "cursor": "dictcursor"}),
    )
    dsn = warehouse_dsn(conn)
    assert dsn == "postgresql://ingest:p%40ss%3Aw%2Frd@db.internal:5433/warehouse?sslmode=require"
    parsed = psycopg2.extensions.parse_dsn(dsn)
    assert parsed == {
        "user": "ingest",
        "password": "p@ss:w/rd",
        "host": "db.internal",
        "port": "5433",
        "dbname": "warehouse",
        "sslmode": "require",
    }


def test_warehouse_dsn_is_resolved_through_the_task_sdk(monkeypatch: pytest.MonkeyPatch):
    conn = {"conn_type": "postgres", "login": "ingest", "password": SECRET_PASSWORD, "host": "db", "schema": "wh"}
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", json.dumps(conn))
    assert resolve_warehouse_dsn() == f"postgresql://ingest:{SECRET_PASSWORD}@db/wh"
