"""Where the platform finds its providers, dbt project and artifacts; read from the environment, never the database."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from media_platform.config.constants import EXECUTION_MODE_ENV, ExecutionMode

PROJECT_ROOT = Path(__file__).resolve().parents[3]
INCLUDE_DIR = PROJECT_ROOT / "include"  # the ingest and eidr_matching packages live here


class SettingsError(ValueError):
    """An environment setting has a value the platform cannot use."""


@dataclass(frozen=True)
class PlatformSettings:
    """Paths and switches shared by the DAG builders; cheap to build at DAG parse time."""

    providers_dir: Path
    dbt_project_dir: Path
    dbt_manifest_path: Path
    dbt_executable: Path
    artifacts_dir: Path
    execution_mode: ExecutionMode
    deadline_alerts: bool = True
    task_retries: int | None = None

    @property
    def gx_root_dir(self) -> Path:
        return self.artifacts_dir / "gx"

    @property
    def dbt_docs_dir(self) -> Path:
        return self.artifacts_dir / "dbt_docs"

    @classmethod
    def from_env(cls) -> PlatformSettings:
        dbt_project_dir = Path(os.environ.get("MEDIA_DBT_PROJECT_DIR", PROJECT_ROOT / "include" / "dbt"))
        venv_dbt = Path(sys.executable).parent / "dbt"
        default_dbt = str(venv_dbt) if venv_dbt.exists() else shutil.which("dbt") or "dbt"
        return cls(
            providers_dir=Path(os.environ.get("MEDIA_PROVIDERS_DIR", PROJECT_ROOT / "include" / "providers")),
            dbt_project_dir=dbt_project_dir,
            dbt_manifest_path=dbt_project_dir / "target" / "manifest.json",
            dbt_executable=Path(os.environ.get("MEDIA_DBT_EXECUTABLE", default_dbt)),
            artifacts_dir=Path(os.environ.get("MEDIA_ARTIFACTS_DIR", PROJECT_ROOT / ".local" / "artifacts")),
            execution_mode=execution_mode_from_env(),
            # `airflow dags test` in Airflow 3.3.2 crashes after a successful run of a DAG with deadline alerts
            # (apache/airflow#73428); the demo and the tests switch them off, a deployment keeps them on.
            deadline_alerts=env_choice("MEDIA_DEADLINE_ALERTS", "on", ("on", "off")) == "on",
            # Dev and test runs set 0 so a failing task fails at once instead of waiting out retry delays.
            task_retries=int(os.environ["MEDIA_TASK_RETRIES"]) if os.environ.get("MEDIA_TASK_RETRIES") else None,
        )


def env_choice(name: str, default: str, allowed: Sequence[str], environ: Mapping[str, str] | None = None) -> str:
    """An environment setting that must be one of `allowed`; a bad value names the variable and the choices."""
    env = os.environ if environ is None else environ
    value = (env.get(name) or default).strip().lower()
    if value not in allowed:
        raise SettingsError(f"{name}={env.get(name)!r} is not valid; expected one of {', '.join(allowed)}")
    return value


def execution_mode_from_env(environ: Mapping[str, str] | None = None) -> ExecutionMode:
    """The ingest execution mode from MEDIA_EXECUTION_MODE (default local); environment only, so safe at parse time."""
    allowed = [mode.value for mode in ExecutionMode]
    return ExecutionMode(env_choice(EXECUTION_MODE_ENV, ExecutionMode.LOCAL.value, allowed, environ))
