"""The local environment: which PostgreSQL, where Airflow lives, telemetry off; runs a command inside it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from local_stack import airflow_settings, postgres

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOCAL_DIR = PROJECT_ROOT / ".local"
# What local runs import from: the shipped packages, plus dev/ for the demo, the demo feeds' servers and the
# benchmarks. The image and the pods get only the first three (Dockerfile), so production code must never import
# from dev/ (tests/test_layout.py checks it).
PYTHONPATH_DIRS = ("plugins", "include", "dags", "dev")
VENV_BIN = Path(sys.executable).parent


def _dotenv() -> dict[str, str]:
    """Settings from an optional `.env` file at the project root (KEY=VALUE lines)."""
    path = PROJECT_ROOT / ".env"
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip().strip("'\"")
    return values


def database_urls(warehouse_db: str = "warehouse", airflow_db: str = "airflow") -> tuple[str, str]:
    """(warehouse URL, Airflow metadata URL): configured servers if set, else the embedded one, started on demand."""
    settings = {**_dotenv(), **os.environ}
    warehouse = settings.get("MEDIA_WAREHOUSE_URL")
    metadata = settings.get("MEDIA_AIRFLOW_DB_URL")
    if warehouse and metadata:
        return warehouse, metadata
    if warehouse or metadata:
        raise SystemExit("Set both MEDIA_WAREHOUSE_URL and MEDIA_AIRFLOW_DB_URL, or neither (embedded PostgreSQL).")
    port = postgres.start()
    base = f"postgresql://postgres:{postgres.password('postgres')}@127.0.0.1:{port}"  # kept in .local, mode 0600
    return f"{base}/{warehouse_db}", f"{base}/{airflow_db}"


# The warehouse roles (media_platform.warehouse.roles) and the variables their passwords are read from.
WAREHOUSE_ROLES = ("ingest_writer", "transformer", "publisher", "reporting_reader")


def role_passwords(environ: dict[str, str]) -> dict[str, str]:
    """WAREHOUSE_<ROLE>_PASSWORD for each role: the configured ones if set, else (embedded server) generated at
    set-up and kept in .local/pgpasswords.json."""
    embedded = not environ.get("MEDIA_WAREHOUSE_URL")
    passwords = {}
    for role in WAREHOUSE_ROLES:
        variable = f"WAREHOUSE_{role.upper()}_PASSWORD"
        if environ.get(variable):
            passwords[variable] = environ[variable]
        elif embedded:
            passwords[variable] = postgres.password(role)
    return passwords


def environment(warehouse_db: str = "warehouse", airflow_db: str = "airflow") -> dict[str, str]:
    """Environment variables for Airflow, dbt, GX and the ingest CLI on this machine."""
    warehouse_url, metadata_url = database_urls(warehouse_db, airflow_db)
    wh = urlsplit(warehouse_url)
    airflow_home = LOCAL_DIR / "airflow"
    airflow_home.mkdir(parents=True, exist_ok=True)
    env = {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # Locally the providers' DAGs run on their schedules as soon as they appear (`make airflow` after `make demo`).
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url.replace("postgresql://", "postgresql+psycopg2://", 1),
        # Read-only use by the deadline guard (media_platform.notifications.deadline_guard): tasks may not use
        # Airflow's own database settings, so it reaches the metadata database through this connection.
        "AIRFLOW_CONN_AIRFLOW_METADATA": metadata_url,
        "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__COSMOS__CACHE_DIR": str(LOCAL_DIR / "cosmos_cache"),
        "DO_NOT_TRACK": "1",
        "SCARF_ANALYTICS": "false",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "GX_ANALYTICS_ENABLED": "False",
        "WAREHOUSE_HOST": wh.hostname or "127.0.0.1",
        "WAREHOUSE_PORT": str(wh.port or 5432),
        "WAREHOUSE_USER": wh.username or "postgres",
        "WAREHOUSE_PASSWORD": wh.password or "",
        "WAREHOUSE_DB": wh.path.lstrip("/"),
        "WAREHOUSE_DSN": warehouse_url,
        # The roles migration (`make setup`; a deploy runs it with its own admin URL) connects with this one.
        "WAREHOUSE_ADMIN_DSN": warehouse_url,
        **role_passwords({**_dotenv(), **os.environ}),
        "MEDIA_DROP_ROOT": os.environ.get("MEDIA_DROP_ROOT", str(LOCAL_DIR / "drop")),
        "MEDIA_ARTIFACTS_DIR": os.environ.get("MEDIA_ARTIFACTS_DIR", str(LOCAL_DIR / "artifacts")),
        "PYTHONPATH": os.pathsep.join(str(PROJECT_ROOT / p) for p in PYTHONPATH_DIRS),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    # The embedded server keeps its port across restarts; when it could not (another program took it), the
    # connections in .local/airflow's metadata database follow it here, before the command runs.
    if airflow_db == "airflow" and airflow_settings.reapply_if_changed({**os.environ, **env}):
        where = f"{env['WAREHOUSE_HOST']}:{env['WAREHOUSE_PORT']}"
        print(f"warehouse now on {where}: Airflow connections re-applied", file=sys.stderr)
    return env


def main(argv: list[str] | None = None) -> int:
    """`python -m local_stack.devenv CMD ...` runs CMD with the local environment."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--":
        args = args[1:]
    env = {**os.environ, **environment()}
    if not args:
        for key, value in sorted(env.items()):
            if key.startswith(("AIRFLOW", "WAREHOUSE", "MEDIA", "PYTHONPATH")):
                print(f"export {key}='{value}'")
        return 0
    os.execvpe(args[0], args, env)


if __name__ == "__main__":
    raise SystemExit(main())
