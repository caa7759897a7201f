"""The real Airflow components started on free ports: healthy, reachable through the REST API, stopped cleanly."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from local_stack import airflow_components


def test_free_ports_are_free() -> None:
    port = airflow_components.free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_components_of_one_deployment_share_their_api_and_secrets() -> None:
    env = airflow_components.component_environment({"KEEP": "1"}, 18123, (18124, 18125))
    assert env["KEEP"] == "1"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18123/execution/"
    assert env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] == "18124"
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"]
    again = airflow_components.component_environment(env, 18123, (18124, 18125))
    assert again["AIRFLOW__API_AUTH__JWT_SECRET"] == env["AIRFLOW__API_AUTH__JWT_SECRET"]


def test_without_all_admins_the_auth_manager_users_apply() -> None:
    env = airflow_components.component_environment({"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True"}, 1, (2, 3))
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "True"
    env = airflow_components.component_environment(env, 1, (2, 3), all_admins=False)
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "False"


def test_task_logs_are_where_the_base_log_folder_says(tmp_path: Path) -> None:
    home = {"AIRFLOW_HOME": str(tmp_path / "home")}
    assert airflow_components.AirflowComponents(home, 1, tmp_path).task_log_dir == tmp_path / "home" / "logs"
    env = {**home, "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(tmp_path / "tasks")}
    assert airflow_components.AirflowComponents(env, 1, tmp_path).task_log_dir == tmp_path / "tasks"


def test_wait_for_returns_the_first_truthy_value_or_gives_up(tmp_path: Path) -> None:
    components = airflow_components.AirflowComponents({}, 1, tmp_path)
    answers = iter([None, [], [("row",)]])
    assert components.wait_for("rows", lambda: next(answers), poll=0.01) == [("row",)]
    with pytest.raises(airflow_components.AirflowComponentsError, match=f"gave up waiting for rows.*{tmp_path}"):
        components.wait_for("rows", lambda: None, timeout=0.05, poll=0.01)


def _missing_metadata_db(env: dict[str, str]) -> dict[str, str]:
    url = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].rsplit("/", 1)[0] + "/no_such_metadata_db"
    return {**env, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url}


def test_wait_for_stops_when_a_component_dies(test_env: dict[str, str], tmp_path: Path) -> None:
    components = airflow_components.AirflowComponents(_missing_metadata_db(test_env), 1, tmp_path)
    components.start(["triggerer"])  # cannot reach its metadata DB: exits
    try:
        with pytest.raises(airflow_components.AirflowComponentsError, match="airflow triggerer exited"):
            components.wait_for("something", lambda: None, timeout=120)
    finally:
        components.stop()
    assert "no_such_metadata_db" in (tmp_path / "triggerer.log").read_text()


def test_the_cli_runs_against_the_deployment_and_fails_loudly(test_env: dict[str, str], tmp_path: Path) -> None:
    components = airflow_components.AirflowComponents(test_env, 1, tmp_path)
    assert components.cli("version").strip().startswith("3.")
    with pytest.raises(airflow_components.AirflowComponentsError, match="no_such_pool"):
        components.cli("pools", "get", "no_such_pool")


def test_migrating_a_missing_metadata_db_fails_with_the_reason(test_env: dict[str, str]) -> None:
    with pytest.raises(airflow_components.AirflowComponentsError, match='database "no_such_metadata_db" does not'):
        airflow_components.migrate_metadata(_missing_metadata_db(test_env))


def test_an_unknown_component_is_refused(tmp_path: Path) -> None:
    components = airflow_components.AirflowComponents({}, 1, tmp_path)
    with pytest.raises(ValueError, match="unknown component"):
        components.start(["webserver"])


@pytest.mark.integration
def test_the_components_start_answer_and_stop(test_env: dict[str, str], tmp_path: Path) -> None:
    with airflow_components.running_airflow(test_env, tmp_path) as airflow:
        health = airflow.api("GET", "/api/v2/monitor/health")
        assert {health[key]["status"] for key in ("scheduler", "dag_processor", "triggerer")} == {"healthy"}
        airflow.wait_for_dags(["publish_reporting"])
        processes = list(airflow.processes.values())
        assert all(process.poll() is None for process in processes)
        with pytest.raises(airflow_components.AirflowComponentsError, match="HTTP 404"):
            airflow.api("GET", "/api/v2/dags/no_such_dag")
    assert all(process.poll() is not None for process in processes)
    assert {path.name for path in tmp_path.iterdir()} >= {"scheduler.log", "api-server.log"}
