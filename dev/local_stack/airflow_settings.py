"""Applies airflow_settings.yaml (Astro CLI format: connections, pools, variables) to the Airflow metadata DB."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_VAR = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")
DEFAULT_PATH = PROJECT_ROOT / "airflow_settings.yaml"
# In AIRFLOW_HOME: a digest of the settings last applied there (no secret in it), so a command that finds them
# changed (the embedded server on a new port, new passwords) applies them again before it runs.
APPLIED_STAMP = "airflow_settings.applied"


class SettingsFileError(ValueError):
    """airflow_settings.yaml is not in the expected shape, or names an unset variable."""


def expand(value: Any, environ: dict[str, str], where: str) -> Any:
    """Expand ${VAR} and ${VAR:-default} in strings; an unset variable without default is an error naming it."""
    if isinstance(value, dict):
        return {key: expand(item, environ, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [expand(item, environ, f"{where}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise SettingsFileError(f"{where}: environment variable {name} is not set")

    return _VAR.sub(replace, value)


def load_settings(path: Path, environ: dict[str, str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """The file's connections, pools and variables, expanded and checked for the fields each needs."""
    data = yaml.safe_load(path.read_text()) or {}
    section = data.get("airflow") or {}
    if not isinstance(section, dict):
        raise SettingsFileError(f"{path}: airflow: expected a mapping with connections, pools, variables")
    expanded = expand(section, dict(os.environ if environ is None else environ), f"{path}: airflow")
    required = {
        "connections": ("conn_id", "conn_type"),
        "pools": ("pool_name", "pool_slot"),
        "variables": ("variable_name",),
    }
    result: dict[str, list[dict[str, Any]]] = {}
    for kind, fields in required.items():
        items = expanded.get(kind) or []
        for i, item in enumerate(items):
            missing = [field for field in fields if not item.get(field) and item.get(field) != 0]
            if missing:
                raise SettingsFileError(f"{path}: airflow.{kind}[{i}]: missing {', '.join(missing)}")
        result[kind] = items
    return result


def apply_settings(settings: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Create or replace each connection, pool and variable; returns how many of each were applied."""
    from airflow.models import Connection, Pool, Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        for item in settings["connections"]:
            session.query(Connection).filter(Connection.conn_id == item["conn_id"]).delete()
            extra = item.get("conn_extra")
            session.add(
                Connection(
                    conn_id=item["conn_id"],
                    conn_type=item["conn_type"],
                    host=item.get("conn_host") or None,
                    schema=item.get("conn_schema") or None,
                    login=item.get("conn_login") or None,
                    password=item.get("conn_password") or None,
                    port=int(item["conn_port"]) if item.get("conn_port") else None,
                    extra=json.dumps(extra) if isinstance(extra, dict) else extra,
                )
            )
        for item in settings["pools"]:
            Pool.create_or_update_pool(
                name=item["pool_name"],
                slots=int(item["pool_slot"]),
                description=item.get("pool_description", ""),
                include_deferred=False,
                session=session,
            )
        for item in settings["variables"]:
            Variable.set(item["variable_name"], item.get("variable_value", ""), session=session)
    return {kind: len(items) for kind, items in settings.items()}


def fingerprint(settings: dict[str, list[dict[str, Any]]]) -> str:
    """A digest of the expanded settings: equal exactly when the same connections, pools and variables apply."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def _stamp(environ: dict[str, str]) -> Path | None:
    home = environ.get("AIRFLOW_HOME")
    return Path(home) / APPLIED_STAMP if home else None


def reapply_if_changed(environ: dict[str, str], path: Path = DEFAULT_PATH) -> bool:
    """Apply the settings again (in a child process, which imports Airflow) when they differ from the ones last
    applied to this AIRFLOW_HOME, e.g. the embedded server came back on another port; returns whether it did.
    Nothing happens where they were never applied (`make setup` applies them after migrating the metadata DB)."""
    stamp = _stamp(environ)
    if stamp is None or not stamp.exists():
        return False
    if stamp.read_text().strip() == fingerprint(load_settings(path, environ)):
        return False
    command = [sys.executable, "-m", "local_stack.airflow_settings", str(path)]
    result = subprocess.run(command, env=environ, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SettingsFileError(f"re-applying {path} failed:\n{(result.stdout + result.stderr)[-2000:]}")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    settings = load_settings(args.path)
    counts = apply_settings(settings)
    stamp = _stamp(dict(os.environ))
    if stamp is not None:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(fingerprint(settings) + "\n")
    print(", ".join(f"{count} {kind}" for kind, count in counts.items()) + f" applied from {args.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
