"""The operator pages in a real browser: headless Chromium logs in to a real Airflow API server and reads them."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg2
import pytest

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = next((path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None)
if CHROMIUM is None:
    pytest.skip(
        "no Chromium on PATH: `make setup` installs the distribution's package when it runs as root with apt-get; "
        "otherwise install `chromium` to run the browser test",
        allow_module_level=True,
    )

OPERATOR = ("operator", "operator-password")  # a viewer: the pages must work for read-only users
ADMIN = ("admin", "admin-password")  # sets the scene through Airflow's REST API
WAIT_SECONDS = 120  # waiting for a page or the server to come up, never an assertion on speed


def wait_until(check: Any, what: str, seconds: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.3)


# --- the warehouse the server reads: the real raw DDL, reporting tables shaped like the published marts ---------

REPORTING_DDL = """
create schema if not exists reporting;
create table reporting.provider_deliveries as
    select batch_id, provider_id, interval_start, interval_end, files_read, records_read, records_loaded,
           records_quarantined, bytes_read, started_at, finished_at
    from raw.ingest_batches;
create table reporting.eidr_coverage (
    provider_id text, day date, assets bigint, mapped bigint, in_review bigint, unmatched bigint,
    invalid_provided bigint, share_mapped numeric, share_in_review numeric
);
create table reporting.eidr_review_queue (asset_key text, provider_id text, title text);
create table reporting.anomalies (provider_id text, metric text, period date, status text);
"""


def _seed_warehouse(dsn: str) -> None:
    from ingest.load.warehouse import DDL

    batches = [
        # provider, hours ago, read, loaded, quarantined
        ("demo_adi", 1, 25, 24, 1),
        ("demo_mec", 2, 12, 6, 6),
        ("demo_avails", 3, 24, 23, 1),
        ("demo_api", 4, 40, 40, 0),
        ("eidr_registry", 5, 60760, 60760, 0),
    ]
    reasons = {
        "demo_adi": ["malformed XML: unclosed token: line 28, column 3"],
        "demo_mec": ["bad RunLength '1h30': expected an ISO 8601 duration like PT1H30M"] * 4
        + ["missing required field ContentID"] * 2,
        "demo_avails": ["bad Territory 'UK': not an ISO 3166-1 country code"],
    }
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(DDL)
        for provider, hours, read, loaded, quarantined in batches:
            cur.execute(
                """
                insert into raw.ingest_batches values (
                    %(batch)s, %(provider)s, 'adi', date_trunc('day', now()) - interval '1 day',
                    date_trunc('day', now()), 1, %(read)s, %(loaded)s, %(quarantined)s, 1000,
                    now() - %(hours)s * interval '1 hour', now() - %(hours)s * interval '1 hour' + interval '1 minute')
                """,
                {"batch": f"{provider}-1", "provider": provider, "read": read, "loaded": loaded,
                 "quarantined": quarantined, "hours": hours},
            )  # fmt: skip
            for reason in reasons.get(provider, []):
                cur.execute(
                    "insert into raw.quarantine select batch_id, provider_id, source_format, interval_start, "
                    "interval_end, 'delivery.xml', 'line 28', %s, '<ADI>', finished_at from raw.ingest_batches "
                    "where batch_id = %s",
                    (reason, f"{provider}-1"),
                )
        cur.execute(REPORTING_DDL)
        cur.execute(
            "insert into reporting.eidr_coverage values "
            "('demo_adi', current_date - 1, 20, 18, 1, 1, 0, 0.9, 0.05), "
            "('demo_adi', current_date, 23, 23, 0, 0, 1, 1.0, 0), "
            "('demo_mec', current_date, 11, 9, 1, 1, 3, 0.8182, 0.0909)"
        )
        cur.execute("insert into reporting.eidr_review_queue values ('demo_mec:ep-7', 'demo_mec', 'Night Train')")
        cur.execute(
            "insert into reporting.anomalies values ('demo_avails', 'records_loaded', current_date, 'open'), "
            "('demo_api', 'records_loaded', current_date - 3, 'closed')"
        )


@pytest.fixture(scope="module")
def ui_warehouse(warehouse_dsn: str) -> Iterator[str]:
    """A warehouse database of this module's own, so other tests' data cannot change what the page shows."""
    name = "warehouse_ui" + os.environ.get("MEDIA_TEST_DB_SUFFIX", "")
    admin_dsn = warehouse_dsn.rsplit("/", 1)[0] + "/postgres"
    conn = psycopg2.connect(admin_dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
        cur.execute(f'create database "{name}"')
    dsn = warehouse_dsn.rsplit("/", 1)[0] + f"/{name}"
    _seed_warehouse(dsn)
    yield dsn
    with conn.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
    conn.close()


# --- docs sites as the publish run leaves them: dbt's own docs page with our manifest, a GX data docs build -----


@pytest.fixture(scope="module")
def artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import dbt.task.docs

    from media_platform.audit.gx_checkpoint import _file_context

    root = tmp_path_factory.mktemp("ui_artifacts")
    dbt_docs = root / "dbt_docs"
    dbt_docs.mkdir()
    shutil.copy2(Path(dbt.task.docs.__file__).parent / "index.html", dbt_docs / "index.html")
    shutil.copy2(PROJECT_ROOT / "include" / "dbt" / "target" / "manifest.json", dbt_docs / "manifest.json")
    (dbt_docs / "catalog.json").write_text(
        json.dumps({"metadata": {}, "nodes": {}, "sources": {}, "errors": None}), encoding="utf-8"
    )
    import great_expectations as gx

    context = _file_context(root / "gx")
    suite = gx.ExpectationSuite(
        name="provider_deliveries", expectations=[gx.expectations.ExpectColumnValuesToNotBeNull(column="batch_id")]
    )
    context.suites.add(suite)
    context.build_data_docs()
    return root


# --- a real Airflow API server on a free port, with the simple auth manager --------------------------------------


@dataclass
class Airflow:
    url: str
    admin_token: str
    metadata_dsn: str

    def api(self, method: str, path: str, body: dict | None = None) -> Any:
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.admin_token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            return json.loads(text) if text else None


def _token(url: str, user: tuple[str, str]) -> str:
    request = urllib.request.Request(
        url + "/auth/token",
        data=json.dumps({"username": user[0], "password": user[1]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.loads(response.read())["access_token"])


PROVIDER_DAGS = tuple(f"ingest_{name}" for name in ("demo_adi", "demo_api", "demo_avails", "demo_mec", "eidr_registry"))


@pytest.fixture(scope="module")
def airflow(test_env: dict[str, str], ui_warehouse: str, artifacts_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """`airflow api-server` on the session's metadata DB, the DAGs serialized, a scene set through its REST API:
    demo_adi's run is queued and past its deadline, demo_mec's latest run failed."""
    from local_stack.airflow_components import running_airflow

    home = tmp_path_factory.mktemp("ui_airflow")
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps(dict([OPERATOR, ADMIN])), encoding="utf-8")
    env = {
        **os.environ,
        "MEDIA_DEADLINE_ALERTS": "off",  # the deadline shown is the YAML's; Airflow's deadline records are other work
        "MEDIA_ARTIFACTS_DIR": str(artifacts_dir),
        "AIRFLOW_CONN_WAREHOUSE": ui_warehouse,
        "AIRFLOW_CONN_WAREHOUSE_INGEST": ui_warehouse,
        "AIRFLOW_CONN_WAREHOUSE_PUBLISH": ui_warehouse,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{OPERATOR[0]}:viewer,{ADMIN[0]}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": "browser-test-secret-" + "x" * 48,
    }
    subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "reserialize"], env=env, check=True, capture_output=True, text=True
    )
    log_dir = Path(test_env["MEDIA_ARTIFACTS_DIR"]) / "ui_browser"
    runs: list[tuple[str, str]] = []
    paused: dict[str, bool] = {}
    site: Airflow | None = None
    # the API server alone, and only the users above: the pages are read as the logged-in operator, a viewer
    with running_airflow(env, log_dir, components=["api-server"], timeout=WAIT_SECONDS, all_admins=False) as server:
        try:
            site = Airflow(
                server.base_url, _token(server.base_url, ADMIN), test_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
            )
            # every provider DAG unpaused (other tests share this metadata DB and may have left one paused)
            for dag_id in PROVIDER_DAGS:
                paused[dag_id] = site.api("GET", f"/api/v2/dags/{dag_id}")["is_paused"]
                site.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
            for dag_id in ("ingest_demo_adi", "ingest_demo_mec"):
                run = site.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None})
                runs.append((dag_id, run["dag_run_id"]))
            site.api("PATCH", f"/api/v2/dags/ingest_demo_mec/dagRuns/{quote(runs[1][1])}", {"state": "failed"})
            # No scheduler runs here: demo_adi's run stays queued; moving its queue time back puts it past its 2h
            # deadline.
            dsn = site.metadata_dsn.replace("postgresql+psycopg2://", "postgresql://", 1)
            with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
                cur.execute(
                    "update dag_run set queued_at = now() - interval '3 hours' where dag_id = %s and run_id = %s",
                    runs[0],
                )
            yield site
        finally:
            for dag_id, run_id in runs if site else []:
                with contextlib.suppress(urllib.error.URLError):
                    site.api("DELETE", f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id)}")  # type: ignore[union-attr]
            for dag_id, was_paused in paused.items() if site else []:
                with contextlib.suppress(urllib.error.URLError):
                    site.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": was_paused})  # type: ignore[union-attr]


# --- headless Chromium, driven over the DevTools protocol ---------------------------------------------------------


class Page:
    """One browser tab over the DevTools protocol: navigate, evaluate JavaScript, type, take screenshots."""

    def __init__(self, ws_url: str):
        from websockets.sync.client import connect

        self._ws = connect(ws_url, max_size=None, open_timeout=30)
        self._next_id = 0
        self.send("Page.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=1600, height=1000, deviceScaleFactor=1, mobile=False)

    def send(self, method: str, **params: Any) -> dict:
        self._next_id += 1
        self._ws.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv(timeout=WAIT_SECONDS))
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        wait_until(lambda: self.evaluate("document.readyState") == "complete", f"{url} to load")

    def wait_for(self, expression: str, what: str) -> Any:
        return wait_until(lambda: self.evaluate(expression), what)

    def type_into(self, selector: str, text: str) -> None:
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", text=text)

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"]))
        return path

    def close(self) -> None:
        self._ws.close()


class Chromium:
    """The distribution's headless Chromium; it resolves no host but 127.0.0.1, so nothing reaches the network."""

    def __init__(self, profile: Path):
        args = [
            str(CHROMIUM), "--headless=new", "--remote-debugging-port=0", f"--user-data-dir={profile}",
            "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--window-size=1600,1000", "about:blank",
        ]  # fmt: skip
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium's sandbox refuses to run as root
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        active = profile / "DevToolsActivePort"
        port, browser_path = wait_until(lambda: active.exists() and active.read_text().split(), "Chromium to start")
        self._http = f"http://127.0.0.1:{port}"
        self._browser = Page.__new__(Page)
        from websockets.sync.client import connect

        self._browser._ws = connect(f"ws://127.0.0.1:{port}{browser_path}", max_size=None)
        self._browser._next_id = 0

    def new_page(self, incognito: bool = False) -> Page:
        """A tab; `incognito` gives it a browser context of its own, without the other tabs' cookies."""
        params: dict[str, Any] = {"url": "about:blank"}
        if incognito:
            params["browserContextId"] = self._browser.send("Target.createBrowserContext")["browserContextId"]
        target = self._browser.send("Target.createTarget", **params)["targetId"]
        return Page(f"{self._http.replace('http', 'ws', 1)}/devtools/page/{target}")

    def close(self) -> None:
        self._browser.close()
        self._process.terminate()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    with tempfile.TemporaryDirectory(prefix="ui-chromium-") as profile:
        chromium = Chromium(Path(profile))
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def screenshots(test_env: dict[str, str]) -> Path:
    """Where the screenshots stay after the run (the session's artifacts folder)."""
    return Path(test_env["MEDIA_ARTIFACTS_DIR"]) / "screenshots"


