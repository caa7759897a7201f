"""Find a provider's delivered files for one data interval, on any transport: by delivery-date folder or by mtime."""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from ingest.contract import PickBy
from ingest.discover.transports import open_location
from ingest.discover.transports.base import ESCAPES, Entry, Location
from ingest.discover.transports.local import open_local
from ingest.limits import MAX_FOLDER_DEPTH
from ingest.models import SourceFile, UsageError

log = logging.getLogger("ingest")


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
    pick_by: str = PickBy.PATH_DATE,
) -> list[SourceFile]:
    """Files matching file_glob (case-insensitive: providers mix .xml and .XML) picked for [start, end), sorted.

    path_date: the files directly inside folders whose name (strftime pattern, may span levels like %Y/%m/%d) is a
    time in the interval. modified_time: files anywhere below the location whose modification time is in it.
    A matching name that escapes the location (.., absolute, symlink outside) comes back with `rejected` set.
    """
    location = root if isinstance(root, Location) else open_local(Path(root).as_posix(), {})
    if pick_by == PickBy.PATH_DATE:
        entries = [
            entry for folder in _folders_for_interval(location, date_in_path, start, end)
            for entry in _list(location, folder)
            if not entry.is_dir
        ]  # fmt: skip
    elif pick_by == PickBy.MODIFIED_TIME:
        try:
            below = location.walk_files(MAX_FOLDER_DEPTH)
        except FileNotFoundError:
            raise UsageError(f"drop location not found: {location.url}") from None
        entries = [entry for entry in below if _modified_in(location, entry, start, end)]
    else:
        raise UsageError(f"--pick-by must be one of {', '.join(PickBy)}, got {pick_by!r}")
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
            f"--pick-by {PickBy.MODIFIED_TIME}: {location.url} gives no modification time for its files; "
            f"use {PickBy.PATH_DATE}"
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
