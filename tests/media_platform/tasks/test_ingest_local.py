"""The local ingest run: the child's environment mirrors the pod, output is streamed, the summary is read back."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException
from ingest_cases import PROJECT_ROOT

from media_platform.config.settings import INCLUDE_DIR
from media_platform.tasks.ingest_local import local_ingest_env, read_summary, run_streaming


def test_local_env_mirrors_the_pod_not_the_worker():
    worker = {
        "PATH": "/usr/bin",
        "MEDIA_DROP_ROOT": "/srv/drop",
        "PYTHONPATH": "/opt/extra",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://airflow:pw@meta/airflow",
        "AIRFLOW_CONN_WAREHOUSE": "postgresql://x:y@z/w",
    }
    env = local_ingest_env("postgresql://ingest@db/wh", worker)
    assert env == {
        "PATH": "/usr/bin",
        "MEDIA_DROP_ROOT": "/srv/drop",
        "PYTHONPATH": f"{INCLUDE_DIR}:/opt/extra",
        "WAREHOUSE_DSN": "postgresql://ingest@db/wh",
        "PYTHONUNBUFFERED": "1",
    }
    assert INCLUDE_DIR == PROJECT_ROOT / "include"


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_output_is_streamed_while_the_child_runs(tmp_path: Path):
    ack = tmp_path / "ack"
    code = (
        "import pathlib, sys, time\n"
        "print('first', flush=True)\n"
        "print('to stderr', file=sys.stderr, flush=True)\n"
        f"ack = pathlib.Path({str(ack)!r})\n"
        "deadline = time.time() + 20\n"
        "while not ack.exists() and time.time() < deadline: time.sleep(0.05)\n"
        "print('saw ack' if ack.exists() else 'no ack: output was buffered')\n"
    )
    lines: list[str] = []

    def log_line(line: str) -> None:
        lines.append(line)
        if line == "first":
            ack.touch()

    run_streaming(python(code), {}, log_line)
    assert lines == ["first", "to stderr", "saw ack"]


def test_failure_reports_exit_code_and_last_lines():
    code = "import sys\nfor i in range(30): print(f'line-{i}')\nprint('boom: no files', file=sys.stderr)\nsys.exit(3)"
    lines: list[str] = []
    with pytest.raises(AirflowException, match="exited with code 3") as failure:
        run_streaming(python(code), {"PYTHONUNBUFFERED": "1"}, lines.append)  # as local_ingest_env sets it
    message = str(failure.value)
    assert "boom: no files" in message and "line-29" in message
    assert "line-0\n" not in message
    assert len(lines) == 31


def test_summary_is_read_from_the_summary_file(tmp_path: Path):
    summary = tmp_path / "summary.json"
    payload: dict[str, Any] = {"provider": "demo_adi", "files": 2, "rows": 17}
    code = f"import json, sys\njson.dump({payload!r}, open(sys.argv[1], 'w'))\nprint('done')"
    tail = run_streaming([*python(code), str(summary)], {}, lambda line: None)
    assert read_summary(summary, tail) == payload


def test_summary_falls_back_to_the_last_json_line(tmp_path: Path):
    code = "print('loading'); print('{\"files\": 1}'); print('bye')"
    tail = run_streaming(python(code), {}, lambda line: None)
    assert read_summary(tmp_path / "missing.json", tail) == {"files": 1}
    with pytest.raises(AirflowException, match="no summary"):
        read_summary(tmp_path / "missing.json", ["plain text"])
