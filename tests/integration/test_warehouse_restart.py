"""Restarting the embedded warehouse does not break Airflow (issue #11, item 2 and the fault of item 3).

A provider DAG runs against a warehouse on an embedded server of this module's own, reached through the Airflow
connection `warehouse` in the metadata database (as `make setup` leaves it, no AIRFLOW_CONN_* override):
restarted between two runs, it comes back on its port and the next run just works; stopped while a run loads,
that run fails saying the server ended the connection, and once the server is back (on another port, its own
taken meanwhile) the connections follow it and the rerun of the same interval loads it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg2
import pytest

from local_stack import airflow_settings, postgres
from media_platform.warehouse import roles

if TYPE_CHECKING:
    from conftest import Deployment  # tests/integration/conftest.py, for the annotations only

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "public" / "adi"
PROVIDER = "restart_films"
DAYS = ("2026-11-02", "2026-11-03", "2026-11-04")  # one delivery folder each; a run of day D has logical date D+1
PROVIDER_YAML = f"""\
provider_id: {PROVIDER}
display_name: Restart Films
description: ADI packages in a drop folder, one folder per delivery day, loaded while the warehouse restarts.
format: adi
source:
  transport: local
  location: {PROVIDER}
  file_glob: "*.xml"
schedule: "@daily"
start_date: 2026-11-01
owner: content-ops
alert_channel: none
"""
WAIT_SECONDS = 120  # a bound on waiting for the run to reach its load, never an assertion on speed


def _logical_date(day: str) -> str:
    return f"2026-11-{int(day[-2:]) + 1:02d}T00:00:00+00:00"


def _batches(dsn: str) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("select interval_start::date::text, records_loaded from raw.ingest_batches order by 1")
        return cur.fetchall()


class Stack:
    """The module's own server (its data folder), its warehouse, and the environment of `airflow dags test`."""

    def __init__(self, data_dir: Path, env: dict[str, str], logs: Path):
        self.data_dir, self.env, self.logs = data_dir, env, logs

    def start(self) -> int:
        """Start the server; point the environment at its port and re-apply the connections if it moved."""
        port = postgres.start(self.data_dir)
        self.env.update(WAREHOUSE_PORT=str(port), WAREHOUSE_DSN=self.dsn(port))
        airflow_settings.reapply_if_changed(self.env)
        return port

    def dsn(self, port: int | None = None) -> str:
        secret = postgres.password("postgres", self.data_dir)
        return f"postgresql://postgres:{secret}@127.0.0.1:{port or postgres.recorded_port(self.data_dir)}/warehouse"

    def dags_test(self, day: str) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "airflow", "dags", "test", f"ingest_{PROVIDER}", _logical_date(day)]
        log = (self.logs / f"{day}-{time.time_ns()}.log").open("w")
        return subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT, text=True)

    def run(self, day: str) -> tuple[int, str]:
        process = self.dags_test(day)
        return process.wait(), self.last_log()

    def last_log(self) -> str:
        return max(self.logs.glob("*.log"), key=lambda path: path.stat().st_mtime_ns).read_text()


@pytest.fixture(scope="module")
def stack(own_deployment: Callable[..., Deployment], own_server_dir: Callable[[str], Path]) -> Iterator[Stack]:
    deployment = own_deployment("restart", {PROVIDER: PROVIDER_YAML})
    env, root = dict(deployment.env), deployment.root
    for day in DAYS:
        folder = Path(env["MEDIA_DROP_ROOT"]) / PROVIDER / day
        folder.mkdir(parents=True)
        shutil.copy(FIXTURES / "HBO_ADI_OK.XML", folder / "hbo_package.xml")
        shutil.copy(FIXTURES / "vod_metadata_reference.xml", folder / "reference_package.xml")
    for conn_id in ("WAREHOUSE", "WAREHOUSE_INGEST", "WAREHOUSE_PUBLISH"):  # from the metadata DB, as after setup
        env.pop(f"AIRFLOW_CONN_{conn_id}", None)
    env.update(
        AIRFLOW_HOME=str(root / "airflow"),
        WAREHOUSE_HOST="127.0.0.1",
        WAREHOUSE_DB="warehouse",
        WAREHOUSE_USER="postgres",
        MEDIA_DEADLINE_ALERTS="off",  # apache/airflow#73428: `dags test` and deadlines
    )
    Path(env["AIRFLOW_HOME"]).mkdir()
    logs = root / "runs"
    logs.mkdir()
    stack = Stack(own_server_dir("restart"), env, logs)
    env["WAREHOUSE_PASSWORD"] = postgres.password("postgres", stack.data_dir)
    stack.start()
    passwords = {role: postgres.password(role, stack.data_dir) for role in roles.ROLES}
    env.update({roles.password_variable(role): secret for role, secret in passwords.items()})
    roles.migrate(stack.dsn(), passwords)  # what `make setup` runs: each task then logs in as its role
    command = [sys.executable, "-m", "local_stack.airflow_settings"]
    subprocess.run(command, env=env, check=True, capture_output=True)
    yield stack


