"""What every transport shares: the listing Entry, the opened Location, and the TransportSpec each driver declares."""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO
from urllib.parse import SplitResult, urlsplit

log = logging.getLogger("ingest")
ESCAPES = "path escapes the drop location"
SYMLINK_ESCAPES = "symlink points outside the drop location"
NOT_A_FILE = "not a regular file"


@dataclass(frozen=True)
class Credential:
    """An environment variable a transport reads its credentials or connection settings from.

    `connection_field` says where an Airflow connection holds it for a local run: "login", "password", or
    "extra.<key>"; None when no connection field maps to it (the pod's own environment may still set it). `secret`
    values are masked in logs.
    """

    env: str
    connection_field: str | None = None
    secret: bool = False


@dataclass(frozen=True)
class TransportSpec:
    """One transport as the provider YAML names it: the location schemes it serves ("" is a plain path), the
    variables it reads, and how it opens a location (None for a source that is not a file location, the REST API)."""

    name: str
    schemes: tuple[str, ...]
    credentials: tuple[Credential, ...]
    open: Callable[[SplitResult, Mapping[str, str]], Location] | None
    source_kind: str = "files"


@dataclass(frozen=True)
class Entry:
    """One name listed under a location, as the transport reports it; `escapes` is set when it points outside."""

    name: str
    is_dir: bool
    size: int | None
    modified_at: datetime | None
    etag: str | None = None
    escapes: str | None = None
    is_file: bool = True


class Location:
    """An opened drop location: an fsspec filesystem, the root path inside it, and a URL that is safe to log."""

    def __init__(self, fs: Any, root: str, url: str, key: str):
        self.fs = fs
        self.root = root.rstrip("/") or "/"
        self.url = url
        self.key = key  # what the processed-files ledger records as the location

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def list(self, path: str) -> list[Entry]:
        """The entries directly inside path (a name from this location); FileNotFoundError when it does not exist."""
        return [self._entry(info) for info in self.fs.ls(path, detail=True)]

    def walk_files(self, max_depth: int) -> builtins.list[Entry]:
        """Every non-folder entry below the root, at most max_depth folder levels down, hidden folders left out."""
        files, folders = [], [self.root]
        for _ in range(max_depth + 1):
            next_level = []
            for folder in folders:
                for entry in self.list(folder):
                    if not entry.is_dir:
                        files.append(entry)
                    elif self.descend(entry):
                        next_level.append(entry.name)
            folders = next_level
        return files

    def descend(self, folder: Entry) -> bool:
        """Whether to look inside a folder: not hidden (.tmp uploads), and inside the location."""
        if folder.escapes or self.relative(folder.name) is None:
            log.warning("not descending into %s: %s", folder.name, folder.escapes or ESCAPES)
            return False
        return not folder.name.rsplit("/", 1)[-1].startswith(".")

    def open(self, name: str) -> BinaryIO:
        """Open a listed file for reading; callers read with a size cap."""
        return self.fs.open(name, "rb")

    def relative(self, name: str) -> str | None:
        """name relative to the root; None when outside the root or with '..', '.', empty or absolute parts."""
        prefix = self.root if self.root.endswith("/") else self.root + "/"
        if not name.startswith(prefix):
            return None
        relative = name[len(prefix) :]
        parts = relative.split("/")
        if any(part in ("", ".", "..") or "\x00" in part for part in parts):
            return None
        return relative

    def display(self, relative: str) -> str:
        """A file's URL for log lines (no credentials)."""
        return f"{self.url.rstrip('/')}/{relative}"

    def _entry(self, info: Mapping[str, Any]) -> Entry:
        kind = info.get("type")
        etag = info.get("ETag") or info.get("etag")
        return Entry(
            name=str(info["name"]).rstrip("/"),
            is_dir=kind == "directory",
            is_file=kind == "file",
            size=_int_or_none(info.get("size")),
            modified_at=as_utc(info.get("mtime") or info.get("LastModified") or info.get("last_modified")),
            etag=str(etag).strip('"') if etag else None,
        )


def safe_url(location: str) -> str:
    """The location without user, password, query or fragment: what log lines and the ledger may show."""
    if "://" not in location:
        return location
    parts = urlsplit(location)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme.lower()}://{host}{parts.path}"


def as_utc(value: Any) -> datetime | None:
    """A listing's modification time (epoch seconds or datetime, naive read as UTC) as an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return None


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None
