"""Parsing in worker processes, so that a batch's parsing uses every core the run has while PostgreSQL loads.

Python parses on one core at a time (the GIL). A ParsePool forks worker processes that each parse a group of files
(ingest.parse.group: the format's parser, then the records turned into one RecordBlock) and send back RecordBlocks,
which cross the process boundary almost for free (pyarrow buffers), quarantined records, and the few records no
block could take. The run's own process still reads the files (and checksums them for the ledger), keeps the
outcomes in the files' order and loads them.

The pool is started with `fork` by the thread that will load, before the parser thread starts: a fork from a process
with another thread running could copy a lock that thread holds. It is used only for batches big enough to gain
from it (MIN_BYTES); INGEST_PARSE_WORKERS sets the number of processes (1 turns the pool off).

A worker never holds the run's connections: it points every socket it inherited (the warehouse session, a
transport's) at /dev/null before it parses anything, so a run killed with SIGKILL (or by the OOM killer) closes its
server session and the server rolls the batch back at once. A worker also dies with the run (Linux's parent-death
signal, and a check of its parent for a run that died while the worker started).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import signal
import stat
import sys
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ingest.contract import PARSE_WORKERS_ENV
from ingest.models import IngestError, ParseResult, SourceFile, UsageError
from ingest.parse.formats import get_format
from ingest.parse.group import parse_group

MAX_DEFAULT_WORKERS = 4
MIN_BYTES = 4 << 20  # a smaller batch parses in less time than starting the processes and sending the files takes


def default_workers(env: Mapping[str, str] | None = None) -> int:
    """$INGEST_PARSE_WORKERS, else the CPUs this process may run on, at most MAX_DEFAULT_WORKERS; 1 (no pool) where
    forking is not the platform's way to start processes (macOS, Windows: numpy and pyarrow are not fork-safe there).

    In a Kubernetes pod the node's CPUs are visible, not the pod's CPU limit: the pod spec sets the variable
    (media_platform.execution).
    """
    env = os.environ if env is None else env
    value = env.get(PARSE_WORKERS_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise UsageError(f"{PARSE_WORKERS_ENV} must be a whole number of processes, 1 or more; got {value!r}")
        return int(value) if FORK_IS_NATIVE else 1
    if not FORK_IS_NATIVE:
        return 1
    return min(len(os.sched_getaffinity(0)), MAX_DEFAULT_WORKERS)


FORK_IS_NATIVE = sys.platform.startswith("linux")


def worth_it(files: Sequence[SourceFile], workers: int) -> bool:
    """Whether a batch of these files should be parsed by a pool of `workers`: more than one worker, and at least
    MIN_BYTES of listed file sizes (a transport that lists no size counts as nothing)."""
    return workers > 1 and len(files) > 1 and sum(f.size or 0 for f in files if not f.rejected) >= MIN_BYTES


class ParsePool:
    """Worker processes parsing groups of files of one format, with the batch's options and COPY kinds."""

    def __init__(self, executor: ProcessPoolExecutor, workers: int, format_name: str, options: Any, kinds: Any):
        self._executor = executor
        self.workers = workers
        self._job = (format_name, dict(options or {}), dict(kinds) if kinds is not None else None)

    @property
    def ahead(self) -> int:
        """Groups submitted and not yet taken, at most: enough to keep every worker busy, few enough for memory."""
        return 2 * self.workers

    def submit(self, group: Sequence[tuple[bytes, str]]) -> Future[list[ParseResult]]:
        return self._executor.submit(_parse_group, *self._job, list(group))


def result(future: Future[list[ParseResult]]) -> list[ParseResult]:
    """A group's outcomes; a worker that died (killed, out of memory) fails the run, to be retried."""
    try:
        return future.result()
    except BrokenProcessPool as err:
        raise IngestError(f"a parser process stopped unexpectedly ({err}); nothing was committed") from err


@contextlib.contextmanager
def started(workers: int, format_name: str, options: Any, kinds: Any) -> Iterator[ParsePool]:
    """A ParsePool with its `workers` processes running (forked now, in the calling thread); stopped on exit, work
    not started yet cancelled."""
    executor = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(os.getpid(),),
    )
    try:
        executor.submit(int).result()  # with fork, the first submit starts every process: do it here, not later
        yield ParsePool(executor, workers, format_name, options, kinds)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _start_worker(run_pid: int) -> None:
    import pyarrow as pa

    die_with(run_pid)
    drop_inherited_sockets()

    gc.disable()  # as ingest.run.gc_paused: a worker holds a group's records only until it returns them
    pa.set_cpu_count(1)  # the processes are the parallelism: pyarrow's own threads would only compete with them


def _parse_group(
    format_name: str, options: Mapping[str, Any], kinds: Mapping[str, str] | None, group: list[tuple[bytes, str]]
) -> list[ParseResult]:
    return parse_group(get_format(format_name), group, options, kinds)


def die_with(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when the thread that forked it ends (PR_SET_PDEATHSIG, Linux), and end
    now if `parent_pid` is already gone (it died before the request took effect). Elsewhere a no-op: the pool runs
    only where fork is native (Linux)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def drop_inherited_sockets() -> list[int]:
    """Point every socket this process inherited at /dev/null and return their descriptors.

    The descriptor numbers stay taken (a library object in the forked copy that still refers to one writes into
    /dev/null, never into a file opened later), while the connection itself is closed as soon as the run's own
    process ends or closes it. The pool's pipes are pipes, not sockets, and stay.
    """
    dropped = []
    for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
        fd = int(name)
        try:
            is_socket = stat.S_ISSOCK(os.fstat(fd).st_mode)
        except OSError:  # the descriptor of the listing itself, closed by now
            continue
        if is_socket:
            dropped.append(fd)
    if dropped:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in dropped:
            os.dup2(null, fd)
        os.close(null)
    return dropped
