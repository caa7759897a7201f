"""The generated evaluation set holds a floor: auto-accept precision >= 0.99 and recall >= 0.95 on a small sample;
the matching benchmark runs on tiny sizes."""

from __future__ import annotations

from benchmarks.eidr_evaluation import PERTURBATIONS, build_evaluation, evaluate
from benchmarks.eidr_matching import run_benchmark
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
