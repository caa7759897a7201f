"""The registry index cached on disk between runs, valid for exactly one state of raw.eidr_registry and of the code.

Building the index of a 1M-title registry (reading the mirror, normalising every name) costs far more than matching
a 10k delta against it, and the registry changes only when a registry delivery is loaded. So the index is kept in a
file named by a fingerprint of the registry rows (their count, latest load time and a hash over every row's ID and
load time, one scan of the table) and of the code and settings that shape the index. Any load, re-run or removal
of registry rows changes the fingerprint, and the next run rebuilds the index and replaces the file: a stale index
is never used. An index built from scratch is written after the run; the file is a pickle, so the directory must
be private to the pipeline (it is created 0700).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from psycopg2.extensions import connection as Connection

from eidr_matching.blocking import RegistryIndex
from eidr_matching.scoring import MatchConfig

CACHE_ENV = "EIDR_INDEX_CACHE_DIR"
_PREFIX = "registry-index-"
_CODE = ("blocking.py", "normalize.py", "models.py", "registry.py", "index_cache.py")
log = logging.getLogger(__name__)


@dataclass
class CachedIndex:
    """The index, how many registry rows it was built from, and the fingerprint it is valid for."""

    fingerprint: str
    records: int
    index: RegistryIndex


def default_cache_dir() -> Path | None:
    """$EIDR_INDEX_CACHE_DIR when set (empty: no cache), else None (no cache)."""
    value = os.environ.get(CACHE_ENV, "").strip()
    return Path(value) if value else None


def registry_fingerprint(conn: Connection, config: MatchConfig) -> str:
    """Identifies the registry mirror's rows, the index settings and the index code (one scan of the raw table).

    The loader replaces rows (delete and insert with a new loaded_at), never updates them in place, so any change
    of the mirror changes the count, the latest load time or the hash sum.
    """
    with conn.cursor() as cur:
        cur.execute(
            "select count(*), max(loaded_at), coalesce(sum(hashtextextended("
            "eidr_id || '|' || loaded_at::text || '|' || coalesce(registry_status, ''), 5240)), 0)"
            " from raw.eidr_registry"
        )
        rows, latest, total = cur.fetchone()
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in _CODE:
        digest.update((here / name).read_bytes())
    settings = f"{rows}|{latest}|{total}|{sorted(config.match_structural_types)}|{sys.version_info[:2]}"
    digest.update(settings.encode())
    return digest.hexdigest()[:32]


def load_or_build(
    conn: Connection,
    config: MatchConfig,
    build: Callable[[], tuple[RegistryIndex, int]],
    cache_dir: Path | None,
) -> tuple[CachedIndex, Callable[[], None] | None]:
    """The cached index when its fingerprint is current, else `build()`'s.

    Returns the index and, when it was built here and a cache directory is given, a function that writes the cache
    file (call it once the run has committed: a failed write only costs the next run a rebuild). Without a cache
    directory, the index is built every time. The file is written in this process, not in a forked child: a child
    pickling the index would touch, and so copy, all of its memory.
    """
    if cache_dir is None:
        index, records = build()
        return CachedIndex("", records, index), None
    fingerprint = registry_fingerprint(conn, config)
    path = cache_dir / f"{_PREFIX}{fingerprint}.pickle"
    if path.exists():
        try:
            with path.open("rb") as file:
                cached = _load(file)
            if isinstance(cached, CachedIndex) and cached.fingerprint == fingerprint:
                log.info("registry index from cache %s (%s records)", path, cached.records)
                return cached, None
        except Exception as exc:  # a truncated or incompatible file is rebuilt, never trusted
            log.warning("ignoring unreadable index cache %s: %s", path, exc)
    index, records = build()
    cached = CachedIndex(fingerprint, records, index)

    def write() -> None:
        try:
            save(cached, cache_dir, path)
        except Exception as exc:  # the run has committed: a cache that cannot be written only costs a rebuild
            log.warning("could not write the index cache %s: %s; the next run rebuilds the index", path, exc)

    return cached, write


def _load(file) -> object:  # noqa: ANN001 - binary file
    import gc

    enabled = gc.isenabled()
    gc.disable()  # millions of small objects: collections during the load only cost time
    try:
        return pickle.load(file)
    finally:
        if enabled:
            gc.enable()


def save(cached: CachedIndex, cache_dir: Path, path: Path) -> None:
    """Write the cache file atomically (temporary file, then rename) and remove the files of older fingerprints."""
    cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as file:
            pickler = pickle.Pickler(file, protocol=pickle.HIGHEST_PROTOCOL)
            # No memo: the index has no cycles, and for 1M titles the memo doubled peak memory (about 2 GB) and
            # tripled the time of the write; objects referenced twice are written twice (a larger file, a slightly
            # slower load).
            pickler.fast = True
            pickler.dump(cached)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    for old in cache_dir.glob(f"{_PREFIX}*.pickle"):
        if old != path:
            old.unlink(missing_ok=True)
