"""EIDR review in Airflow's Required Actions: one human-in-the-loop request per asset in the review queue.

The queue and the override are eidr_matching's own (`review_queue`, `record_override`: what `python -m eidr_matching
review-queue` and `... override` run), so a decision taken in the UI and one taken on the command line are the same
row in `eidr.overrides`: who (the responding Airflow user), when (the response time) and why (the reviewer's reason).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param

if TYPE_CHECKING:
    from airflow.sdk import Context

NONE_OF_THESE = "None of these: this asset has no EIDR ID"
LEAVE_IN_REVIEW = "Leave in review (decide later)"
REASON_PARAM = "reason"
DEFAULT_CANDIDATES = 3  # candidates offered per asset, best first
log = logging.getLogger(__name__)


def _number(value: Any, digits: int = 3) -> str:
    return f"{float(value):.{digits}f}" if value is not None else "-"


def candidate_option(candidate: Mapping[str, Any]) -> str:
    """The option a reviewer clicks for a candidate: its EIDR ID first (so every option is unique), name, year,
    score."""
    name = candidate.get("resource_name") or "?"
    year = candidate.get("release_year") or "?"
    return f"{candidate['eidr_id']}: {name} ({year}), score {_number(candidate.get('score'))}"


def _evidence(candidate: Mapping[str, Any]) -> str:
    """Why the candidate scored what it did: the matcher's reasons when it gives them, else its field scores."""
    reasons = candidate.get("reasons")
    if reasons:
        return "; ".join(str(r) for r in reasons) if isinstance(reasons, list | tuple) else str(reasons)
    scores = candidate.get("field_scores") or {}
    return ", ".join(f"{field} {_number(value, 2)}" for field, value in sorted(scores.items())) or "-"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def request_body(row: Mapping[str, Any], asset: Mapping[str, Any] | None, candidates: Sequence[Mapping]) -> str:
    """The Markdown the reviewer reads: the asset, why it is in review, and each candidate with its evidence."""
    asset = asset or {}
    facts = [f"`{row['asset_key']}` from `{row.get('provider_id') or '?'}`"]
    if asset.get("title"):
        facts.append(f"*{_cell(asset['title'])}*")
    for key, unit in (("release_year", ""), ("runtime_minutes", " min"), ("asset_type", "")):
        if asset.get(key) is not None:
            facts.append(f"{asset[key]}{unit}")
    lines = [
        "**Asset**: " + ", ".join(facts),
        "",
        f"**In review because**: {_cell(row.get('reason') or '-')} (best score {_number(row.get('score'))})",
    ]
    if row.get("provided_eidr_id"):
        lines += ["", f"**The provider sent**: `{row['provided_eidr_id']}`"]
    lines += ["", "| # | EIDR ID | registry title | year | score | evidence |", "|---|---|---|---|---|---|"]
    for c in candidates:
        lines.append(
            f"| {c.get('rank')} | `{c['eidr_id']}` | {_cell(c.get('resource_name') or '?')} | "
            f"{c.get('release_year') or '?'} | {_number(c.get('score'))} | {_cell(_evidence(c))} |"
        )
    if not candidates:
        lines.append("| - | no candidate | | | | |")
    lines += [
        "",
        f"Pick the candidate this asset is, *{NONE_OF_THESE}*, or *{LEAVE_IN_REVIEW}*. Say why under "
        f"`{REASON_PARAM}`: it is kept with the override. The choice reaches reporting with the next "
        "`publish_reporting` run.",
    ]
    return "\n".join(lines)


def review_request(
    row: Mapping[str, Any], asset: Mapping[str, Any] | None, top: int = DEFAULT_CANDIDATES
) -> dict[str, Any]:
    """The keyword arguments of one asset's review task (for `expand_kwargs`): subject, body, the options and which
    EIDR ID each option stands for (None: no EIDR ID)."""
    candidates = list(row.get("candidates") or [])[:top]
    choices: dict[str, str | None] = {candidate_option(c): str(c["eidr_id"]) for c in candidates}
    choices[NONE_OF_THESE] = None
    title = (asset or {}).get("title") or row["asset_key"]
    year = (asset or {}).get("release_year")
    return {
        "asset_key": str(row["asset_key"]),
        "subject": f"EIDR review: {title}{f' ({year})' if year else ''} [{row.get('provider_id') or '?'}]",
        "body": request_body(row, asset, candidates),
        "options": [*choices, LEAVE_IN_REVIEW],
        "choices": choices,
    }


