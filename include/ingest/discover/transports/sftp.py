"""SFTP drops: sftp://host[:port]/absolute/path; user, password or key from env; host key checked in known_hosts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult

from ingest.discover.transports.base import NOT_A_FILE, SYMLINK_ESCAPES, Credential, Entry, Location, TransportSpec
from ingest.models import IngestError, UsageError

USERNAME_ENV = "MEDIA_SFTP_USERNAME"
PASSWORD_ENV = "MEDIA_SFTP_PASSWORD"  # noqa: S105 - the variable's name, not a password
KEY_FILE_ENV = "MEDIA_SFTP_KEY_FILE"
KNOWN_HOSTS_ENV = "MEDIA_SFTP_KNOWN_HOSTS"
TIMEOUT_SECONDS = 30


def open_sftp(parts: SplitResult, env: Mapping[str, str]) -> SftpLocation:
    """Connect with the env's credentials; an unknown or changed host key refuses the connection."""
    import paramiko
    from fsspec.implementations.sftp import SFTPFileSystem

    host, port = parts.hostname, parts.port or 22
    if not host:
        raise UsageError("an sftp:// location needs a host: sftp://host[:port]/path")
    username = env.get(USERNAME_ENV)
    password, key_file = env.get(PASSWORD_ENV) or None, env.get(KEY_FILE_ENV) or None
    if not username or not (password or key_file):
        raise UsageError(f"SFTP needs {USERNAME_ENV} and {PASSWORD_ENV} or {KEY_FILE_ENV} in the environment")
    known_hosts = Path(env.get(KNOWN_HOSTS_ENV) or Path.home() / ".ssh" / "known_hosts")
    url = f"sftp://{host}:{port}{parts.path}" if parts.port else f"sftp://{host}{parts.path}"
    try:
        fs = SFTPFileSystem(
            host,
            port=port,
            username=username,
            password=password,
            key_filename=key_file,
            look_for_keys=False,
            allow_agent=False,
            timeout=TIMEOUT_SECONDS,
            banner_timeout=TIMEOUT_SECONDS,
            auth_timeout=TIMEOUT_SECONDS,
            host_key_policy=_known_hosts_policy(known_hosts),
            skip_instance_cache=True,
        )
    except paramiko.AuthenticationException:
        raise IngestError(f"SFTP authentication failed at {host}:{port} for the user in {USERNAME_ENV}") from None
    root = parts.path.rstrip("/") or "/"
    return SftpLocation(fs, root, url, url)


class SftpLocation(Location):
    """A folder on an SFTP server; symlinks are resolved on the server and must stay inside the folder."""

    def list(self, path: str) -> list[Entry]:
        entries = []
        for info in self.fs.ls(path, detail=True):
            entry = self._entry(info)
            if info.get("type") == "link":
                entry = self._followed(entry)
            elif not entry.is_dir and not entry.is_file:
                entry = Entry(entry.name, False, entry.size, entry.modified_at, escapes=NOT_A_FILE, is_file=False)
            entries.append(entry)
        return entries

    def _followed(self, link: Entry) -> Entry:
        try:
            target = self.fs.ftp.normalize(link.name)
            real_root = self.fs.ftp.normalize(self.root)
        except OSError:
            return Entry(link.name, False, None, link.modified_at, escapes=NOT_A_FILE, is_file=False)
        if target != real_root and not target.startswith(real_root.rstrip("/") + "/"):
            return Entry(link.name, False, link.size, link.modified_at, escapes=SYMLINK_ESCAPES, is_file=False)
        target_entry = self._entry(self.fs.info(target))
        return Entry(
            link.name, target_entry.is_dir, target_entry.size, target_entry.modified_at, is_file=target_entry.is_file
        )


def _known_hosts_policy(known_hosts: Path) -> Any:
    """A paramiko host-key policy that accepts a server only when its key is in the known_hosts file (paramiko is
    imported here, not with the transport registry)."""
    import paramiko

    class _KnownHostsPolicy(paramiko.MissingHostKeyPolicy):
        """paramiko host-key policy: accept a server only when its key is in the known_hosts file."""

        def __init__(self, known_hosts: Path):
            self.known_hosts = known_hosts

        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            keys = paramiko.HostKeys()
            if self.known_hosts.is_file():
                keys.load(os.fspath(self.known_hosts))
            if not keys.check(hostname, key):
                raise IngestError(
                    f"SFTP host key of {hostname} is not in {self.known_hosts}: add the server's key there "
                    f"(set {KNOWN_HOSTS_ENV} to a known_hosts file)"
                )

    return _KnownHostsPolicy(known_hosts)


TRANSPORT = TransportSpec(
    "sftp",
    ("sftp",),
    (
        Credential(USERNAME_ENV, "login"),
        Credential(PASSWORD_ENV, "password", secret=True),
        Credential(KEY_FILE_ENV, "extra.key_file"),
        Credential(KNOWN_HOSTS_ENV, "extra.known_hosts"),
    ),
    open_sftp,
)
