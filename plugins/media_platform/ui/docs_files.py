"""Which file of a generated docs site a request may read: only files inside the site folder, by safe names."""

from __future__ import annotations

import mimetypes
from pathlib import Path

# dbt docs is one page that fetches its two artifacts; nothing else in the folder is served.
DBT_DOCS_FILES = frozenset({"index.html", "manifest.json", "catalog.json"})
# GX data docs is a static site: pages, their JSON and its own static assets.
GX_DOCS_SUFFIXES = frozenset(
    {".html", ".css", ".js", ".json", ".png", ".ico", ".svg", ".gif", ".jpg", ".woff", ".woff2"}
)


class DocsFileNotFound(LookupError):
    """The requested file is not part of the docs site (missing, outside the folder, or not a docs file)."""


def docs_file(root: Path, relative: str, allowed_names: frozenset[str] | None = None) -> Path:
    """The file `relative` inside `root`, or DocsFileNotFound: no `..`, no absolute paths, no symlinks out, and
    (for dbt docs) only the allowed names. The GX project folder holds the warehouse URL in its
    uncommitted/config_variables.yml, so the served root is the data docs site folder itself, never above it."""
    relative = relative or "index.html"
    if allowed_names is not None and relative not in allowed_names:
        raise DocsFileNotFound(relative)
    parts = Path(relative).parts
    if Path(relative).is_absolute() or ".." in parts or any(part.startswith(".") for part in parts):
        raise DocsFileNotFound(relative)
    base = root.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        raise DocsFileNotFound(relative)
    if allowed_names is None and path.suffix.lower() not in GX_DOCS_SUFFIXES:
        raise DocsFileNotFound(relative)
    return path


def media_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"
