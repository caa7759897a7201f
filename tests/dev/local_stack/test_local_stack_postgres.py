"""The embedded PostgreSQL keeps its port across restarts and moves only when another program took it.

Each test starts a server of its own (its own data folder and port): the session's server is never restarted.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import psycopg2
import pytest

from local_stack import postgres


@pytest.fixture()
def data_dir(own_server_dir: Callable[[str], Path]) -> Path:
    return own_server_dir("restart")


def _answers(port: int, data_dir: Path) -> bool:
    secret = postgres.password("postgres", data_dir)
    with (
        psycopg2.connect(host="127.0.0.1", port=port, user="postgres", password=secret, dbname="warehouse") as conn,
        conn.cursor() as cur,
    ):
        cur.execute("select 1")
        return cur.fetchone() == (1,)


def test_a_restarted_server_comes_back_on_its_port(data_dir: Path) -> None:
    first = postgres.start(data_dir)
    assert postgres.recorded_port(data_dir) == first and _answers(first, data_dir)
    postgres.stop(data_dir)
    assert not postgres.is_running(data_dir)
    assert postgres.start(data_dir) == first and _answers(first, data_dir)


def test_a_taken_port_moves_the_server_to_a_free_one(data_dir: Path) -> None:
    first = postgres.start(data_dir)
    postgres.stop(data_dir)
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", first))
        squatter.listen()
        assert not postgres.port_is_free(first)
        moved = postgres.start(data_dir)
    assert moved != first and postgres.recorded_port(data_dir) == moved and _answers(moved, data_dir)


def test_another_server_on_the_recorded_port_is_not_taken_for_ours(
    data_dir: Path, own_server_dir: Callable[[str], Path]
) -> None:
    other_port = postgres.start(own_server_dir("other"))
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    (data_dir.parent / "pgport").write_text(str(other_port))  # as if ours had that port, then stopped
    assert not postgres.is_running(data_dir)
    assert postgres.start(data_dir) != other_port


def test_tcp_needs_the_generated_password_kept_private(data_dir: Path) -> None:
    port = postgres.start(data_dir)
    with pytest.raises(psycopg2.OperationalError, match="password"):
        psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="warehouse")
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(host="127.0.0.1", port=port, user="postgres", password="postgres", dbname="warehouse")
    kept = data_dir.parent / "pgpasswords.json"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert postgres.password("postgres", data_dir) in kept.read_text()
    assert _answers(port, data_dir)


def test_a_server_set_up_without_passwords_requires_them_after_its_next_start(data_dir: Path) -> None:
    port = postgres.start(data_dir)
    (data_dir / "pg_hba.conf").write_text("host all all 127.0.0.1/32 trust\nlocal all all trust\n")  # as before
    postgres.stop(data_dir)
    postgres.start(data_dir)
    with pytest.raises(psycopg2.OperationalError, match="password"):
        psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="warehouse")
    assert _answers(port, data_dir)
