"""The operator pages plugin: one FastAPI app on a prefix Airflow allows, three pages under Browse."""

from __future__ import annotations

from airflow.api_fastapi.app import RESERVED_URL_PREFIXES


def test_plugin_mounts_one_app_and_lists_its_pages_under_browse() -> None:
    from media_platform_ui import MediaPlatformUiPlugin

    [app] = MediaPlatformUiPlugin.fastapi_apps
    assert app["url_prefix"] == "/media-platform"
    assert not any(app["url_prefix"].startswith(prefix) for prefix in RESERVED_URL_PREFIXES)
    views = MediaPlatformUiPlugin.external_views
    assert [view["name"] for view in views] == ["Provider status", "dbt docs", "GX data docs"]
    assert {view["category"] for view in views} == {"browse"}
    assert len({view["url_route"] for view in views}) == 3
    assert all(view["href"].startswith(app["url_prefix"] + "/") for view in views)


def test_every_page_route_checks_the_airflow_login() -> None:
    """A route added later without the login dependency would be open to anyone: Airflow does not check it."""
    from fastapi.routing import APIRoute

    from media_platform.ui.auth import airflow_user
    from media_platform_ui import MediaPlatformUiPlugin

    [app] = MediaPlatformUiPlugin.fastapi_apps
    routes = [route for route in app["app"].routes if isinstance(route, APIRoute)]
    assert len(routes) >= 7
    unguarded = [
        route.path for route in routes if airflow_user not in {dep.call for dep in route.dependant.dependencies}
    ]
    assert unguarded == []
