"""Embedded PostgreSQL for laptops and CI: the pgserver wheel's binaries on 127.0.0.1 over TCP."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOCAL_DIR = PROJECT_ROOT / ".local"
DEFAULT_DATA_DIR = LOCAL_DIR / "pgdata"
DATABASES = ("airflow", "warehouse")
_SYSTEM_USER = "pgserver"  # PostgreSQL refuses to run as root; pgserver's own convention


def _postgres_bin_path() -> Path:
    """The pgserver wheel's bin folder; every use of pgserver goes through here."""
    # pgserver's import asks platformdirs for a runtime dir (for a lock we never use) and warns when there is none.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(LOCAL_DIR / "run"))
    from pgserver._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH


def _bin(name: str) -> str:
    return str(_postgres_bin_path() / name)


def _run_as() -> dict[str, str]:
    """Run the server as an unprivileged user when we are root (CI, containers)."""
    if os.geteuid() != 0:
        return {}
    import stat

    bin_path = _postgres_bin_path()
    from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(_SYSTEM_USER)
    ensure_prefix_permissions(bin_path)
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(bin_path, readable | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(bin_path.parent / "lib", readable)
    ensure_folder_permissions(bin_path.parent / "share", readable | stat.S_IXGRP | stat.S_IXOTH)
    return {"user": _SYSTEM_USER}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:port (connections of a stopped server in TIME_WAIT do not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself binds
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _port_file(data_dir: Path) -> Path:
    return data_dir.parent / "pgport"


# Who may connect how: over TCP (127.0.0.1, which every user of the machine reaches) only with a password
# (SCRAM); the Unix socket lives in the data folder (mode 0700), which only the server's user and root can enter,
# so the local tooling sets things up through it without one.
PG_HBA = """\
# Written by dev/local_stack/postgres.py at every start.
local all all trust
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""


def _passwords_file(data_dir: Path) -> Path:
    return data_dir.parent / "pgpasswords.json"


def password(name: str, data_dir: Path = DEFAULT_DATA_DIR) -> str:
    """The password of role `name` on the server of data_dir: generated the first time it is asked for and kept in
    .local/pgpasswords.json (mode 0600, outside git), the same ever after."""
    path = _passwords_file(data_dir)
    known = json.loads(path.read_text()) if path.exists() else {}
    if name not in known:
        known[name] = secrets.token_urlsafe(24)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")
    return str(known[name])


def recorded_port(data_dir: Path = DEFAULT_DATA_DIR) -> int | None:
    """The port the server of data_dir last started on (kept in .local/pgport), if it ever started."""
    port_file = _port_file(data_dir)
    text = port_file.read_text().strip() if port_file.exists() else ""
    return int(text) if text.isdigit() else None


def _choose_port(data_dir: Path) -> int:
    """The port the server had last time, so every connection made with it stays right across restarts; a new
    free one only when another program took it meanwhile (devenv then re-applies the Airflow connections)."""
    previous = recorded_port(data_dir)
    if previous is not None and port_is_free(previous):
        return previous
    return _free_port()


def is_running(data_dir: Path = DEFAULT_DATA_DIR) -> bool:
    """True when the server of data_dir runs and answers on its TCP port (not another server on that port)."""
    port_file = _port_file(data_dir)
    if not port_file.exists() or not (data_dir / "postmaster.pid").exists():
        return False
    result = subprocess.run(
        [_bin("pg_isready"), "-h", "127.0.0.1", "-p", port_file.read_text().strip(), "-q"], check=False
    )
    return result.returncode == 0


def start(data_dir: Path = DEFAULT_DATA_DIR) -> int:
    """Initialise data_dir if new, start the server on 127.0.0.1 and create the project databases; return the port
    (the one of the last start when it is still free)."""
    if is_running(data_dir):
        port = int(_port_file(data_dir).read_text())
        if _write_hba(data_dir):  # a server set up before passwords were required: they are from now on
            _admin(data_dir, "select pg_reload_conf()")
        _set_up(data_dir, port)
        return port
    run_as = _run_as()
    data_dir.mkdir(parents=True, exist_ok=True)
    if run_as:
        import shutil

        from pgserver.utils import ensure_prefix_permissions

        ensure_prefix_permissions(data_dir)
        shutil.chown(data_dir, run_as["user"], run_as["user"])
        data_dir.chmod(0o700)
    if not (data_dir / "PG_VERSION").exists():
        subprocess.run(
            [
                _bin("initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
            ],  # fmt: skip
            check=True,
            stdout=subprocess.DEVNULL,
            **run_as,
        )
    _write_hba(data_dir)
    port = _choose_port(data_dir)
    socket_dir = data_dir  # a private socket dir keeps us apart from any system server
    log_file = data_dir / "server.log"
    subprocess.run(
        [
            _bin("pg_ctl"),
            "-D",
            str(data_dir),
            "-w",
            "-t",
            "60",
            "-l",
            str(log_file),
            "-o",
            f"-h 127.0.0.1 -p {port} -k {socket_dir} -c max_connections=200 -c fsync=off",
            "start",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        **run_as,
    )
    _port_file(data_dir).write_text(str(port))
    _set_up(data_dir, port)
    return port


def _write_hba(data_dir: Path) -> bool:
    """Make pg_hba.conf PG_HBA; returns whether it changed (a running server then needs a reload)."""
    hba = data_dir / "pg_hba.conf"
    if hba.exists() and hba.read_text() == PG_HBA:
        return False
    hba.write_text(PG_HBA)
    run_as = _run_as()
    if run_as:
        import shutil

        shutil.chown(hba, run_as["user"], run_as["user"])
    hba.chmod(0o600)
    return True


def _admin(data_dir: Path, *statements: str | tuple[str, tuple]) -> list[list[tuple] | None]:
    """Run statements as the superuser through the server's private Unix socket (no password needed there)."""
    import psycopg2

    port = _port_file(data_dir).read_text().strip()
    conn = psycopg2.connect(host=str(data_dir), port=port, user="postgres", dbname="postgres")
    conn.autocommit = True
    rows: list[list[tuple] | None] = []
    try:
        with conn.cursor() as cur:
            for statement in statements:
                text, params = statement if isinstance(statement, tuple) else (statement, ())
                cur.execute(text, params or None)
                rows.append(cur.fetchall() if cur.description else None)
    finally:
        conn.close()
    return rows


def _set_up(data_dir: Path, port: int) -> None:
    """The superuser's password (from .local/pgpasswords.json) and the project databases."""
    del port  # the socket's name carries it; kept for the call sites' clarity
    [existing] = _admin(data_dir, "select datname from pg_database")
    names = {row[0] for row in existing or []}
    _admin(
        data_dir,
        ("alter role postgres password %s", (password("postgres", data_dir),)),
        *(f'create database "{name}"' for name in DATABASES if name not in names),
    )


def stop(data_dir: Path = DEFAULT_DATA_DIR) -> None:
    """Stop the server if it runs."""
    if not (data_dir / "postmaster.pid").exists():
        return
    subprocess.run(
        [_bin("pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"],
        check=False,
        stdout=subprocess.DEVNULL,
        **_run_as(),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["start", "stop", "status", "port"])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    if args.action == "start":
        started = time.monotonic()
        port = start(args.data_dir)
        print(f"embedded PostgreSQL on 127.0.0.1:{port} ({time.monotonic() - started:.1f}s)", file=sys.stderr)
    elif args.action == "stop":
        stop(args.data_dir)
    elif args.action == "port":
        print(_port_file(args.data_dir).read_text().strip())
    else:
        running = is_running(args.data_dir)
        print("running" if running else "stopped")
        return 0 if running else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
