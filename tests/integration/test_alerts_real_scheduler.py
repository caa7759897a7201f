"""Deadline and failure alerts fire under the real scheduler and triggerer, reach ops.alerts and a Slack webhook."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg2
import pytest

pytestmark = pytest.mark.integration

FAILING, SLOW = "alert_fail", "alert_slow"
CHANNEL = "slack:#media-alerts-test"
WEBHOOK_TOKEN = "T0INTEG/B0INTEG/integrationS3cretToken"
GUARD_SECONDS = 300  # waits give up after this: a guard against hanging, never a speed assertion


def provider_yaml(provider_id: str, location: str, start_date: str) -> str:
    """A provider with a 1-minute deadline; its start date is today, so only the test's own triggers run it."""
    return f"""\
provider_id: {provider_id}
display_name: Alert test feed {provider_id}
format: adi
source:
  transport: local
  location: {location}
  file_glob: "*.xml"
schedule: "@daily"
start_date: {start_date}
owner: content-ops
alert_channel: "{CHANNEL}"
deadline: 1m
"""


class Webhook:
    """A Slack incoming webhook on 127.0.0.1 that keeps the JSON bodies it receives."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                bodies.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0))))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/services/{WEBHOOK_TOKEN}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def texts(self) -> list[str]:
        return [body.get("text", "") for body in self.bodies]


def query(dsn: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def maybe_query(dsn: str, sql: str, params: tuple = ()) -> list[tuple]:
    """`query`, or nothing while the table is not there yet (ops.alerts appears with the first alert)."""
    try:
        return query(dsn, sql, params)
    except psycopg2.errors.UndefinedTable:
        return []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, found: Callable[[], Any], logs: Path) -> Any:
    """Poll `found` until it returns something truthy; fail naming `what` and pointing at the logs."""
    deadline = time.monotonic() + GUARD_SECONDS
    while time.monotonic() < deadline:
        if value := found():
            return value
        time.sleep(1)
    pytest.fail(f"gave up waiting for {what}; component logs in {logs}")


def _admin(dsn: str, *statements: str) -> None:
    conn = psycopg2.connect(dsn.rsplit("/", 1)[0] + "/postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def databases(test_env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(warehouse DSN, Airflow metadata DSN) of this module's own (the metadata one a copy of the session's
    migrated database), so the running scheduler sees only this test's DAGs and runs."""
    base = test_env["WAREHOUSE_DSN"].rsplit("/", 1)[0]
    source_db = test_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].rsplit("/", 1)[1]
    warehouse_db, airflow_db = f"{test_env['WAREHOUSE_DB']}_alerts", f"{source_db}_alerts"
    _admin(
        base + "/postgres",
        f'drop database if exists "{warehouse_db}" with (force)',
        f'drop database if exists "{airflow_db}" with (force)',
        f'create database "{warehouse_db}"',
        f"select pg_terminate_backend(pid) from pg_stat_activity where datname = '{source_db}'",
        f'create database "{airflow_db}" template "{source_db}"',
    )
    try:
        yield f"{base}/{warehouse_db}", f"{base}/{airflow_db}"
    finally:
        _admin(
            base + "/postgres",
            f'drop database if exists "{warehouse_db}" with (force)',
            f'drop database if exists "{airflow_db}" with (force)',
        )