@pytest.fixture(scope="module")
def logged_in(browser: Chromium, airflow: Airflow, screenshots: Path) -> Iterator[Page]:
    """A tab that logged in through Airflow's own login page and was sent on to the provider status page."""
    page = browser.new_page()
    page.goto(f"{airflow.url}/auth/login?next={quote(airflow.url + '/plugin/provider-status', safe='')}")
    page.wait_for("!!document.querySelector('input[name=username]')", "the login form")
    page.type_into("input[name=username]", OPERATOR[0])
    page.type_into("input[name=password]", OPERATOR[1])
    page.screenshot(screenshots / "login.png")
    page.evaluate("document.querySelector('button[type=submit]').click()")
    page.wait_for("location.pathname === '/plugin/provider-status'", "the redirect after the login")
    yield page
    page.close()


FRAME_TEXT = "(document.querySelector('iframe')?.contentDocument?.body?.innerText || '')"


def frame_rows(page: Page) -> list[dict[str, str]]:
    return page.evaluate(
        "[...document.querySelector('iframe').contentDocument.querySelectorAll('tr.provider')].map(tr => ("
        "{provider: tr.dataset.provider, severity: tr.className, text: tr.innerText}))"
    )


def test_status_page_shows_every_provider_problems_first(logged_in: Page, screenshots: Path) -> None:
    page = logged_in
    page.wait_for(f"{FRAME_TEXT}.includes('Provider status') && {FRAME_TEXT}.includes('eidr_registry')", "the rows")
    page.screenshot(screenshots / "provider_status.png")
    rows = frame_rows(page)
    by_provider = {row["provider"]: row for row in rows}
    assert set(by_provider) == {"demo_adi", "demo_api", "demo_avails", "demo_mec", "eidr_registry"}
    assert {row["provider"] for row in rows[:2]} == {"demo_adi", "demo_mec"}  # the errors come first
    assert "deadline missed" in by_provider["demo_adi"]["text"]
    assert "last run failed" in by_provider["demo_mec"]["text"]
    assert "50% quarantined in 24 h" in by_provider["demo_mec"]["text"]
    assert "4× bad RunLength '1h30'" in by_provider["demo_mec"]["text"]
    assert "1 open anomaly" in by_provider["demo_avails"]["text"]
    assert "records_loaded (" in by_provider["demo_avails"]["text"]
    assert "demo_api" in by_provider and "anomal" not in by_provider["demo_api"]["text"]  # a closed one is not shown
    assert "95%" in by_provider["demo_adi"]["text"] and "41 of 43 assets" in by_provider["demo_adi"]["text"]
    assert "1 to review" in by_provider["demo_mec"]["text"]
    assert "sev-error" in by_provider["demo_adi"]["severity"] and "sev-ok" in by_provider["eidr_registry"]["severity"]
    charts = page.evaluate(
        "document.querySelector('iframe').contentDocument"
        ".querySelectorAll('tr[data-provider=demo_mec] svg.spark').length"
    )
    assert charts >= 3


