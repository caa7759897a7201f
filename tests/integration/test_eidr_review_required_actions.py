"""The EIDR review worked through the API behind Airflow's Required Actions, on the real api-server and scheduler:
a reviewer's choice becomes an override (who, when, why) and reaches reporting.eidr_mapping with the next publish; an
unanswered request times out and leaves its asset in review."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from demo_feeds.eidr_registry import CSV_COLUMNS, render_csv
from ingest import contract
from ingest.eidr import canonical_eidr, check_character
from local_stack.airflow_components import AirflowComponents, running_airflow
from media_platform.tasks.eidr_review import LEAVE_IN_REVIEW, NONE_OF_THESE

if TYPE_CHECKING:
    from conftest import Deployment  # tests/integration/conftest.py, for the annotations only

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FEED, REGISTRY = "review_feed", "eidr_registry"
DAY = "2026-11-02"
INTERVAL = ("2026-11-02T00:00:00+00:00", "2026-11-03T00:00:00+00:00")


def make_id(key: str) -> str:
    """A valid EIDR content ID derived from a key."""
    hex20 = hashlib.sha256(key.encode()).hexdigest().upper()[:20]
    return canonical_eidr(hex20 + check_character(hex20))


HAMLET_1948, HAMLET_1996 = make_id("Hamlet|1948"), make_id("Hamlet|1996")
# The feed sends the 1948 film's ID for Branagh's 1996 Hamlet (a conflict: review), and a Hamlet with no year or
# runtime (two equally likely films: review).
DECIDED, TIMED_OUT = f"{FEED}:hamlet-96", f"{FEED}:hamlet-unknown"
REVIEWER, ADMIN = ("ana", "ana-password"), ("admin", "admin-password")
TIMEOUT_MINUTES = 4.0  # what an unanswered request waits; the test answers the other one well before
WAIT = 900.0

YAML = """\
provider_id: {provider_id}
display_name: {provider_id}
format: {format}
source:
  transport: local
  location: {provider_id}
  file_glob: "*.csv"