@pytest.fixture(scope="module")
def stack(databases: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The API server, scheduler, DAG processor and triggerer on free ports, deadline alerts on (as under
    `make airflow`), Slack alerts going to the test's webhook; stopped by their process ids."""
    warehouse, metadata = databases
    root = tmp_path_factory.mktemp("alerts")
    providers, drop, logs = root / "providers", root / "drop", root / "logs"
    for folder in (providers, drop / SLOW, logs):
        folder.mkdir(parents=True)
    today = datetime.now(UTC).date().isoformat()
    # The failing provider's folder does not exist: its extract_load fails at once ("drop location not found").
    (providers / f"{FAILING}.yaml").write_text(provider_yaml(FAILING, "no_such_folder", today))
    (providers / f"{SLOW}.yaml").write_text(provider_yaml(SLOW, SLOW, today))
    webhook = Webhook()
    api_port = free_port()
    env = {
        **os.environ,
        "MEDIA_DEADLINE_ALERTS": "on",
        "AIRFLOW_CONN_SLACK_ALERTS": json.dumps({"conn_type": "slackwebhook", "password": webhook.url}),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata.replace("postgresql://", "postgresql+psycopg2://", 1),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(logs / "tasks"),
        "MEDIA_PROVIDERS_DIR": str(providers),
        "MEDIA_DROP_ROOT": str(drop),
        "MEDIA_ARTIFACTS_DIR": str(root / "artifacts"),
        "AIRFLOW_CONN_WAREHOUSE": warehouse,
        "AIRFLOW_CONN_AIRFLOW_METADATA": metadata,  # the deadline guard's read of the metadata database
        "WAREHOUSE_DSN": warehouse,
        "WAREHOUSE_DB": warehouse.rsplit("/", 1)[1],
    }
    components = {
        "api-server": ["api-server", "--apps", "execution", "--host", "127.0.0.1", "--port", str(api_port),
                       "--workers", "1"],
        "scheduler": ["scheduler"],
        "dag-processor": ["dag-processor"],
        "triggerer": ["triggerer"],
    }  # fmt: skip
    processes = {}
    try:
        for name, args in components.items():
            with open(logs / f"{name}.log", "w") as out:
                processes[name] = subprocess.Popen(
                    [sys.executable, "-m", "airflow", *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True,
                )  # fmt: skip
        yield {"env": env, "logs": logs, "metadata": metadata, "warehouse": warehouse, "webhook": webhook}
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        webhook.httpd.shutdown()
        webhook.httpd.server_close()


def airflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "airflow", *args], env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"airflow {' '.join(args)}: {result.stderr[-2000:]}"
    return result


ALERTS = "select kind, run_id, summary, delivered_to, detail from ops.alerts where dag_id = %s and kind = %s"


def test_deadline_and_failure_alerts_arrive_under_the_real_scheduler(stack: dict[str, Any]) -> None:
    env, metadata, warehouse, logs, webhook = (stack[k] for k in ("env", "metadata", "warehouse", "logs", "webhook"))
    fail_dag, slow_dag = f"ingest_{FAILING}", f"ingest_{SLOW}"
    parsed = "select count(*) from dag where dag_id in (%s, %s)"
    wait_for("the DAG processor to parse both DAGs", lambda: query(metadata, parsed, (fail_dag, slow_dag)) == [(2,)],
             logs)  # fmt: skip
    for dag_id in (fail_dag, slow_dag):
        airflow(env, "dags", "unpause", dag_id)

    # 1. A task failure: extract_load of the provider whose folder is missing fails; the alert goes to Slack.
    airflow(env, "dags", "trigger", fail_dag)
    [failure] = wait_for("the task failure alert", lambda: maybe_query(warehouse, ALERTS, (fail_dag, "task_failure")),
                         logs)  # fmt: skip
    assert failure[2] == f"Task failed: {fail_dag}.extract_load" and failure[3] == CHANNEL
    assert "drop location not found" in failure[4]
    assert any(text.startswith(f"*Task failed: {fail_dag}.extract_load*") for text in webhook.texts())
    [(fail_run_id,)] = query(metadata, "select run_id from dag_run where dag_id = %s", (fail_dag,))
    assert failure[1] == fail_run_id

    # 2. A deadline miss: no pool slot for warehouse loads, so the slow provider's extract_load cannot start and
    #    its run is still running when its 1-minute deadline passes; the triggerer runs the AsyncCallback.
    airflow(env, "pools", "set", "warehouse_loads", "0", "blocked by the alerts test")
    airflow(env, "dags", "trigger", slow_dag)
    [missed] = wait_for("the deadline alert", lambda: maybe_query(warehouse, ALERTS, (slow_dag, "deadline_missed")),
                        logs)  # fmt: skip
    [(slow_run_id, slow_state)] = query(metadata, "select run_id, state from dag_run where dag_id = %s", (slow_dag,))
    assert slow_state == "running"
    assert missed[:4] == ("deadline_missed", slow_run_id, f"Deadline missed: {slow_dag}", CHANNEL)
    [deadline_text] = [text for text in webhook.texts() if text.startswith(f"*Deadline missed: {slow_dag}*")]
    assert "not finished within 1m of being queued" in deadline_text and CHANNEL.split(":")[1] in deadline_text
    callbacks = """
        select r.dag_id, d.missed, c.type, c.state, c.output from deadline d
        join dag_run r on r.id = d.dagrun_id join callback c on c.id = d.callback_id where r.dag_id = %s"""
    finished = callbacks + " and c.state in ('success', 'failed')"
    assert wait_for("the deadline callback to finish", lambda: query(metadata, finished, (slow_dag,)), logs) == [
        (slow_dag, True, "triggerer", "success", CHANNEL)
    ]

    # 3. The failed run's deadline passes too (Airflow keeps it: apache/airflow#60927); the callback runs and sends
    #    nothing, because that run already failed and its failure alert went out.
    assert wait_for("the failed run's deadline callback", lambda: query(metadata, finished, (fail_dag,)), logs) == [
        (fail_dag, True, "triggerer", "success", "not sent: run failed")
    ]
    assert maybe_query(warehouse, ALERTS, (fail_dag, "deadline_missed")) == []
    assert not any(text.startswith(f"*Deadline missed: {fail_dag}") for text in webhook.texts())

    # 4. The guard ran at the start of extract_load and found every active run with its deadline record.
    assert maybe_query(warehouse, "select * from ops.alerts where kind = 'deadline_guard'") == []
    task_logs = "\n".join(path.read_text(errors="replace") for path in (logs / "tasks").rglob("*") if path.is_file())
    assert "deadline guard: 0 active run(s) without their deadline record" in task_logs

    # 5. The webhook's secret path is in no row and no component or task log.
    rows = query(warehouse, "select a::text from ops.alerts a")
    assert rows and not any(WEBHOOK_TOKEN in row for (row,) in rows)
    leaked = [
        str(path) for path in logs.rglob("*") if path.is_file() and WEBHOOK_TOKEN in path.read_text(errors="replace")
    ]
    assert leaked == []
