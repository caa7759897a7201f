"""airflow_settings.yaml (Astro CLI format) is expanded from the environment and applied to the metadata DB."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.airflow_settings import SettingsFileError, apply_settings, expand, load_settings

PROJECT_ROOT = Path(__file__).resolve().parents[3]
ENV = {
    "WAREHOUSE_HOST": "db.example.internal",
    "WAREHOUSE_PORT": "6543",
    "WAREHOUSE_USER": "loader",
    "WAREHOUSE_PASSWORD": "pw",
    "WAREHOUSE_DB": "wh",
    "WAREHOUSE_TRANSFORMER_PASSWORD": "pw-t",
    "WAREHOUSE_INGEST_WRITER_PASSWORD": "pw-i",
    "WAREHOUSE_PUBLISHER_PASSWORD": "pw-p",
}


def test_expand_variables_and_defaults() -> None:
    assert expand("${A}:${B:-two}", {"A": "one"}, "x") == "one:two"
    with pytest.raises(SettingsFileError, match="x.key: environment variable MISSING is not set"):
        expand({"key": "${MISSING}"}, {}, "x")


def test_project_settings_file_loads() -> None:
    settings = load_settings(PROJECT_ROOT / "airflow_settings.yaml", ENV)
    warehouse, ingest, publish = settings["connections"]  # one per role
    assert warehouse["conn_id"] == "warehouse"
    assert warehouse["conn_host"] == "db.example.internal" and warehouse["conn_port"] == "6543"
    logins = {item["conn_id"]: (item["conn_login"], item["conn_password"]) for item in (warehouse, ingest, publish)}
    assert logins == {
        "warehouse": ("transformer", "pw-t"),
        "warehouse_ingest": ("ingest_writer", "pw-i"),
        "warehouse_publish": ("publisher", "pw-p"),
    }
    assert settings["variables"][0]["variable_value"] == "local"


def test_missing_required_field_names_the_item(tmp_path: Path) -> None:
    path = tmp_path / "airflow_settings.yaml"
    path.write_text("airflow:\n  pools:\n    - pool_description: no name\n")
    with pytest.raises(SettingsFileError, match=r"airflow.pools\[0\]: missing pool_name, pool_slot"):
        load_settings(path, {})


def test_apply_twice_upserts_into_the_metadata_db(test_env: dict[str, str]) -> None:
    from airflow.models import Connection, Pool
    from airflow.utils.session import create_session

    settings = load_settings(PROJECT_ROOT / "airflow_settings.yaml", ENV)
    apply_settings(settings)
    assert apply_settings(settings) == {"connections": 3, "pools": 1, "variables": 1}
    with create_session() as session:
        [conn] = session.query(Connection).filter(Connection.conn_id == "warehouse").all()
        assert (conn.host, conn.port, conn.schema, conn.login) == ("db.example.internal", 6543, "wh", "transformer")
        assert session.query(Pool).filter(Pool.pool == "warehouse_loads").one().slots == 4


def test_settings_are_applied_again_only_where_applied_before_and_changed(tmp_path: Path) -> None:
    from local_stack.airflow_settings import APPLIED_STAMP, fingerprint, reapply_if_changed

    path = PROJECT_ROOT / "airflow_settings.yaml"
    environ = {**ENV, "AIRFLOW_HOME": str(tmp_path)}
    assert not reapply_if_changed(environ, path)  # never applied here: `make setup` does it after migrating
    (tmp_path / APPLIED_STAMP).write_text(fingerprint(load_settings(path, environ)) + "\n")
    assert not reapply_if_changed(environ, path)  # unchanged
    moved = {**environ, "WAREHOUSE_PORT": "6544"}
    assert fingerprint(load_settings(path, moved)) != fingerprint(load_settings(path, environ))
    assert "pw-" not in (tmp_path / APPLIED_STAMP).read_text()