def test_a_restart_between_two_runs_keeps_the_port_and_the_next_run_works(stack: Stack) -> None:
    code, log = stack.run(DAYS[0])
    assert code == 0, log[-4000:]
    port = postgres.recorded_port(stack.data_dir)
    postgres.stop(stack.data_dir)
    assert stack.start() == port
    code, log = stack.run(DAYS[1])
    assert code == 0, log[-4000:]
    assert _batches(stack.dsn()) == [(DAYS[0], 2), (DAYS[1], 2)]


def test_a_restart_mid_run_fails_the_run_clearly_and_the_rerun_recovers(stack: Stack) -> None:
    old_port = int(stack.env["WAREHOUSE_PORT"])
    blocker = psycopg2.connect(stack.dsn())
    with blocker.cursor() as cur:  # the run waits here for its load, so the stop falls inside it
        cur.execute("lock table raw.ingest_batches in access exclusive mode")
    run = stack.dags_test(DAYS[2])
    waiting = "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and pid <> pg_backend_pid()"
    watcher = psycopg2.connect(stack.dsn())
    watcher.autocommit = True
    deadline = time.monotonic() + WAIT_SECONDS
    with watcher.cursor() as cur:
        while True:
            cur.execute(waiting)
            if cur.fetchone()[0] or run.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    watcher.close()
    assert run.poll() is None, stack.last_log()[-4000:]
    postgres.stop(stack.data_dir)
    blocker.close()
    assert run.wait() != 0
    log = stack.last_log()
    [error] = [line for line in log.splitlines() if "ingest: error:" in line][-1:]
    # the cause, not psycopg2's "InterfaceError: connection already closed" of the rollback that followed it
    assert "ingest: error: lost the warehouse connection: " in error, error
    assert "(the server shut down, restarted or ended the session)" in error and "InterfaceError" not in error

    with socket.socket() as squatter:  # another program takes the port while the server is down
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", old_port))
        squatter.listen()
        new_port = stack.start()
    assert new_port != old_port
    code, log = stack.run(DAYS[2])
    assert code == 0, log[-4000:]
    assert _batches(stack.dsn()) == [(DAYS[0], 2), (DAYS[1], 2), (DAYS[2], 2)]


def test_each_task_works_as_its_role_through_a_publish(stack: Stack) -> None:
    """The runs above loaded raw as ingest_writer and built staging as transformer; the publish writes reporting
    as publisher (which owns what it created there), reporting_reader reads it and cannot see raw."""
    command = [sys.executable, "-m", "airflow", "dags", "test", "publish_reporting"]
    result = subprocess.run(command, env=stack.env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    with psycopg2.connect(stack.dsn()) as conn, conn.cursor() as cur:
        cur.execute("select tableowner from pg_tables where schemaname = 'raw' and tablename = 'ingest_batches'")
        assert cur.fetchall() == [(roles.INGEST_WRITER,)]
        cur.execute("select distinct tableowner from pg_tables where schemaname = 'reporting'")
        assert cur.fetchall() == [(roles.PUBLISHER,)]
    reader = (
        stack.dsn()
        .replace("postgres:", "reporting_reader:", 1)
        .replace(
            postgres.password("postgres", stack.data_dir), postgres.password(roles.REPORTING_READER, stack.data_dir)
        )
    )
    with psycopg2.connect(reader) as conn, conn.cursor() as cur:
        cur.execute("select provider_id, count(*) from reporting.titles group by 1")
        assert cur.fetchall() == [(PROVIDER, 2)]
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("select count(*) from raw.ingest_batches")
