"""The worker pool is sized from the affinity mask and the cgroup CPU quota (v1 and v2), or a setting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eidr_matching.parallel import WORKERS_ENV, available_cpus, cgroup_cpu_limit, chunked, resolve_workers


def test_cgroup_v2_quota_at_the_process_cgroup_or_the_mount_root(tmp_path: Path) -> None:
    own = tmp_path / "proc_cgroup"
    own.write_text("0::/kubepods/pod1\n")
    (tmp_path / "kubepods" / "pod1").mkdir(parents=True)
    (tmp_path / "kubepods" / "pod1" / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_limit(tmp_path, own) == 1.5
    (tmp_path / "kubepods" / "pod1" / "cpu.max").unlink()
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_limit(tmp_path, own) is None


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("400000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_limit(tmp_path, tmp_path / "missing") == 4.0
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_limit(tmp_path, tmp_path / "missing") is None


def test_workers_come_from_the_request_the_setting_or_the_machine() -> None:
    assert 1 <= available_cpus() <= len(os.sched_getaffinity(0))
    assert resolve_workers(3, {}) == 3
    assert resolve_workers(None, {WORKERS_ENV: "5"}) == 5
    assert resolve_workers(0, {WORKERS_ENV: "5"}) == available_cpus()
    assert resolve_workers(None, {}) == available_cpus()
    with pytest.raises(ValueError, match=WORKERS_ENV):
        resolve_workers(None, {WORKERS_ENV: "many"})


def test_chunked_keeps_order_and_bounds_each_chunk() -> None:
    items = list(range(23))
    assert [len(c) for c in chunked(items, 7)] == [7, 7, 7, 2]  # type: ignore[arg-type]
    assert [x for c in chunked(items, 1) for x in c] == items  # type: ignore[arg-type]
