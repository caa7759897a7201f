"""Embedded PostgreSQL for laptops and CI: the pgserver wheel's binaries on 127.0.0.1 over TCP."""

from __future__ import annotations

import argparse
import os
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


def _port_file(data_dir: Path) -> Path:
    return data_dir.parent / "pgport"


def is_running(data_dir: Path = DEFAULT_DATA_DIR) -> bool:
    """True when the server for data_dir answers on its TCP port."""
    port_file = _port_file(data_dir)
    if not port_file.exists():
        return False
    result = subprocess.run(
        [_bin("pg_isready"), "-h", "127.0.0.1", "-p", port_file.read_text().strip(), "-q"], check=False
    )
    return result.returncode == 0


def start(data_dir: Path = DEFAULT_DATA_DIR) -> int:
    """Initialise data_dir if new, start the server on 127.0.0.1 and create the project databases; return the port."""
    if is_running(data_dir):
        port = int(_port_file(data_dir).read_text())
        _create_databases(port)
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
            [_bin("initdb"), "-D", str(data_dir), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C"],
            check=True,
            stdout=subprocess.DEVNULL,
            **run_as,
        )
    port = _free_port()
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
    _create_databases(port)
    return port


def _create_databases(port: int) -> None:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for name in DATABASES:
                cur.execute("select 1 from pg_database where datname = %s", (name,))
                if cur.fetchone() is None:
                    cur.execute(f'create database "{name}"')
    finally:
        conn.close()


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