def test_status_links_open_the_dag_the_log_and_the_quarantine_rows(logged_in: Page, airflow: Airflow) -> None:
    links = logged_in.evaluate(
        "[...document.querySelector('iframe').contentDocument"
        ".querySelectorAll('tr[data-provider=demo_mec] a')].map(a => [a.textContent.trim(), a.href, a.target])"
    )
    hrefs = {text: (href, target) for text, href, target in links}
    assert hrefs["demo_mec"] == (f"{airflow.url}/dags/ingest_demo_mec", "_top")
    assert any("/dags/ingest_demo_mec/runs/manual__" in href and href.endswith("/tasks/extract_load")
               for href, _ in hrefs.values())  # fmt: skip
    quarantine = hrefs["quarantined rows"][0]
    assert quarantine == f"{airflow.url}/media-platform/quarantine/demo_mec"
    logged_in.goto(quarantine)
    text = logged_in.evaluate("document.body.innerText")
    assert "Quarantined records: demo_mec" in text and "missing required field ContentID" in text
    logged_in.goto(f"{airflow.url}/plugin/provider-status")


def test_dbt_docs_page_shows_the_project(logged_in: Page, airflow: Airflow, screenshots: Path) -> None:
    logged_in.goto(f"{airflow.url}/plugin/dbt-docs")
    logged_in.wait_for(f"{FRAME_TEXT}.includes('media_platform')", "the dbt docs to load the project's manifest")
    logged_in.evaluate(
        "document.querySelector('iframe').contentWindow.location.hash = "
        "'#!/model/model.media_platform.provider_deliveries'"
    )
    logged_in.wait_for(f"{FRAME_TEXT}.includes('One row per ingest batch')", "the provider_deliveries model's page")
    logged_in.screenshot(screenshots / "dbt_docs.png")
    assert "records_quarantined" in logged_in.evaluate(FRAME_TEXT)


