"""The real Airflow components (api-server, scheduler, DAG processor, triggerer) as local subprocesses on free ports."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
# What /api/v2/monitor/health calls each component that reports a heartbeat (the api-server answers it).
HEALTH_KEYS = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}
FINISHED_RUN_STATES = ("success", "failed")


class AirflowComponentsError(RuntimeError):
    """A component did not start, died, or the REST API answered with an error."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def component_environment(
    base: Mapping[str, str], api_port: int, log_ports: tuple[int, int], all_admins: bool = True
) -> dict[str, str]:
    """`base` plus what makes the components of one local deployment find each other and nobody else's: the
    api-server (REST and execution API) on `api_port`, the log servers on `log_ports`, one JWT secret, and, with
    `all_admins`, every REST caller an admin (simple auth manager, loopback only). Without it the simple auth
    manager's users and logins apply, as `base` sets them."""
    url = f"http://127.0.0.1:{api_port}"
    return {
        **base,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": str(all_admins),
        "AIRFLOW__API_AUTH__JWT_SECRET": base.get("AIRFLOW__API_AUTH__JWT_SECRET") or secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": base.get("AIRFLOW__API__SECRET_KEY") or secrets.token_urlsafe(32),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_ports[0]),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(log_ports[1]),
    }


@dataclass
class AirflowComponents:
    """Running components of one deployment and a small client of its REST API (`/api/v2`)."""

    env: dict[str, str]
    api_port: int
    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self, components: Sequence[str] = COMPONENTS) -> None:
        """Start each component as `airflow <component>` in its own process group, output to `log_dir`."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in components:
            if name not in COMPONENTS:
                raise ValueError(f"unknown component {name!r}; expected one of {', '.join(COMPONENTS)}")
            log = (self.log_dir / f"{name}.log").open("ab")
            self.processes[name] = subprocess.Popen(  # noqa: S603 - Airflow's own CLI
                [sys.executable, "-m", "airflow", name],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            log.close()

    @property
    def task_log_dir(self) -> Path:
        """Where the tasks of this deployment write their logs (Airflow's `[logging] base_log_folder`)."""
        folder = self.env.get("AIRFLOW__LOGGING__BASE_LOG_FOLDER")
        return Path(folder) if folder else Path(self.env["AIRFLOW_HOME"]) / "logs"

    def cli_process(self, *args: str) -> subprocess.Popen[str]:
        """Start `airflow <args>` against this deployment, its output (stdout and stderr) on a text pipe."""
        return subprocess.Popen(  # noqa: S603 - Airflow's own CLI
            [sys.executable, "-m", "airflow", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )

    def cli(self, *args: str, timeout: float = 300.0) -> str:
        """Run `airflow <args>` against this deployment and return its output; raise with the output if it fails."""
        process = self.cli_process(*args)
        try:
            output = process.communicate(timeout=timeout)[0]
        except subprocess.TimeoutExpired:
            process.kill()
            output = process.communicate()[0]
            raise AirflowComponentsError(
                f"airflow {' '.join(args)} not done after {timeout:.0f}s: {output[-2000:]}"
            ) from None
        if process.returncode != 0:
            raise AirflowComponentsError(f"airflow {' '.join(args)} exited with {process.returncode}: {output[-2000:]}")
        return output

    def wait_for(self, what: str, found: Callable[[], T], timeout: float = 300.0, poll: float = 1.0) -> T:
        """Poll `found` until it returns something truthy and return that; raise naming `what` and the logs if it
        does not within `timeout` or a component dies meanwhile (the timeout guards against hanging, no more)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if value := found():
                return value
            self.check_alive()
            time.sleep(poll)
        raise AirflowComponentsError(
            f"gave up waiting for {what} after {timeout:.0f}s; component logs in {self.log_dir}"
        )

    def check_alive(self) -> None:
        """Raise naming the component (and its log) that has exited."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AirflowComponentsError(
                    f"airflow {name} exited with {process.returncode}; see {self.log_dir / (name + '.log')}"
                )

    def wait_until_healthy(self, timeout: float = 240.0) -> dict[str, Any]:
        """Wait until the api-server answers and every started component reports a healthy heartbeat."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                last = self.api("GET", "/api/v2/monitor/health")
            except (AirflowComponentsError, OSError) as err:
                last = str(err)
            else:
                wanted = [HEALTH_KEYS[name] for name in self.processes if name in HEALTH_KEYS]
                if all((last.get(key) or {}).get("status") == "healthy" for key in wanted):
                    return dict(last)
            time.sleep(1.0)
        raise AirflowComponentsError(f"components not healthy after {timeout:.0f}s: {last}")

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM each component's process group, then SIGKILL what is left after `timeout`."""
        for process in self.processes.values():
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(10)
            _signal_group(process, signal.SIGKILL)  # children a component left behind in its group
        self.processes.clear()

    def api(self, method: str, path: str, body: Any = None, query: Mapping[str, Any] | None = None) -> Any:
        """One REST call; returns the decoded JSON, raises AirflowComponentsError on an HTTP error."""
        url = self.base_url + path + ("?" + urllib.parse.urlencode(query, doseq=True) if query else "")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback only
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")[:2000]
            raise AirflowComponentsError(f"{method} {path}: HTTP {err.code}: {detail}") from None
        return json.loads(raw) if raw else None

    def wait_for_dags(self, dag_ids: Sequence[str], timeout: float = 300.0) -> None:
        """Wait until the DAG processor has serialized every DAG in `dag_ids`."""
        deadline = time.monotonic() + timeout
        missing = list(dag_ids)
        while time.monotonic() < deadline:
            self.check_alive()
            missing = [dag_id for dag_id in missing if not self._dag_details(dag_id)]
            if not missing:
                return
            time.sleep(2.0)
        errors = self.api("GET", "/api/v2/importErrors").get("import_errors", [])
        raise AirflowComponentsError(f"DAGs not parsed after {timeout:.0f}s: {missing}; import errors: {errors}")

    def _dag_details(self, dag_id: str) -> bool:
        try:
            self.api("GET", f"/api/v2/dags/{dag_id}/details")
        except AirflowComponentsError:
            return False
        return True

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False}, {"update_mask": "is_paused"})

    def trigger(
        self,
        dag_id: str,
        run_id: str | None = None,
        logical_date: str | None = None,
        interval: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        """Trigger a run; with `interval` (ISO start, end) the run owns exactly that data interval."""
        body: dict[str, Any] = {"logical_date": logical_date, "dag_run_id": run_id}
        if interval:
            body["data_interval_start"], body["data_interval_end"] = interval
        return dict(self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", body))

    def dag_runs(self, dag_id: str, **filters: Any) -> list[dict[str, Any]]:
        """The DAG's runs (up to 1,000), oldest first; `filters` are the endpoint's query parameters."""
        query = {"limit": 1000, "order_by": "id", **filters}
        return list(self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns", query=query)["dag_runs"])

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}"))

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}/taskInstances"
        return list(self.api("GET", path, query={"limit": 1000})["task_instances"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 1800.0, poll: float = 1.0) -> dict[str, Any]:
        """Wait until the run has finished (success or failed) and return it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.dag_run(dag_id, run_id)
            if run["state"] in FINISHED_RUN_STATES:
                return run
            self.check_alive()
            time.sleep(poll)
        raise AirflowComponentsError(f"{dag_id} run {run_id} not finished after {timeout:.0f}s")

    def wait_until_idle(self, dag_ids: Sequence[str], timeout: float = 1800.0, poll: float = 2.0) -> None:
        """Wait until none of the DAGs has a queued or running run."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = [d for d in dag_ids if self.dag_runs(d, state=["queued", "running"], limit=1)]
            if not busy:
                return
            self.check_alive()
            time.sleep(poll)
        raise AirflowComponentsError(f"runs of {dag_ids} still active after {timeout:.0f}s")


def migrate_metadata(env: Mapping[str, str]) -> None:
    """Bring the metadata DB `env` names to Airflow's schema and apply airflow_settings.yaml (pools, connections),
    as `make setup` does for the worktree's own."""
    for command in (["airflow", "db", "migrate"], ["local_stack.airflow_settings"]):
        done = subprocess.run(  # noqa: S603 - Airflow's own CLI and ours
            [sys.executable, "-m", *command], env=dict(env), capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise AirflowComponentsError(f"{' '.join(command)} failed: {done.stdout[-2000:]}{done.stderr[-3000:]}")


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


@contextmanager
def running_airflow(
    base_env: Mapping[str, str],
    log_dir: Path,
    components: Sequence[str] = COMPONENTS,
    timeout: float = 240.0,
    all_admins: bool = True,
) -> Iterator[AirflowComponents]:
    """Start the components against the metadata DB `base_env` names, wait until healthy, stop them on exit.
    `all_admins` as in `component_environment`: without it, the REST client here gets only what anonymous callers
    may (the health endpoint).

    The metadata DB must be migrated already (`airflow db migrate`)."""
    env = component_environment(base_env, free_port(), (free_port(), free_port()), all_admins)
    airflow = AirflowComponents(env, int(env["AIRFLOW__API__PORT"]), log_dir)
    try:
        airflow.start(components)
        airflow.wait_until_healthy(timeout)
        yield airflow
    finally:
        airflow.stop()
