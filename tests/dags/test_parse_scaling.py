"""Parsing dags/ grows linearly with the providers: counted calls on generated providers, never timings."""

from __future__ import annotations

import json
import operator
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Any

import pytest

from benchmarks.dag_parse import PARSING_CONTEXT_DAG_ID_ENV, write_providers
from media_platform.config import dbt_manifest, provider
from media_platform.dag_factory import provider_dag
from media_platform.dag_factory.assets import staging_asset

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAGS_DIR = PROJECT_ROOT / "dags"
SIZES = (20, 200)


@dataclass
class Parse:
    """What one parse of dags/ built and how often it did the work that could grow with the providers."""

    provider_ids: list[str]
    dags: dict[str, Any]
    import_errors: dict[str, str]
    calls: Counter[str]


def _counting(calls: Counter[str], name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return function(*args, **kwargs)

    return wrapper


@pytest.fixture
def parse(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[..., Parse]]:
    """Parse dags/ (or one file of it) with `count` generated providers, counting manifest reads (the JSON documents
    parsed that are a dbt manifest, whoever reads them: this code or Cosmos), YAML documents
    parsed, provider DAGs built, Cosmos operators and hashes of the publish DAG and of assets."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.definitions.asset import Asset
    from airflow.sdk.definitions.dag import DAG
    from cosmos.operators.local import DbtLocalBaseOperator

    calls: Counter[str] = Counter()
    real_loads = json.loads

    def counting_loads(text: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if b"dbt_schema_version" in (text if isinstance(text, bytes) else text.encode())[:2000]:
            calls["manifest reads"] += 1
        return real_loads(text, *args, **kwargs)

    def counting_dag_hash(self: DAG) -> int:
        kind = {"publish_reporting": "publish", "eidr_review": "review"}.get(self.dag_id, "provider")
        calls[f"hash of {kind} DAG"] += 1
        return real_dag_hash(self)

    real_dag_hash = DAG.__hash__
    monkeypatch.setattr(json, "loads", counting_loads)
    monkeypatch.setattr(DAG, "__hash__", counting_dag_hash)
    monkeypatch.setattr(Asset, "__hash__", _counting(calls, "asset hashes", Asset.__hash__))
    monkeypatch.setattr(provider, "_safe_load", _counting(calls, "YAML documents", provider._safe_load))
    monkeypatch.setattr(
        provider_dag, "build_provider_dag", _counting(calls, "provider DAGs built", provider_dag.build_provider_dag)
    )

    def run(count: int, dag_folder: Path = DAGS_DIR, dag_id: str | None = None) -> Parse:
        folder = tmp_path / f"providers_{count}"
        ids = write_providers(folder, count)
        monkeypatch.setenv("MEDIA_PROVIDERS_DIR", str(folder))
        if dag_id:
            monkeypatch.setenv(PARSING_CONTEXT_DAG_ID_ENV, dag_id)
        else:
            monkeypatch.delenv(PARSING_CONTEXT_DAG_ID_ENV, raising=False)
        # A fresh process: nothing read by an earlier test is kept.
        dbt_manifest._read_manifest.cache_clear()
        provider._validated_config.cache_clear()
        calls.clear()
        bag = DagBag(dag_folder=str(dag_folder))
        found = Counter(calls)
        found["Cosmos operators"] = sum(
            isinstance(task, DbtLocalBaseOperator) for dag in bag.dags.values() for task in dag.tasks
        )
        return Parse(ids, dict(bag.dags), dict(bag.import_errors), found)

    yield run


def test_every_generated_provider_gets_its_dag(parse: Callable[..., Parse]) -> None:
    for count in SIZES:
        result = parse(count)
        assert result.import_errors == {}
        fixed = ["publish_reporting", "eidr_review"]  # the DAGs that do not come from a provider YAML
        assert sorted(result.dags) == sorted([*(f"ingest_{pid}" for pid in result.provider_ids), *fixed])
        assert {len(dag.tasks) for dag_id, dag in result.dags.items() if dag_id not in fixed} == {4}


def test_work_per_parse_is_constant_or_one_per_provider(parse: Callable[..., Parse]) -> None:
    small, large = (parse(count) for count in SIZES)
    for result, count in ((small, SIZES[0]), (large, SIZES[1])):
        # Once by the publish DAG (its published marts), once by Cosmos rendering build_marts: never per provider.
        assert result.calls["manifest reads"] == 2
        # Each provider file once, though both files in dags/ load the whole folder.
        assert result.calls["YAML documents"] == count
        assert result.calls["provider DAGs built"] == count
        # deploy_views and test per provider, plus publish_reporting's own: the same for every provider.
        assert result.calls["Cosmos operators"] - 2 * count == small.calls["Cosmos operators"] - 2 * SIZES[0]
    # publish_reporting's dependencies hash it a fixed number of times, and its schedule's assets are hashed once
    # each, not once per dependency.
    assert large.calls["hash of publish DAG"] == small.calls["hash of publish DAG"]
    assert large.calls["asset hashes"] - small.calls["asset hashes"] == SIZES[1] - SIZES[0]
    assert large.calls["hash of provider DAG"] / SIZES[1] == small.calls["hash of provider DAG"] / SIZES[0]
    publish_tasks = {len(result.dags["publish_reporting"].tasks) for result in (small, large)}
    assert len(publish_tasks) == 1
    # The same schedule as `a | b | c ...` over the providers' staging assets gives.
    condition = large.dags["publish_reporting"].timetable.asset_condition
    plain = reduce(operator.or_, [staging_asset(provider_id) for provider_id in large.provider_ids])
    assert condition == plain and hash(condition) == hash(plain)


def test_a_task_start_builds_only_its_dag(parse: Callable[..., Parse]) -> None:
    wanted = "ingest_bench_00007_mec"
    started = parse(SIZES[1], DAGS_DIR / "provider_dags.py", dag_id=wanted)
    assert list(started.dags) == [wanted]
    assert started.calls["provider DAGs built"] == 1
    assert started.calls["manifest reads"] == 0
    full = parse(SIZES[1], DAGS_DIR / "provider_dags.py")
    # The same DAG as a full parse builds: every configured provider reaches its dbt vars.
    task_ids = sorted(full.dags[wanted].task_ids)
    assert sorted(started.dags[wanted].task_ids) == task_ids
    for task_id in task_ids:
        assert getattr(started.dags[wanted].get_task(task_id), "vars", None) == getattr(
            full.dags[wanted].get_task(task_id), "vars", None
        )
    publish = parse(SIZES[0], DAGS_DIR / "provider_dags.py", dag_id="publish_reporting")
    assert list(publish.dags) == ["publish_reporting"]
    assert publish.calls["provider DAGs built"] == 0
    assert len(publish.dags["publish_reporting"].timetable.asset_condition.objects) == SIZES[0]
