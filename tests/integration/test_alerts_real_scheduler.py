"""Deadline and failure alerts fire under the real scheduler and triggerer, reach ops.alerts and a Slack webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import psycopg2
import pytest

from local_stack.airflow_components import AirflowComponents

if TYPE_CHECKING:
    from conftest import Deployment  # tests/integration/conftest.py, for the annotations only

pytestmark = pytest.mark.integration

FAILING, SLOW = "alert_fail", "alert_slow"
CHANNEL = "slack:#media-alerts-test"
WEBHOOK_TOKEN = "T0INTEG/B0INTEG/integrationS3cretToken"


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


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    webhook = Webhook()
    yield webhook
    webhook.httpd.shutdown()
    webhook.httpd.server_close()


@pytest.fixture(scope="module")
def deployment(own_deployment: Callable[..., Deployment]) -> Deployment:
    """A deployment of this module's own with the two alert test providers."""
    today = datetime.now(UTC).date().isoformat()
    # The failing provider's folder does not exist: its extract_load fails at once ("drop location not found").
    providers = {FAILING: provider_yaml(FAILING, "no_such_folder", today), SLOW: provider_yaml(SLOW, SLOW, today)}
    deployment = own_deployment("alerts", providers)
    (deployment.drop / SLOW).mkdir()
    return deployment


@pytest.fixture(scope="module")
def airflow(deployment: Deployment, webhook: Webhook) -> Iterator[AirflowComponents]:
    """The API server, scheduler, DAG processor and triggerer, deadline alerts on (as under `make airflow`), Slack
    alerts going to the test's webhook."""
    slack = json.dumps({"conn_type": "slackwebhook", "password": webhook.url})
    with deployment.airflow({"MEDIA_DEADLINE_ALERTS": "on", "AIRFLOW_CONN_SLACK_ALERTS": slack}) as airflow:
        yield airflow


def maybe_rows(deployment: Deployment, sql: str, params: tuple = ()) -> list[tuple]:
    """The warehouse's rows, or nothing while the table is not there yet (ops.alerts appears with the first alert)."""
    try:
        return deployment.warehouse_rows(sql, params)
    except psycopg2.errors.UndefinedTable:
        return []


ALERTS = "select kind, run_id, summary, delivered_to, detail from ops.alerts where dag_id = %s and kind = %s"
# The row is written before the alert is sent and its delivery recorded: wait for the delivery.
DELIVERED = ALERTS + " and delivered_to is not null"


def test_deadline_and_failure_alerts_arrive_under_the_real_scheduler(
    deployment: Deployment, airflow: AirflowComponents, webhook: Webhook
) -> None:
    metadata, warehouse, logs = deployment.metadata_rows, deployment.warehouse_rows, deployment.logs
    fail_dag, slow_dag = f"ingest_{FAILING}", f"ingest_{SLOW}"
    parsed = "select count(*) from dag where dag_id in (%s, %s)"
    airflow.wait_for("the DAG processor to parse both DAGs", lambda: metadata(parsed, (fail_dag, slow_dag)) == [(2,)])
    for dag_id in (fail_dag, slow_dag):
        airflow.cli("dags", "unpause", dag_id)

    # 1. A task failure: extract_load of the provider whose folder is missing fails; the alert goes to Slack.
    airflow.cli("dags", "trigger", fail_dag)
    [failure] = airflow.wait_for(
        "the task failure alert", lambda: maybe_rows(deployment, DELIVERED, (fail_dag, "task_failure"))
    )
    assert failure[2] == f"Task failed: {fail_dag}.extract_load" and failure[3] == CHANNEL
    assert "drop location not found" in failure[4]
    assert any(text.startswith(f"*Task failed: {fail_dag}.extract_load*") for text in webhook.texts())
    [(fail_run_id,)] = metadata("select run_id from dag_run where dag_id = %s", (fail_dag,))
    assert failure[1] == fail_run_id

    # 2. A deadline miss: no pool slot for warehouse loads, so the slow provider's extract_load cannot start and
    #    its run is still running when its 1-minute deadline passes; the triggerer runs the AsyncCallback.
    airflow.cli("pools", "set", "warehouse_loads", "0", "blocked by the alerts test")
    airflow.cli("dags", "trigger", slow_dag)
    [missed] = airflow.wait_for(
        "the deadline alert", lambda: maybe_rows(deployment, DELIVERED, (slow_dag, "deadline_missed"))
    )
    [(slow_run_id, slow_state)] = metadata("select run_id, state from dag_run where dag_id = %s", (slow_dag,))
    assert slow_state == "running"
    assert missed[:4] == ("deadline_missed", slow_run_id, f"Deadline missed: {slow_dag}", CHANNEL)
    [deadline_text] = [text for text in webhook.texts() if text.startswith(f"*Deadline missed: {slow_dag}*")]
    assert "not finished within 1m of being queued" in deadline_text and CHANNEL.split(":")[1] in deadline_text
    callbacks = """
        select r.dag_id, d.missed, c.type, c.state, c.output from deadline d
        join dag_run r on r.id = d.dagrun_id join callback c on c.id = d.callback_id where r.dag_id = %s"""
    finished = callbacks + " and c.state in ('success', 'failed')"
    assert airflow.wait_for("the deadline callback to finish", lambda: metadata(finished, (slow_dag,))) == [
        (slow_dag, True, "triggerer", "success", CHANNEL)
    ]

    # 3. The failed run's deadline passes too (Airflow keeps it: apache/airflow#60927); the callback runs and sends
    #    nothing, because that run already failed and its failure alert went out.
    assert airflow.wait_for("the failed run's deadline callback", lambda: metadata(finished, (fail_dag,))) == [
        (fail_dag, True, "triggerer", "success", "not sent: run failed")
    ]
    assert maybe_rows(deployment, ALERTS, (fail_dag, "deadline_missed")) == []
    assert not any(text.startswith(f"*Deadline missed: {fail_dag}") for text in webhook.texts())

    # 4. The guard ran at the start of extract_load and found every active run with its deadline record.
    assert maybe_rows(deployment, "select * from ops.alerts where kind = 'deadline_guard'") == []
    task_logs = "\n".join(
        path.read_text(errors="replace") for path in airflow.task_log_dir.rglob("*") if path.is_file()
    )
    assert "deadline guard: 0 active run(s) without their deadline record" in task_logs

    # 5. The webhook's secret path is in no row and no component or task log.
    rows = warehouse("select a::text from ops.alerts a")
    assert rows and not any(WEBHOOK_TOKEN in row for (row,) in rows)
    leaked = [
        str(path) for path in logs.rglob("*") if path.is_file() and WEBHOOK_TOKEN in path.read_text(errors="replace")
    ]
    assert leaked == []
