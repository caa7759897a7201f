"""The REST API source against the fixture API server on 127.0.0.1: paging, interval, retries, auth, the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from demo_feeds.api_server import ApiServer, Failure, demo_titles
from ingest.discover.sources.rest_api import ApiAuthError, ApiError, fetch_pages
from ingest.models import UsageError
from ingest.parse.formats import format_names

NOV_2 = datetime(2026, 11, 2, tzinfo=UTC)
DAY = timedelta(days=1)
TITLES = demo_titles(count=30, days=3)
ON_NOV_2 = [t for t in TITLES if "2026-11-02T" <= t["updated_at"] < "2026-11-03T"]
TOKEN = "t0k3n-for-tests"  # noqa: S105


@pytest.fixture()
def api() -> Iterator[ApiServer]:
    with ApiServer(TITLES, token=TOKEN) as server:
        yield server


def _fetch(api: ApiServer, paging: str = "cursor", env: dict[str, str] | None = None, **options: Any) -> Any:
    sleeps: list[float] = []
    env = {"MEDIA_API_TOKEN": TOKEN} if env is None else env
    pages = fetch_pages(api.url, NOV_2, NOV_2 + DAY, paging, options, env, sleep=sleeps.append)
    return pages, sleeps


def _items(pages: Any) -> list[dict[str, Any]]:
    items = []
    for page in pages:
        with page.opener() as handle:
            items += json.load(handle)["items"]
    return items


def test_cursor_paging_collects_every_page_of_the_interval(api: ApiServer) -> None:
    pages, sleeps = _fetch(api, page_size=4)
    assert [p.relative for p in pages] == ["page-0001.json", "page-0002.json", "page-0003.json"]
    assert _items(pages) == ON_NOV_2 and sleeps == []
    assert api.requests[0] == {
        "updated_since": "2026-11-02T00:00:00Z",
        "updated_until": "2026-11-03T00:00:00Z",
        "page_size": "4",
    }
    assert [r.get("cursor") is not None for r in api.requests] == [False, True, True]
    assert pages[0].size == len(pages[0].opener().read())


def test_page_number_paging_stops_at_a_short_or_empty_page(api: ApiServer) -> None:
    pages, _ = _fetch(api, "page", page_size=5)
    assert [r["page"] for r in api.requests] == ["1", "2", "3"]  # 5 + 5, then an empty page
    assert _items(pages) == ON_NOV_2
    pages, _ = _fetch(api, "page", page_size=4)
    assert len(pages) == 3 and _items(pages) == ON_NOV_2  # 4 + 4 + 2: the short page ends it


def test_custom_field_and_parameter_names(api: ApiServer) -> None:
    with pytest.raises(ApiError, match="no list at items_field 'data.results'"):
        _fetch(api, items_field="data.results")
    with pytest.raises(UsageError, match=r"unknown --api-options key\(s\) \['itemz'\]"):
        _fetch(api, itemz="x")
    with pytest.raises(UsageError, match="page_size must be a non-negative int"):
        _fetch(api, page_size="10")


def test_429_and_503_are_retried_honouring_retry_after(api: ApiServer) -> None:
    api.fail_next(Failure(429, "1"), Failure(503, "2"))
    pages, sleeps = _fetch(api, page_size=50)
    assert sleeps == [1.0, 2.0] and _items(pages) == ON_NOV_2
    api.fail_next(Failure(429, "30"))
    _, sleeps = _fetch(api, page_size=50, max_sleep_seconds=0.01)
    assert sleeps == [0.01]


def test_without_retry_after_the_backoff_doubles(api: ApiServer) -> None:
    api.fail_next(Failure(500), Failure(502), Failure(504))
    _, sleeps = _fetch(api, page_size=50, backoff_seconds=0.001)
    assert sleeps == [0.001, 0.002, 0.004]


def test_retries_are_bounded_by_attempts_and_total_time(api: ApiServer) -> None:
    api.fail_next(*[Failure(503, "0")] * 3)
    with pytest.raises(ApiError, match=r"failed after 3 attempt\(s\): HTTP 503"):
        _fetch(api, max_attempts=3)
    api.failures.clear()
    api.fail_next(Failure(429, "60"))
    with pytest.raises(ApiError, match="would pass max_total_seconds=5"):
        _fetch(api, max_total_seconds=5)


def test_real_waiting_is_short_with_a_small_max_sleep(api: ApiServer) -> None:
    api.fail_next(Failure(429, "1"))
    started = datetime.now(UTC)
    pages = fetch_pages(api.url, NOV_2, NOV_2 + DAY, "cursor", {"max_sleep_seconds": 0.05}, {"MEDIA_API_TOKEN": TOKEN})
    waited = (datetime.now(UTC) - started).total_seconds()
    assert _items(pages) == ON_NOV_2 and 0.05 <= waited < 1


def test_auth_failures_say_which_variable_and_never_show_the_token(api: ApiServer) -> None:
    with pytest.raises(
        ApiAuthError, match=r"API refused the credentials \(HTTP 401 Unauthorized\) .*: set MEDIA_API_TOKEN"
    ):
        _fetch(api, env={})
    with pytest.raises(ApiAuthError, match="check MEDIA_API_TOKEN") as err:
        _fetch(api, env={"MEDIA_API_TOKEN": "wrong-secret"})
    assert "wrong-secret" not in str(err.value)


def test_a_non_retryable_status_fails_at_once(api: ApiServer) -> None:
    api.fail_next(Failure(400))
    with pytest.raises(ApiError, match="failed: HTTP 400"):
        _fetch(api)
    assert len(api.requests) == 1


def test_the_cli_loads_an_api_interval_as_json(api: ApiServer, warehouse_dsn: str, cli: Any, warehouse: Any) -> None:
    if "json" not in format_names():
        pytest.skip("the json format is not registered yet")
    args = ["run", "--provider", "api_demo", "--format", "json", "--source-kind", "api", "--location", api.url]
    args += ["--api-paging", "cursor", "--api-options", '{"page_size": 4, "max_sleep_seconds": 0.01}']
    args += ["--start", NOV_2.isoformat(), "--end", (NOV_2 + DAY).isoformat()]
    api.fail_next(Failure(503, "5"))
    env = {"WAREHOUSE_DSN": warehouse_dsn, "MEDIA_API_TOKEN": TOKEN}
    result = cli(args, env)
    assert result.returncode == 0, result.stderr
    summary = result.summary
    assert (summary["files_read"], summary["files_skipped"], summary["records_loaded"]) == (3, 0, 10)
    assert TOKEN not in result.stderr and "retrying in 0.01s" in result.stderr
    with warehouse.cursor() as cur:
        cur.execute("select provider_asset_id from raw.json_titles where provider_id = 'api_demo' order by 1")
        assert [r[0] for r in cur.fetchall()] == sorted(t["provider_asset_id"] for t in ON_NOV_2)
    again = cli(args, env)
    assert again.returncode == 0 and again.summary["records_loaded"] == 10  # same interval: replaced, not doubled
    with warehouse.cursor() as cur:
        cur.execute("select count(*) from raw.json_titles where provider_id = 'api_demo'")
        assert cur.fetchone() == (10,)


def test_the_cli_reports_an_auth_failure_in_one_line(api: ApiServer, warehouse_dsn: str, cli: Any) -> None:
    fmt = "json" if "json" in format_names() else "adi"
    args = ["run", "--provider", "api_denied", "--format", fmt, "--source-kind", "api", "--location", api.url]
    args += ["--start", NOV_2.isoformat(), "--end", (NOV_2 + DAY).isoformat()]
    result = cli(args, {"WAREHOUSE_DSN": warehouse_dsn, "MEDIA_API_TOKEN": "not-the-token"})
    assert result.returncode == 1 and result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ingest: error: API refused the credentials (HTTP 401") and "not-the-token" not in last
