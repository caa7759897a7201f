"""The eidr_review DAG: after each publish of the review queue, a bounded set of mapped human-in-the-loop tasks."""

from __future__ import annotations

import pytest

from media_platform.config.settings import SettingsError
from media_platform.dag_factory.review_dag import (
    MAX_ASSETS_ENV,
    TIMEOUT_ENV,
    build_review_dag,
    review_defaults,
)
from media_platform.tasks.eidr_review import EidrReviewOperator


def test_a_cycle_follows_the_publish_of_the_review_queue_one_at_a_time() -> None:
    dag = build_review_dag({})
    assert dag.dag_id == "eidr_review" and dag.max_active_runs == 1
    assert dag.timetable.asset_condition.uri == "media-platform://reporting/eidr_review_queue"
    assert dag.params["max_assets"] == 20 and dag.params["response_timeout_minutes"] == 24 * 60
    review = dag.get_task("review_asset")
    assert review.operator_class is EidrReviewOperator  # mapped over the queue
    assert review.upstream_task_ids == {"read_review_queue"}
    assert dag.doc_md and "Required Actions" in dag.doc_md


def test_the_bound_and_the_timeout_come_from_the_environment() -> None:
    assert review_defaults({MAX_ASSETS_ENV: "5", TIMEOUT_ENV: "90"}) == (5, 90.0)
    dag = build_review_dag({MAX_ASSETS_ENV: "5", TIMEOUT_ENV: "0.5"})
    assert (dag.params["max_assets"], dag.params["response_timeout_minutes"]) == (5, 0.5)


@pytest.mark.parametrize(
    ("name", "value"), [(MAX_ASSETS_ENV, "0"), (MAX_ASSETS_ENV, "2.5"), (TIMEOUT_ENV, "-1"), (TIMEOUT_ENV, "soon")]
)
def test_a_bad_setting_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        review_defaults({name: value})