def test_gx_data_docs_page_shows_the_suites(logged_in: Page, airflow: Airflow, screenshots: Path) -> None:
    logged_in.goto(f"{airflow.url}/plugin/gx-data-docs")
    logged_in.wait_for(f"{FRAME_TEXT}.includes('Expectation Suites')", "the GX data docs index")
    logged_in.screenshot(screenshots / "gx_data_docs.png")
    # The index lists the suites with a table script from a CDN, which this browser may not reach; the suite's own
    # page is plain HTML.
    html = logged_in.evaluate("document.querySelector('iframe').contentDocument.documentElement.innerHTML")
    assert "expectations/provider_deliveries.html" in html
    logged_in.goto(f"{airflow.url}/media-platform/gx-docs/expectations/provider_deliveries.html")
    text = logged_in.evaluate("document.body.innerText")
    assert "provider_deliveries" in text and "batch_id" in text


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.mark.parametrize("path", ["status", "status.json", "dbt-docs/", "gx-docs/", "quarantine/demo_mec"])
def test_anonymous_requests_are_refused(airflow: Airflow, path: str) -> None:
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(f"{airflow.url}/media-platform/{path}", timeout=30)
    assert refused.value.code == 401
    with pytest.raises(urllib.error.HTTPError) as redirected:
        opener.open(urllib.request.Request(f"{airflow.url}/media-platform/{path}", headers={"Accept": "text/html"}))
    assert redirected.value.code == 303
    assert redirected.value.headers["Location"].startswith("/auth/login?next=")


def test_a_browser_without_login_sees_the_login_page(browser: Chromium, airflow: Airflow, screenshots: Path) -> None:
    page = browser.new_page(incognito=True)
    try:
        page.goto(f"{airflow.url}/media-platform/status")
        page.wait_for("!!document.querySelector('input[name=password]')", "the login page")
        assert page.evaluate("location.pathname") == "/auth/login"
        assert "Provider status" not in page.evaluate("document.body.innerText")
        page.screenshot(screenshots / "anonymous_redirected_to_login.png")
    finally:
        page.close()
