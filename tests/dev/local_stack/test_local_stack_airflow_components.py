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
