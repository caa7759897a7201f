"""Find a provider's delivered files for one data interval: date-named folders under its drop location."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from ingest.models import SourceFile, UsageError

DROP_ROOT_ENV = "MEDIA_DROP_ROOT"


def drop_path(location: str, env: Mapping[str, str] | None = None) -> Path:
    """Where a location points: an absolute path as is, a relative one under $MEDIA_DROP_ROOT."""
    env = os.environ if env is None else env
    path = Path(location).expanduser()
    if path.is_absolute():
        return path
    root = env.get(DROP_ROOT_ENV)
    if not root:
        raise UsageError(f"location {location!r} is relative but {DROP_ROOT_ENV} is not set")
    return Path(root) / path


def resolve_location(location: str, env: Mapping[str, str] | None = None) -> Path:
    """The existing drop folder for a location; a missing one is a UsageError naming the path."""
    path = drop_path(location, env)
    if not path.is_dir():
        raise UsageError(f"drop location not found: {path}")
    return path


def folder_datetime(relative: str, date_in_path: str) -> datetime | None:
    """The delivery time a folder name stands for, read as UTC; None when the name does not fit the pattern."""
    try:
        parsed = datetime.strptime(relative, date_in_path)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def folders_for_interval(root: Path, date_in_path: str, start: datetime, end: datetime) -> list[Path]:
    """Folders whose name (strftime pattern, may span levels like %Y/%m/%d) is a time t with start <= t < end."""
    depth = date_in_path.strip("/").count("/") + 1
    candidates = [root]
    for _ in range(depth):
        candidates = [child for parent in candidates for child in _subfolders(parent)]
    selected = []
    for folder in candidates:
        when = folder_datetime(folder.relative_to(root).as_posix(), date_in_path)
        if when is not None and start <= when < end:
            selected.append(folder)
    return sorted(selected)


def files_for_interval(
    root: Path, file_glob: str, date_in_path: str, start: datetime, end: datetime
) -> list[SourceFile]:
    """Files matching file_glob (case-insensitive: providers mix .xml and .XML) in the interval's folders, sorted."""
    pattern = file_glob.lower()
    files = [
        SourceFile(path=path, relative=path.relative_to(root).as_posix())
        for folder in folders_for_interval(root, date_in_path, start, end)
        for path in folder.iterdir()
        if path.is_file() and fnmatch.fnmatchcase(path.name.lower(), pattern)
    ]
    return sorted(files, key=lambda f: f.relative)


def _subfolders(folder: Path) -> list[Path]:
    return [child for child in folder.iterdir() if child.is_dir() and not child.name.startswith(".")]