schedule: "@daily"
start_date: {today}
owner: content-ops
alert_channel: "slack:#media-data-alerts"
"""


def registry_csv() -> bytes:
    films = [
        (HAMLET_1948, "Hamlet", "1948", "PT2H35M", "Laurence Olivier"),
        (HAMLET_1996, "Hamlet", "1996", "PT4H02M", "Kenneth Branagh"),
        (make_id("The Fortune Cookie|1966"), "The Fortune Cookie", "1966", "PT2H05M", "Billy Wilder"),
    ]
    # CSV_COLUMNS: ID, ResourceName, AlternateResourceName, ReferentType, StructuralType, ReleaseDate,
    # ApproximateLength, CountryOfOrigin, Directors, ParentID, SeasonNumber, EpisodeNumber, Status
    rows = [(i, name, "", "Movie", "Abstraction", year, length, "GB", who, "", "", "", "valid") for i, name, year,
            length, who in films]  # fmt: skip
    return render_csv([dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows])


FEED_CSV = (
    "provider_asset_id,title,release_year,runtime_minutes,directors,eidr_id\n"
    f"hamlet-96,Hamlet,1996,242,Kenneth Branagh,{HAMLET_1948}\n"
    "hamlet-unknown,Hamlet,,,,\n"
    "fortune-cookie,The Fortune Cookie,1966,125,Billy Wilder,\n"
)


def ingest(deployment: Deployment, provider_id: str, source_format: str) -> None:
    """One interval of a provider through the ingest CLI, as extract_load runs it."""
    arguments = contract.run_arguments(provider_id, source_format, provider_id, *INTERVAL, file_glob="*.csv")
    env = {**deployment.env, "PYTHONPATH": os.pathsep.join(str(PROJECT_ROOT / p) for p in ("include", "dev"))}
    done = subprocess.run(
        [sys.executable, "-m", "ingest", *arguments], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


@dataclass
class Client:
    """The REST API as the UI calls it, as one logged-in user (a bearer token from the simple auth manager)."""

    url: str
    token: str

    @classmethod
    def login(cls, url: str, user: tuple[str, str]) -> Client:
        body = json.dumps({"username": user[0], "password": user[1]}).encode()
        request = urllib.request.Request(url + "/auth/token", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
            return cls(url, str(json.loads(response.read())["access_token"]))

    def __call__(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        url = self.url + path + ("?" + urllib.parse.urlencode(query, doseq=True) if query else "")
        request = urllib.request.Request(  # noqa: S310 - loopback only
            url,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as err:
            raise AssertionError(f"{method} {path}: HTTP {err.code}: {err.read().decode()[:2000]}") from None
        return json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def deployment(own_deployment: Callable[..., Deployment]) -> Deployment:
    """A feed and the registry, each with one interval loaded; nothing published yet."""
    today = date.today().isoformat()  # no scheduled run of the provider DAGs before the test ends
    providers = {
        FEED: YAML.format(provider_id=FEED, format="csv", today=today),
        REGISTRY: YAML.format(provider_id=REGISTRY, format="eidr_registry", today=today),
    }
    deployment = own_deployment("eidr_review", providers)
    for provider_id, name, content in ((FEED, "titles.csv", FEED_CSV.encode()), (REGISTRY, "registry.csv", None)):
        folder = deployment.drop / provider_id / DAY
        folder.mkdir(parents=True)
        (folder / name).write_bytes(content if content is not None else registry_csv())
    ingest(deployment, REGISTRY, "eidr_registry")
    ingest(deployment, FEED, "csv")
    return deployment


@pytest.fixture(scope="module")
def airflow(deployment: Deployment) -> Iterator[tuple[AirflowComponents, Client, Client]]:
    """The api-server, scheduler and DAG processor with two users of the simple auth manager: the reviewer (role
    user, who may answer Required Actions) and an admin; REST calls are made as one of them."""
    passwords = deployment.root / "passwords.json"
    passwords.write_text(json.dumps(dict([REVIEWER, ADMIN])), encoding="utf-8")
    env = {
        **deployment.env,
        "MEDIA_DEADLINE_ALERTS": "off",
        "MEDIA_EIDR_REVIEW_TIMEOUT_MINUTES": str(TIMEOUT_MINUTES),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{REVIEWER[0]}:user,{ADMIN[0]}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
    }
    components = ("api-server", "scheduler", "dag-processor")
    with running_airflow(env, deployment.logs, components, all_admins=False) as airflow:
        yield airflow, Client.login(airflow.base_url, REVIEWER), Client.login(airflow.base_url, ADMIN)


def show_in_required_actions(url: str, screenshots: Path) -> str:
    """Log in as the reviewer in headless Chromium, open Browse -> Required Actions, wait for the review requests
    and screenshot the list and one opened request; returns the page's text (empty without Chromium)."""
    if not any(shutil.which(name) for name in ("chromium", "chromium-browser")):
        return ""
    from test_ui_browser import Chromium  # its module skips itself without Chromium, hence imported only here

    listed = "document.body.innerText.includes('EIDR review: Hamlet (1996)')"
    with tempfile.TemporaryDirectory(prefix="review-chromium-") as profile:
        chromium = Chromium(Path(profile))
        try:
            page = chromium.new_page()
            page.goto(f"{url}/auth/login?next={urllib.parse.quote(url + '/required_actions', safe='')}")
            page.wait_for("!!document.querySelector('input[name=username]')", "the login form")
            page.type_into("input[name=username]", REVIEWER[0])
            page.type_into("input[name=password]", REVIEWER[1])
            page.evaluate("document.querySelector('button[type=submit]').click()")
            page.wait_for(listed, "the review requests in Required Actions")
            page.screenshot(screenshots / "required_actions.png")
            text = str(page.evaluate("document.body.innerText"))
            # open the request (its drawer shows the body and the options); a picture only, not asserted
            page.evaluate(
                "[...document.querySelectorAll('a, button, td, span, p')].filter(e => (e.innerText || '').trim()"
                ".startsWith('EIDR review: Hamlet (1996)')).pop()?.click()"
            )
            try:
                page.wait_for("document.body.innerText.includes('None of these')", "the opened request")
                page.screenshot(screenshots / "required_action_request.png")
            except AssertionError as err:
                print(f"no picture of the opened request: {err}")
        finally:
            chromium.close()
    return text


def publish(airflow: AirflowComponents, admin: Client) -> dict[str, Any]:
    run = admin("POST", "/api/v2/dags/publish_reporting/dagRuns", {"logical_date": None})
    path = f"/api/v2/dags/publish_reporting/dagRuns/{urllib.parse.quote(run['dag_run_id'], safe='')}"
    done = airflow.wait_for(
        "publish_reporting to finish", lambda: (r := admin("GET", path))["state"] in ("success", "failed") and r, WAIT
    )
    assert done["state"] == "success", f"publish_reporting {done['state']}; logs in {airflow.log_dir}"
    return dict(done)


