"""The extract_load task without a cluster: the same ingest CLI as a subprocess of the worker, output streamed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from ingest import contract
from media_platform.config.constants import INGEST_WAREHOUSE_CONN_ID
from media_platform.config.provider import ProviderConfig
from media_platform.config.settings import INCLUDE_DIR
from media_platform.tasks.ingest_cli import INGEST_ENTRYPOINT, ingest_arguments
from media_platform.tasks.warehouse_conn import resolve_warehouse_dsn

if TYPE_CHECKING:
    from airflow.sdk import Context

# Worker variables the local child may see; everything else (Airflow's own settings included) stays out, like in a pod.
_LOCAL_PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SYSTEMROOT", contract.DROP_ROOT_ENV)
_TAIL_LINES = 20


def local_ingest_env(dsn: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The child's environment: what the pod would get (DSN, drop root), plus PATH/locale and include/ on PYTHONPATH."""
    source = os.environ if environ is None else environ
    env = {key: source[key] for key in _LOCAL_PASSTHROUGH if key in source}
    python_path = [str(INCLUDE_DIR), *filter(None, source.get("PYTHONPATH", "").split(os.pathsep))]
    env.update({contract.WAREHOUSE_DSN_ENV: dsn}, PYTHONPATH=os.pathsep.join(python_path), PYTHONUNBUFFERED="1")
    return env


def run_streaming(
    command: Sequence[str],
    env: Mapping[str, str],
    log_line: Callable[[str], None],
    on_start: Callable[[subprocess.Popen[str]], None] | None = None,
) -> list[str]:
    """Run command, pass each output line to log_line as it comes; on failure raise with exit code and last lines."""
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    with subprocess.Popen(
        list(command),
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        bufsize=1,
    ) as process:
        if on_start:
            on_start(process)
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip("\n")
            tail.append(line)
            log_line(line)
        code = process.wait()
    if code != 0:
        last = "\n".join(tail)
        raise AirflowException(f"{command[0]} exited with code {code}; last {len(tail)} lines:\n{last}")
    return list(tail)


def read_summary(summary_file: Path, tail: Sequence[str]) -> dict[str, Any]:
    """The summary the CLI wrote to --summary-file, else the last JSON object line it printed."""
    if summary_file.exists() and summary_file.stat().st_size:
        return dict(json.loads(summary_file.read_text(encoding="utf-8")))
    for line in reversed(tail):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    raise AirflowException(f"ingest exited 0 but wrote no summary to {summary_file} and printed no JSON line")


def ingest_command(arguments: Sequence[str], summary_file: Path) -> list[str]:
    """The pod's command and arguments, run by this worker's interpreter instead of the image's `python`."""
    return [sys.executable, *INGEST_ENTRYPOINT[1:], *arguments, contract.Flag.SUMMARY_FILE.value, str(summary_file)]


def run_ingest_subprocess(
    arguments: Sequence[str],
    env: Mapping[str, str],
    log_line: Callable[[str], None] = print,
    on_start: Callable[[subprocess.Popen[str]], None] | None = None,
) -> dict[str, Any]:
    """`python -m ingest <arguments> --summary-file <tmp>` with this interpreter; returns the parsed summary."""
    with tempfile.TemporaryDirectory(prefix="ingest-") as tmp:
        summary_file = Path(tmp) / "summary.json"
        tail = run_streaming(ingest_command(arguments, summary_file), env, log_line, on_start)
        return read_summary(summary_file, tail)


class LocalIngestOperator(BaseOperator):
    """Runs the ingest CLI as a subprocess of the worker, with the warehouse DSN of the `warehouse_ingest`
    connection (the role ingest_writer)."""

    template_fields: Sequence[str] = ("arguments",)
    ui_color = "#e8f4ea"

    def __init__(
        self, *, arguments: list[str], transport: str = "local", credentials_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(**kwargs)
        self.arguments = arguments
        self.transport = transport
        self.credentials_conn_id = credentials_conn_id
        self._process: subprocess.Popen[str] | None = None

    def execute(self, context: Context) -> dict[str, Any]:
        from media_platform.tasks.credentials import transport_env

        env = local_ingest_env(resolve_warehouse_dsn(INGEST_WAREHOUSE_CONN_ID))
        env.update(transport_env(self.transport, self.credentials_conn_id))
        return run_ingest_subprocess(self.arguments, env, lambda line: self.log.info("%s", line), self._remember)

    def _remember(self, process: subprocess.Popen[str]) -> None:
        self._process = process

    def on_kill(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()


def build_local_task(config: ProviderConfig, task_id: str = "extract_load") -> LocalIngestOperator:
    """The ingest CLI as a local subprocess: for laptops and CI, where there is no cluster."""
    return LocalIngestOperator(
        task_id=task_id,
        arguments=ingest_arguments(config),
        transport=config.source.transport,
        credentials_conn_id=config.source.credentials_conn_id,
    )
