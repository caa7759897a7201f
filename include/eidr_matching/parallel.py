"""Matching on every core the machine or pod grants: chunks of assets decided by forked workers sharing one index.

The registry index is built (or loaded from its cache) once in the parent; the workers are forked after it, so they
share its memory copy-on-write instead of building their own. `gc.freeze()` keeps the children's collector from
writing to (and so copying) every object of the index. Each chunk is decided by the same full-registry matcher, so
the decisions are exactly those of one process, whatever the number of workers or the chunk size.
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from eidr_matching.matcher import Matcher
from eidr_matching.models import Asset, Decision, RegistryRecord
from eidr_matching.scoring import MatchConfig

WORKERS_ENV = "EIDR_MATCH_WORKERS"
DEFAULT_CHUNK_SIZE = 5_000
CGROUP_ROOT = Path("/sys/fs/cgroup")
_MATCHER: Matcher | None = None  # the parent's matcher, inherited by the forked workers


class WorkerDied(RuntimeError):
    """A matching worker process died mid-run; the run fails instead of waiting for the chunk it held."""


def cgroup_cpu_limit(root: Path = CGROUP_ROOT, self_cgroup: Path = Path("/proc/self/cgroup")) -> float | None:
    """The CPU quota of this process's cgroup in CPUs (a pod's `limits.cpu`), or None when there is none.

    cgroup v2 `cpu.max` ("max 100000" or "<quota> <period>"), looked up at this process's own cgroup and then at the
    root of the mount (which is the pod's cgroup inside a container); cgroup v1 `cpu.cfs_quota_us` / `cfs_period_us`.
    """
    candidates = []
    try:
        for line in self_cgroup.read_text().splitlines():
            if line.startswith("0::"):
                candidates.append(root / line[3:].lstrip("/") / "cpu.max")
    except OSError:
        pass
    candidates.append(root / "cpu.max")
    for path in candidates:
        try:
            quota, period = path.read_text().split()[:2]
        except (OSError, ValueError):
            continue
        return None if quota == "max" else int(quota) / int(period)
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask (taskset, cpusets), capped by the cgroup quota, at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    limit = cgroup_cpu_limit()
    if limit is not None:
        cpus = min(cpus, math.ceil(limit))
    return max(1, cpus)


def resolve_workers(requested: int | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Worker processes for a run: the request if given (> 0), else $EIDR_MATCH_WORKERS, else available_cpus()."""
    env = os.environ if environ is None else environ
    if requested is None and env.get(WORKERS_ENV, "").strip():
        try:
            requested = int(env[WORKERS_ENV])
        except ValueError:
            raise ValueError(f"{WORKERS_ENV}={env[WORKERS_ENV]!r} is not a number of workers") from None
    if requested is not None and requested < 0:
        raise ValueError(f"workers must be 0 (as many as the machine has) or more, got {requested}")
    return requested if requested else available_cpus()


def match_chunks(
    matcher: Matcher, chunks: Iterable[Sequence[Asset]], workers: int = 1
) -> Iterator[tuple[Sequence[Asset], list[Decision]]]:
    """Each chunk with its decisions, in order, while later chunks are matched (at most 2 per worker in flight).

    The caller writes one chunk while the workers match the next ones; memory holds a few chunks, never all assets.
    """
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for chunk in chunks:
            yield chunk, [matcher.decide(asset) for asset in chunk]
        return
    global _MATCHER
    _MATCHER = matcher
    gc.freeze()
    try:
        # A process pool that fails every pending chunk when a worker dies (SIGKILL, the OOM killer): with
        # multiprocessing.Pool the dead worker's chunk was lost and the run waited for it forever.
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            pending: deque = deque()
            try:
                for chunk in chunks:
                    pending.append((chunk, pool.submit(_decide_chunk, chunk)))
                    if len(pending) >= 2 * workers:
                        done, result = pending.popleft()
                        yield done, result.result()
                while pending:
                    done, result = pending.popleft()
                    yield done, result.result()
            except BaseException as err:
                pool.shutdown(wait=False, cancel_futures=True)  # the chunks not started yet are never decided
                if not isinstance(err, BrokenProcessPool):
                    raise
                raise WorkerDied(
                    "an EIDR matching worker process died (killed by a signal, or out of memory) while matching: "
                    "this run stops and writes nothing; run it again"
                ) from None
    finally:
        _MATCHER = None
        gc.unfreeze()


def _decide_chunk(chunk: Sequence[Asset]) -> list[Decision]:
    assert _MATCHER is not None, "workers are forked after the parent set the matcher"
    return [_MATCHER.decide(asset) for asset in chunk]


def chunked(items: Iterable[Asset], size: int) -> Iterator[list[Asset]]:
    """Consecutive lists of at most `size` items."""
    chunk: list[Asset] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def match_all(
    records: Iterable[RegistryRecord],
    assets: Sequence[Asset],
    config: MatchConfig | None = None,
    workers: int = 1,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> list[Decision]:
    """Decisions for every asset, in order (in memory: the benchmark and the evaluation)."""
    matcher = Matcher.from_records(records, config or MatchConfig())
    decisions: list[Decision] = []
    for _, chunk_decisions in match_chunks(matcher, chunked(assets, chunk_size), workers):
        decisions.extend(chunk_decisions)
    return decisions