def test_a_decision_in_required_actions_becomes_an_override_and_reaches_reporting(
    deployment: Deployment, airflow: tuple[AirflowComponents, Client, Client], test_env: dict[str, str]
) -> None:
    components, reviewer, admin = airflow
    parsed = "select count(*) from dag where dag_id in ('publish_reporting', 'eidr_review')"
    components.wait_for("both DAGs to be parsed", lambda: deployment.metadata_rows(parsed) == [(2,)], WAIT)
    for dag_id in ("publish_reporting", "eidr_review"):
        admin("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False}, update_mask="is_paused")

    publish(components, admin)
    bands = dict(deployment.warehouse_rows("select asset_key, band from eidr.match_results"))
    assert bands[DECIDED] == bands[TIMED_OUT] == "review", bands

    # The publish's reporting asset starts a review cycle: one Required Action per asset in review.
    def requests() -> list[dict[str, Any]]:
        found = reviewer("GET", "/api/v2/dags/~/dagRuns/~/hitlDetails", dag_id_pattern="eidr_review")
        return [d for d in found["hitl_details"] if d["task_instance"]["state"] == "awaiting_input"]

    waiting = components.wait_for("two review requests", lambda: len(r := requests()) == 2 and r, WAIT)
    by_asset = {next(key for key in (DECIDED, TIMED_OUT) if f"`{key}`" in d["body"]): d for d in waiting}
    request = by_asset[DECIDED]
    [branagh] = [option for option in request["options"] if option.startswith(HAMLET_1996)]
    assert request["options"][-2:] == [NONE_OF_THESE, LEAVE_IN_REVIEW]
    assert HAMLET_1948 in request["body"] and "conflicts" in request["body"]  # why, and the candidates' scores
    assert request["defaults"] == [LEAVE_IN_REVIEW] and not request["multiple"]

    # what the reviewer sees under Browse -> Required Actions (skipped without the distribution's Chromium)
    page = show_in_required_actions(components.base_url, Path(test_env["MEDIA_ARTIFACTS_DIR"]) / "screenshots")
    assert not page or "EIDR review: Hamlet [review_feed]" in page

    ti = request["task_instance"]
    path = (
        f"/api/v2/dags/{ti['dag_id']}/dagRuns/{urllib.parse.quote(ti['dag_run_id'], safe='')}"
        f"/taskInstances/{ti['task_id']}/{ti['map_index']}/hitlDetails"
    )
    why = "Branagh's 1996 film: 242 minutes; the feed sent the 1948 film's ID"
    answer = reviewer("PATCH", path, {"chosen_options": [branagh], "params_input": {"reason": why}})
    assert answer["responded_by"]["name"] == REVIEWER[0]

    run_path = f"/api/v2/dags/eidr_review/dagRuns/{urllib.parse.quote(ti['dag_run_id'], safe='')}"
    cycle = components.wait_for(
        "the review cycle to finish (the other request times out)",
        lambda: (r := admin("GET", run_path))["state"] in ("success", "failed") and r,
        WAIT,
    )
    assert cycle["state"] == "success"

    # who (the responding user), when (the response time) and why, as the CLI's override records them
    [(eidr_id, by, at, reason)] = deployment.warehouse_rows(
        "select eidr_id, decided_by, decided_at, reason from eidr.overrides where asset_key = %s", (DECIDED,)
    )
    responded_at = datetime.fromisoformat(answer["responded_at"].replace("Z", "+00:00"))
    assert (eidr_id, by, reason) == (HAMLET_1996, REVIEWER[0], why)
    assert at == responded_at.astimezone(UTC)

    # the unanswered request took its default at the timeout: no override, still in review
    timed_out = by_asset[TIMED_OUT]["task_instance"]
    detail = reviewer("GET", path.replace(f"/{ti['map_index']}/", f"/{timed_out['map_index']}/"))
    assert detail["chosen_options"] == [LEAVE_IN_REVIEW] and detail["responded_by_user"] is None
    overridden = "select count(*) from eidr.overrides where asset_key = %s"
    assert deployment.warehouse_rows(overridden, (TIMED_OUT,)) == [(0,)]

    # the next publish builds (the override changed its inputs) and publishes the decision
    publish(components, admin)
    mapping = dict(
        (row[0], row[1:])
        for row in deployment.warehouse_rows(
            "select asset_key, eidr_id, method, band, override_by, override_reason from reporting.eidr_mapping"
        )
    )
    assert mapping[DECIDED] == (HAMLET_1996, "override", "override", REVIEWER[0], why)
    assert mapping[TIMED_OUT][1:3] == ("none", "review")
    queue = [key for (key,) in deployment.warehouse_rows("select asset_key from reporting.eidr_review_queue")]
    assert TIMED_OUT in queue and DECIDED not in queue
