"""The evaluation set holds a floor: auto-accept precision >= 0.99 and recall >= 0.95 on a small sample."""

from __future__ import annotations

import eidr_matching.parallel as parallel
from eidr_matching.benchmark import run_benchmark, synthetic_registry
from eidr_matching.evaluate import PERTURBATIONS, build_evaluation, evaluate
from eidr_matching.matcher import Matcher
from eidr_matching.parallel import match_all
from eidr_matching.scoring import Band


def test_evaluation_set_is_deterministic_and_covers_every_perturbation() -> None:
    records, cases = build_evaluation(seed=3, assets=600, registry_films=3000)
    again_records, again = build_evaluation(seed=3, assets=600, registry_films=3000)
    assert [c.asset for c in cases] == [c.asset for c in again] and len(records) == len(again_records)
    assert {c.perturbation for c in cases} == set(PERTURBATIONS)
    assert any(c.truth is None for c in cases) and any(c.truth for c in cases)


def test_precision_and_recall_floor_on_a_small_sample() -> None:
    report = evaluate(seed=11, assets=1500, registry_films=6000)
    assert report.precision(Band.AUTO_ACCEPT) >= 0.99, report.render()
    assert report.recall(Band.AUTO_ACCEPT, Band.REVIEW) >= 0.95, report.render()
    assert "precision" in report.render()


def test_benchmark_smoke_on_tiny_sizes() -> None:
    result = run_benchmark(assets=200, registry=2000, workers=1)
    assert result.assets == 200 and sum(result.bands.values()) == 200
    assert "assets/s" in result.render()


def test_year_sharded_matching_gives_the_same_decisions(monkeypatch) -> None:
    records = synthetic_registry(3000, seed=2)
    from eidr_matching.benchmark import synthetic_assets

    assets = [a for a, _ in synthetic_assets(records, 300, seed=3)]
    monkeypatch.setattr(parallel, "MIN_SHARDED_REGISTRY", 0)
    sharded = match_all(records, assets, workers=2)
    matcher = Matcher.from_records(records)
    single = [matcher.decide(a) for a in assets]
    assert [(d.band, d.eidr_id) for d in sharded] == [(d.band, d.eidr_id) for d in single]
