"""The Airflow login check for the plugin's pages: Airflow does not authenticate plugin apps (apache/airflow#72655)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Request, status

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser


class LoginRequired(Exception):
    """An HTML page was asked for without a valid Airflow login: the app answers with a redirect to the login."""

    def __init__(self, login_url: str):
        super().__init__(login_url)
        self.login_url = login_url


def _wants_html(request: Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


async def airflow_user(request: Request) -> BaseUser:
    """The logged-in Airflow user, validated exactly as Airflow's own API validates it.

    Airflow's `get_user` takes an `Authorization: Bearer` token first, else the `_token` cookie the Airflow UI sets
    (or the user its JWT refresh middleware already validated from it), and checks the JWT through the auth
    manager's `get_user_from_token`. Without a valid one, a browser asking for a page is sent to the login page;
    any other request gets Airflow's 401 (no or expired token) or 403 (invalid token).
    """
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    try:
        return await get_user(request, None, await bearer_scheme(request))
    except HTTPException as err:
        if err.status_code in (status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN) and _wants_html(request):
            raise LoginRequired(get_auth_manager().get_url_login(next_url=str(request.url))) from err
        raise


def require_docs_access(user: BaseUser) -> None:
    """The docs pages need the same right as Airflow's own Docs menu."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView

    if not get_auth_manager().is_authorized_view(access_view=AccessView.DOCS, user=user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden")


def readable_dag_ids(user: BaseUser, dag_ids: set[str]) -> set[str]:
    """The DAGs among `dag_ids` the user may read: the status page shows only those providers' rows."""
    from airflow.api_fastapi.app import get_auth_manager

    manager: Any = get_auth_manager()
    return set(manager.filter_authorized_dag_ids(dag_ids=dag_ids, user=user, method="GET"))
