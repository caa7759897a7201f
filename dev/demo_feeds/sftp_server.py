"""A local SFTP drop for the demo: one password user, chrooted to a folder, on 127.0.0.1, with a pinned host key.

`MEDIA_DEMO_SFTP_PASSWORD=P python -m demo_feeds.sftp_server --root DIR --port N --host-key-file KEY
--known-hosts-out FILE --username U` keeps the host key in KEY (made on first start), writes the `[127.0.0.1]:N`
known_hosts line the ingest client checks, prints one "ready" line and serves until SIGTERM or Ctrl-C.
The password comes from the environment: on a command line it shows in `ps`, and one starting with "-" is an option.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import os
import signal
import sys
from pathlib import Path
from typing import Any

import asyncssh

PASSWORD_ENV = "MEDIA_DEMO_SFTP_PASSWORD"  # not the ingest client's MEDIA_SFTP_PASSWORD

HOST = "127.0.0.1"
KEY_ALGORITHM = "ssh-ed25519"


def load_host_key(path: Path) -> asyncssh.SSHKey:
    """The server's private key from `path`; made (owner-only) on first use so clients' known_hosts stay valid."""
    if path.is_file():
        return asyncssh.read_private_key(os.fspath(path))
    key = asyncssh.generate_private_key(KEY_ALGORITHM)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key.export_private_key("openssh"))
    return key


def known_hosts_line(key: asyncssh.SSHKey, port: int) -> str:
    """The OpenSSH known_hosts entry for this server; a non-22 port is written as `[host]:port`."""
    host = HOST if port == 22 else f"[{HOST}]:{port}"
    return f"{host} {key.export_public_key('openssh').decode().strip()}\n"


def _server_factory(username: str, password: str) -> type[asyncssh.SSHServer]:
    class PasswordOnly(asyncssh.SSHServer):
        def begin_auth(self, user: str) -> bool:
            return True  # always ask for a password, even for an unknown user

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, user: str, given: str) -> bool:
            return hmac.compare_digest(f"{user}\0{given}".encode(), f"{username}\0{password}".encode())

    return PasswordOnly


def _sftp_factory(root: Path) -> type[asyncssh.SFTPServer]:
    class Chrooted(asyncssh.SFTPServer):
        def __init__(self, chan: Any):
            super().__init__(chan, chroot=os.fsencode(root))

    return Chrooted


async def serve(args: argparse.Namespace) -> None:
    """Listen until SIGTERM/SIGINT; the ready line goes out only once the known_hosts file is written."""
    root = args.root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    key = load_host_key(args.host_key_file)
    acceptor = await asyncssh.listen(
        HOST,
        args.port,
        server_host_keys=[key],
        server_factory=_server_factory(args.username, args.password),
        sftp_factory=_sftp_factory(root),
        allow_scp=False,
        reuse_address=True,
    )
    port = acceptor.sockets[0].getsockname()[1]
    args.known_hosts_out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.known_hosts_out.with_name(args.known_hosts_out.name + ".tmp")
    partial.write_text(known_hosts_line(key, port), encoding="utf-8")
    partial.replace(args.known_hosts_out)  # whole or absent: a waiting client never reads half a line
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"ready: sftp://{HOST}:{port}/ serves {root}", flush=True)
    await stop.wait()
    acceptor.close()
    await acceptor.wait_closed()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo_feeds.sftp_server", description=__doc__)
    parser.add_argument("--root", type=Path, required=True, help="folder served as / (clients cannot leave it)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1; 0 picks a free one")
    parser.add_argument("--host-key-file", type=Path, required=True, help="server private key; created if missing")
    parser.add_argument("--known-hosts-out", type=Path, required=True, help="known_hosts file to write for clients")
    parser.add_argument("--username", required=True)
    args = parser.parse_args(argv)
    args.password = os.environ.get(PASSWORD_ENV)
    if not args.password:
        parser.error(f"set the password in the {PASSWORD_ENV} environment variable")
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
