"""The plugin's pages inside Airflow's real API app: refused without an Airflow login, served with one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def client(test_env: dict[str, str]) -> Iterator[Any]:
    """Airflow's API app as `airflow api-server` builds it (plugins from plugins/, the simple auth manager)."""
    from airflow.api_fastapi.app import create_app, purge_cached_app
    from fastapi.testclient import TestClient

    with TestClient(create_app(), base_url="http://127.0.0.1") as test_client:
        yield test_client
    purge_cached_app()


@pytest.fixture(scope="module")
def token(client: Any) -> str:
    """A JWT for an Airflow user, issued by the auth manager the way the login does."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="operator", role="viewer"))


PAGES = [
    f"/media-platform/{page}" for page in ("status", "status.json", "dbt-docs/", "gx-docs/", "quarantine/demo_adi")
]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_requests_get_401(client: Any, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 401


@pytest.mark.parametrize("path", PAGES)
def test_a_browser_without_login_is_sent_to_the_login_page(client: Any, path: str) -> None:
    response = client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/auth/login?next=")
    assert path.split("/")[-1] in response.headers["location"] or path.endswith("/")


def test_a_forged_token_is_refused(client: Any, token: str) -> None:
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert client.get("/media-platform/status.json", headers={"Authorization": f"Bearer {forged}"}).status_code == 403
    assert client.get("/media-platform/status.json", cookies={"_token": "not-a-jwt"}).status_code == 403


def test_bearer_token_and_ui_cookie_are_both_accepted(client: Any, token: str) -> None:
    by_header = client.get("/media-platform/status.json", headers={"Authorization": f"Bearer {token}"})
    assert by_header.status_code == 200, by_header.text
    providers = {row["provider_id"] for row in by_header.json()["providers"]}
    assert {"demo_adi", "eidr_registry"} <= providers
    by_cookie = client.get("/media-platform/status", cookies={"_token": token})
    assert by_cookie.status_code == 200
    assert 'data-provider="demo_adi"' in by_cookie.text
    assert by_cookie.headers["content-security-policy"] == "frame-ancestors 'self'"


def test_docs_pages_do_not_leave_their_folder(client: Any, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/media-platform/gx-docs/../config_variables.yml", headers=headers).status_code == 404
    assert client.get("/media-platform/dbt-docs/run_results.json", headers=headers).status_code == 404


def test_pages_are_listed_under_browse(client: Any, token: str) -> None:
    plugins = client.get("/api/v2/plugins", headers={"Authorization": f"Bearer {token}"}).json()["plugins"]
    [ours] = [plugin for plugin in plugins if plugin["name"] == "media_platform_ui"]
    views = {view["name"]: view for view in ours["external_views"]}
    assert set(views) == {"Provider status", "dbt docs", "GX data docs"}
    assert {view["category"] for view in views.values()} == {"browse"}
    assert views["Provider status"]["href"] == "/media-platform/status"


def test_the_app_root_leads_to_the_status_page(client: Any, token: str) -> None:
    response = client.get("/media-platform/", cookies={"_token": token}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/media-platform/status")


def test_provider_ids_in_raw_without_a_yaml_show_as_unknown_providers(
    client: Any, token: str, warehouse_dsn: str
) -> None:
    from ingest.load import warehouse

    conn = warehouse.connect(warehouse_dsn)
    warehouse.ensure_tables(conn)
    with conn, conn.cursor() as cur:
        cur.execute("delete from raw.ingest_batches where batch_id = 'ui-app-typo'")
        cur.execute(
            "insert into raw.ingest_batches values ('ui-app-typo', 'demo_adl', 'adi', '2026-11-02', '2026-11-03', 1,"
            " 4, 4, 0, 10, now(), now())"
        )
    try:
        status = client.get("/media-platform/status.json", headers={"Authorization": f"Bearer {token}"}).json()
        [typo] = [entry for entry in status["unknown_providers"] if entry["provider_id"] == "demo_adl"]
        assert (typo["batches"], typo["records_read"]) == (1, 4)
        assert "demo_adl" not in {row["provider_id"] for row in status["providers"]}
        assert not {"demo_adi", "eidr_registry"} & {entry["provider_id"] for entry in status["unknown_providers"]}
        page = client.get("/media-platform/status", cookies={"_token": token}).text
        assert "Unknown providers" in page and 'data-unknown-provider="demo_adl"' in page
    finally:
        with conn, conn.cursor() as cur:
            cur.execute("delete from raw.ingest_batches where batch_id = 'ui-app-typo'")
        conn.close()