def _published_assets(conn: Any, asset_keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Title, year, runtime and type of the assets as reporting.titles publishes them (nothing before the first
    publish)."""
    from psycopg2.extras import RealDictCursor

    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute("select to_regclass('reporting.titles') is not null as present")
        if not cur.fetchone()["present"]:
            return {}
        cur.execute(
            "select asset_key, title, release_year, runtime_minutes, asset_type from reporting.titles"
            " where asset_key = any(%s)",
            (list(asset_keys),),
        )
        found = {row["asset_key"]: dict(row) for row in cur.fetchall()}
    conn.rollback()
    return found


def review_requests(dsn: str, limit: int, top: int = DEFAULT_CANDIDATES) -> list[dict[str, Any]]:
    """One review request per asset of the review queue: the `limit` oldest in review without an override, as
    `python -m eidr_matching review-queue` lists them."""
    from eidr_matching.store import review_queue
    from ingest.load.warehouse import connect

    if limit < 1:
        raise ValueError(f"max_assets must be at least 1, got {limit}")
    conn = connect(dsn)
    try:
        rows = review_queue(conn, limit)
        assets = _published_assets(conn, [str(row["asset_key"]) for row in rows])
    finally:
        conn.close()
    return [review_request(row, assets.get(str(row["asset_key"])), top) for row in rows]


def reviewer_name(user: Mapping[str, Any] | None) -> str:
    """Who decided, as eidr.overrides keeps it: the Airflow user's name, with the id when it differs."""
    if not user:
        raise ValueError("a review response without a responding user")
    name, user_id = str(user.get("name") or "").strip(), str(user.get("id") or "").strip()
    if name and user_id and user_id != name:
        return f"{name} (id {user_id})"
    return name or user_id


def record_choice(
    dsn: str,
    asset_key: str,
    choices: Mapping[str, str | None],
    chosen: Sequence[str],
    user: Mapping[str, Any] | None,
    responded_at: datetime,
    reason: str | None,
) -> dict[str, Any]:
    """Turn a reviewer's response into an override (eidr_matching's record_override, as the CLI's `override` does).
    "Leave in review", and a timeout (the task's default, with no responding user), record nothing."""
    [option] = chosen
    if option == LEAVE_IN_REVIEW or user is None:
        why = "left in review by the reviewer" if user else "no response before the timeout: left in review"
        return {"asset_key": asset_key, "decision": "in review", "why": why}
    if option not in choices:
        raise ValueError(f"{asset_key}: option {option!r} is not one of {sorted(choices)}")
    from eidr_matching.store import record_override
    from ingest.load.warehouse import connect

    eidr_id = choices[option]
    why = (reason or "").strip() or f"chosen in Airflow Required Actions: {option}"
    conn = connect(dsn)
    try:
        override = record_override(conn, asset_key, eidr_id, reviewer_name(user), why, now=responded_at)
    finally:
        conn.close()
    return {
        "asset_key": asset_key,
        "decision": "override",
        "eidr_id": override.eidr_id,
        "decided_by": override.decided_by,
        "decided_at": override.decided_at.isoformat(),
        "reason": override.reason,
    }


class EidrReviewOperator(HITLOperator):
    """One asset of the review queue as a Required Action: its candidates, "none of these" and "leave in review";
    the response becomes an override. A response timeout takes "leave in review" (the default), so the task
    succeeds and the asset waits for the next review cycle."""

    ui_color = "#fde9c9"

    def __init__(
        self,
        *,
        asset_key: str,
        choices: Mapping[str, str | None],
        timeout_minutes: float | None = None,
        **kwargs: Any,
    ) -> None:
        from airflow.sdk.definitions.param import ParamsDict

        kwargs.setdefault("defaults", [LEAVE_IN_REVIEW])
        # Airflow hands an operator its DAG's params merged with its own; the form field is the task's own.
        params = kwargs.pop("params", None)
        params = params if isinstance(params, ParamsDict) else ParamsDict(params or {})
        if REASON_PARAM not in params:
            params[REASON_PARAM] = Param(
                "", type="string", title="Reason", description="Why (kept with the override)", source="task"
            )
        kwargs["params"] = params
        if timeout_minutes:
            kwargs.setdefault("response_timeout", timedelta(minutes=float(timeout_minutes)))
        super().__init__(**kwargs)
        self.asset_key = asset_key
        self.choices = dict(choices)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        from media_platform.tasks.warehouse_conn import resolve_warehouse_dsn

        response = super().execute_complete(context, event)
        outcome = record_choice(
            resolve_warehouse_dsn(),
            self.asset_key,
            self.choices,
            response["chosen_options"],
            response["responded_by_user"],
            response["responded_at"],
            (response["params_input"] or {}).get(REASON_PARAM),
        )
        self.log.info("%s: %s", self.asset_key, outcome)
        return outcome
