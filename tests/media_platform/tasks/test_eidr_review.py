"""EIDR review requests from the real review queue, and responses turned into overrides on real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
import pytest

from eidr_matching import store
from ingest.load import warehouse as raw_warehouse
from ingest.parse.formats import get_format
from media_platform.tasks.eidr_review import (
    LEAVE_IN_REVIEW,
    NONE_OF_THESE,
    REASON_PARAM,
    EidrReviewOperator,
    record_choice,
    review_request,
    review_requests,
)

OLD, NEW, DECIDED = "hitl_unit:old", "hitl_unit:new", "hitl_unit:decided"
CANDIDATE_A = "10.5240/0000-0000-0000-0000-0001-V"
CANDIDATE_B = "10.5240/0000-0000-0000-0000-0002-T"
T0 = datetime(2026, 11, 2, 6, tzinfo=UTC)
ANA = {"id": "ana", "name": "ana"}


@pytest.fixture()
def queue(warehouse_dsn: str) -> Iterator[str]:
    """Three assets in the review band: the oldest with two candidates, a newer one, one already overridden."""
    conn = raw_warehouse.connect(warehouse_dsn)
    raw_warehouse.ensure_tables(conn, get_format("eidr_registry"))
    store.ensure_tables(conn)
    keys = [OLD, NEW, DECIDED]
    with conn, conn.cursor() as cur:
        for offset, key in enumerate(keys):
            cur.execute(
                "insert into eidr.match_results (asset_key, provider_id, eidr_id, method, band, score, reason,"
                " top_candidate_eidr_id, decided_at, run_id)"
                " values (%s, 'hitl_unit', null, 'none', 'review', 0.81, 'best score 0.810 is in the review band',"
                " %s, %s, 'test')",
                (key, CANDIDATE_A, T0 + timedelta(minutes=offset)),
            )
            for rank, (eidr_id, score) in enumerate(((CANDIDATE_A, 0.81), (CANDIDATE_B, 0.74)), start=1):
                cur.execute(
                    "insert into eidr.match_candidates values (%s, %s, %s, %s, %s, %s)",
                    (key, eidr_id, score, rank, json.dumps({"title": 0.93, "year": 0.5 - rank / 10}), T0),
                )
        cur.execute(
            "insert into eidr.overrides (asset_key, eidr_id, decided_by, decided_at, reason)"
            " values (%s, null, 'ben', %s, 'not registered')",
            (DECIDED, T0),
        )
    conn.close()
    yield warehouse_dsn
    with psycopg2.connect(warehouse_dsn) as conn, conn.cursor() as cur:
        for table in ("match_results", "match_candidates", "overrides"):
            cur.execute(f"delete from eidr.{table} where asset_key like 'hitl_unit:%%'")
    conn.close()


def overrides(dsn: str, key: str) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "select eidr_id, decided_by, decided_at, reason, superseded_at is null from eidr.overrides"
            " where asset_key = %s order by override_id",
            (key,),
        )
        rows = cur.fetchall()
    conn.close()
    return rows


def band(dsn: str, key: str) -> tuple:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("select band, eidr_id from eidr.match_results where asset_key = %s", (key,))
        row = cur.fetchone()
    conn.close()
    return row


def mine(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in requests if r["asset_key"].startswith("hitl_unit:")]


def test_each_asset_in_review_offers_its_candidates_none_of_these_and_leave(queue: str) -> None:
    requests = mine(review_requests(queue, limit=100))
    assert [r["asset_key"] for r in requests] == [OLD, NEW]  # oldest first; the overridden one is not offered
    first = requests[0]
    assert first["options"][-2:] == [NONE_OF_THESE, LEAVE_IN_REVIEW]
    assert [first["choices"][option] for option in first["options"][:-1]] == [CANDIDATE_A, CANDIDATE_B, None]
    assert first["options"][0].startswith(CANDIDATE_A) and "score 0.810" in first["options"][0]
    # the body shows why the asset is in review and each candidate's score and evidence (its field scores)
    assert "best score 0.810 is in the review band" in first["body"]
    assert f"| 2 | `{CANDIDATE_B}` |" in first["body"] and "title 0.93, year 0.30" in first["body"]
    assert first["subject"].startswith("EIDR review: ")


def test_the_cycle_is_bounded_to_the_oldest_assets(queue: str) -> None:
    everything = review_requests(queue, limit=100)
    oldest = review_requests(queue, limit=1)
    assert len(oldest) == 1 and oldest[0]["asset_key"] == everything[0]["asset_key"]
    with pytest.raises(ValueError, match="max_assets must be at least 1"):
        review_requests(queue, limit=0)


def test_matcher_reasons_are_shown_when_the_matcher_gives_them() -> None:
    row = {"asset_key": "p:a", "provider_id": "p", "score": 0.8, "reason": "r", "candidates": [
        {"rank": 1, "eidr_id": CANDIDATE_A, "score": 0.8, "field_scores": {"title": 1.0},
         "reasons": ["title agrees", "year differs by 3"]},
    ]}  # fmt: skip
    request = review_request(row, {"title": "Fortune Cookie", "release_year": 1966, "runtime_minutes": 125})
    assert "title agrees; year differs by 3" in request["body"]
    assert "*Fortune Cookie*, 1966, 125 min" in request["body"]
    assert request["subject"] == "EIDR review: Fortune Cookie (1966) [p]"


def test_a_chosen_candidate_becomes_an_override_with_who_when_and_why(queue: str) -> None:
    [request, _] = mine(review_requests(queue, limit=100))
    responded = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    outcome = record_choice(
        queue, OLD, request["choices"], [request["options"][1]], ANA, responded, "same director and runtime"
    )
    assert outcome["decision"] == "override" and outcome["eidr_id"] == CANDIDATE_B
    assert overrides(queue, OLD) == [(CANDIDATE_B, "ana", responded, "same director and runtime", True)]
    assert band(queue, OLD) == ("override", CANDIDATE_B)
    assert OLD not in [r["asset_key"] for r in review_requests(queue, limit=100)]


def test_none_of_these_records_that_the_asset_has_no_eidr_id(queue: str) -> None:
    [_, request] = mine(review_requests(queue, limit=100))
    user = {"id": "17", "name": "ben"}
    outcome = record_choice(queue, NEW, request["choices"], [NONE_OF_THESE], user, T0, "")
    assert outcome["decision"] == "override" and outcome["eidr_id"] is None
    [(eidr_id, by, _, reason, active)] = overrides(queue, NEW)
    assert (eidr_id, by, active) == (None, "ben (id 17)", True)
    assert reason == f"chosen in Airflow Required Actions: {NONE_OF_THESE}"  # no reason typed: the choice says why


def test_leave_in_review_and_a_timeout_record_nothing(queue: str) -> None:
    [request, _] = mine(review_requests(queue, limit=100))
    left = record_choice(queue, OLD, request["choices"], [LEAVE_IN_REVIEW], ANA, T0, "")
    timed_out = record_choice(queue, OLD, request["choices"], [LEAVE_IN_REVIEW], None, T0, "")
    assert (left["decision"], timed_out["decision"]) == ("in review", "in review")
    assert "timeout" in timed_out["why"]
    assert overrides(queue, OLD) == [] and band(queue, OLD) == ("review", None)


def test_an_option_the_request_did_not_offer_is_refused(queue: str) -> None:
    with pytest.raises(ValueError, match="is not one of"):
        record_choice(queue, OLD, {NONE_OF_THESE: None}, ["10.5240/FFFF"], ANA, T0, "")
    assert overrides(queue, OLD) == []


def test_the_operator_waits_with_leave_in_review_as_its_timeout_default(queue: str) -> None:
    [request] = [r for r in mine(review_requests(queue, limit=100)) if r["asset_key"] == OLD]
    operator = EidrReviewOperator(task_id="review_asset", timeout_minutes=30, **request)
    assert operator.defaults == [LEAVE_IN_REVIEW] and operator.multiple is False
    assert operator.response_timeout == timedelta(minutes=30) and operator.execution_timeout is None
    assert list(operator.serialized_params) == [REASON_PARAM]
    # the scheduler's timeout sweep resumes the task with the defaults and no responding user
    event = {"chosen_options": [LEAVE_IN_REVIEW], "params_input": {REASON_PARAM: ""}, "responded_at": T0,
             "responded_by_user": None, "timedout": True}  # fmt: skip
    assert operator.execute_complete({}, event)["decision"] == "in review"
    answer = {**event, "chosen_options": [request["options"][0]], "responded_by_user": ANA, "timedout": False,
              "params_input": {REASON_PARAM: "checked the credits"}}  # fmt: skip
    assert operator.execute_complete({}, answer)["eidr_id"] == CANDIDATE_A
    assert overrides(queue, OLD) == [(CANDIDATE_A, "ana", T0, "checked the credits", True)]
