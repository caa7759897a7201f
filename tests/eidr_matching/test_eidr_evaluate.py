"""Scoring a labelled set counts each band against the truth; chunked matching on workers decides as one matcher."""

from __future__ import annotations

from eidr_cases import HAMLET_1996, MATRIX, RECORDS

from benchmarks.eidr_matching import synthetic_assets, synthetic_registry
from eidr_matching.evaluate import Case, score
from eidr_matching.matcher import Matcher
from eidr_matching.models import Asset
from eidr_matching.parallel import match_all
from eidr_matching.scoring import Band


def test_score_counts_each_band_against_the_truth() -> None:
    cases = [
        Case(Asset("matrix", "The Matrix", release_year=1999, runtime_minutes=136), MATRIX.eidr_id, "clean"),
        Case(Asset("hamlet", "Hamlet"), HAMLET_1996.eidr_id, "no_year"),  # two Hamlets: review, top is 1996
        Case(Asset("olivier", "Hamlet", release_year=1948), HAMLET_1996.eidr_id, "mislabelled"),
        Case(Asset("unknown", "Completely Unknown Film", release_year=2020), None, "not_in_registry"),
    ]
    report = score(RECORDS, cases)
    auto, review, reject = (report.bands[band] for band in (Band.AUTO_ACCEPT, Band.REVIEW, Band.REJECT))
    assert (auto.assets, auto.correct, auto.wrong) == (2, 1, 1)
    assert (review.assets, review.correct) == (1, 1)
    assert (reject.assets, reject.unmatchable) == (1, 1)
    assert (report.positives, report.negatives, report.registry_size) == (3, 1, len(RECORDS))
    assert report.precision(Band.AUTO_ACCEPT) == 0.5 and report.recall(Band.REJECT) == 1.0
    assert report.by_perturbation["mislabelled"]["wrong"] == 1
    assert "precision" in report.render()


def test_chunked_matching_on_workers_gives_the_same_decisions() -> None:
    records = synthetic_registry(3000, seed=2)
    assets = [a for a, _ in synthetic_assets(records, 300, seed=3)]
    matcher = Matcher.from_records(records)
    single = [matcher.decide(a) for a in assets]
    for workers, chunk_size in ((2, 7), (2, 1000), (1, 1)):
        assert match_all(records, assets, workers=workers, chunk_size=chunk_size) == single, (workers, chunk_size)
