"""Find a provider's delivered files for one data interval, on any transport: by delivery-date folder or by mtime."""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from ingest.models import SourceFile, UsageError
from ingest.transports import ESCAPES, Entry, Location, open_location
from ingest.transports.local import DROP_ROOT_ENV, drop_path, open_local

__all__ = ["DROP_ROOT_ENV", "PICK_BY", "drop_path", "files_for_interval", "folder_datetime", "resolve_location"]

log = logging.getLogger("ingest")
PATH_DATE = "path-date"
MODIFIED_TIME = "modified-time"
PICK_BY = (PATH_DATE, MODIFIED_TIME)
MAX_DEPTH = 12  # --pick-by modified-time walks at most this many folder levels below the location


def resolve_location(location: str, env: Mapping[str, str] | None = None) -> Location:
    """The opened drop location (path or URL); a missing local folder is a UsageError naming the path."""
    return open_location(location, env)


def folder_datetime(relative: str, date_in_path: str) -> datetime | None:
    """The delivery time a folder name stands for, read as UTC; None when the name does not fit the pattern."""
    try:
        parsed = datetime.strptime(relative, date_in_path)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def files_for_interval(
    root: Location | Path,
    file_glob: str,
    date_in_path: str,
    start: datetime,
    end: datetime,
    pick_by: str = PATH_DATE,
) -> list[SourceFile]:
    """Files matching file_glob (case-insensitive: providers mix .xml and .XML) picked for [start, end), sorted.

    path-date: the files directly inside folders whose name (strftime pattern, may span levels like %Y/%m/%d) is a
    time in the interval. modified-time: files anywhere below the location whose modification time is in it.
    A matching name that escapes the location (.., absolute, symlink outside) comes back with `rejected` set.
    """
    location = root if isinstance(root, Location) else open_local(Path(root).as_posix(), {})
    if pick_by == PATH_DATE:
        entries = [
            entry for folder in _folders_for_interval(location, date_in_path, start, end)
            for entry in _list(location, folder)
            if not entry.is_dir
        ]  # fmt: skip
    elif pick_by == MODIFIED_TIME:
        try:
            below = location.walk_files(MAX_DEPTH)
        except FileNotFoundError:
            raise UsageError(f"drop location not found: {location.url}") from None
        entries = [entry for entry in below if _modified_in(location, entry, start, end)]
    else:
        raise UsageError(f"--pick-by must be one of {', '.join(PICK_BY)}, got {pick_by!r}")
    pattern = file_glob.lower()
    files = [
        _source_file(location, entry)
        for entry in entries
        if fnmatch.fnmatchcase(entry.name.rsplit("/", 1)[-1].lower(), pattern)
    ]
    for rejected in (f for f in files if f.rejected):
        log.warning("rejected %s: %s", rejected.relative, rejected.rejected)
    return sorted(files, key=lambda f: f.relative)


def _folders_for_interval(location: Location, date_in_path: str, start: datetime, end: datetime) -> list[str]:
    depth = date_in_path.strip("/").count("/") + 1
    candidates = [location.root]
    for _ in range(depth):
        candidates = [child for parent in candidates for child in _subfolders(location, parent)]
    selected = []
    for folder in candidates:
        when = folder_datetime(location.relative(folder) or "", date_in_path)
        if when is not None and start <= when < end:
            selected.append(folder)
    return sorted(selected)


def _modified_in(location: Location, entry: Entry, start: datetime, end: datetime) -> bool:
    if entry.modified_at is None:
        raise UsageError(
            f"--pick-by modified-time: {location.url} gives no modification time for its files; use path-date"
        )
    return start <= entry.modified_at < end


def _subfolders(location: Location, folder: str) -> list[str]:
    return [entry.name for entry in _list(location, folder) if entry.is_dir and location.descend(entry)]


def _list(location: Location, folder: str) -> list[Entry]:
    try:
        return location.list(folder)
    except FileNotFoundError:
        if folder == location.root:
            raise UsageError(f"drop location not found: {location.url}") from None
        raise


def _source_file(location: Location, entry: Entry) -> SourceFile:
    relative = location.relative(entry.name)
    reason = entry.escapes if relative is not None else ESCAPES
    if relative is None:
        root = location.root.rstrip("/") + "/"
        relative = entry.name[len(root) :] if entry.name.startswith(root) else entry.name
    opener = partial(location.open, entry.name)
    return SourceFile(relative, entry.size, entry.modified_at, opener, etag=entry.etag, rejected=reason)
