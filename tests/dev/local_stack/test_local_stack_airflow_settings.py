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
}


def test_expand_variables_and_defaults() -> None:
    assert expand("${A}:${B:-two}", {"A": "one"}, "x") == "one:two"
    with pytest.raises(SettingsFileError, match="x.key: environment variable MISSING is not set"):
        expand({"key": "${MISSING}"}, {}, "x")


def test_project_settings_file_loads() -> None:
    settings = load_settings(PROJECT_ROOT / "airflow_settings.yaml", ENV)
    [warehouse] = settings["connections"]
    assert warehouse["conn_id"] == "warehouse"
    assert warehouse["conn_host"] == "db.example.internal" and warehouse["conn_port"] == "6543"
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
    assert apply_settings(settings) == {"connections": 1, "pools": 1, "variables": 1}
    with create_session() as session:
        [conn] = session.query(Connection).filter(Connection.conn_id == "warehouse").all()
        assert (conn.host, conn.port, conn.schema, conn.login) == ("db.example.internal", 6543, "wh", "loader")
        assert session.query(Pool).filter(Pool.pool == "warehouse_loads").one().slots == 4
