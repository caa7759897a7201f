"""The plugin's FastAPI app: provider status, quarantine rows, dbt docs and GX data docs, behind the Airflow login."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from media_platform.ui.auth import LoginRequired, airflow_user, readable_dag_ids, require_docs_access

URL_PREFIX = "/media-platform"
UI_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = UI_DIR / "templates"
STATIC_DIR = UI_DIR / "static"
# Pages inside the Airflow UI's iframe may be framed by Airflow only.
_FRAME_HEADERS = {"Content-Security-Policy": "frame-ancestors 'self'", "Cache-Control": "no-store"}

User = Annotated[Any, Depends(airflow_user)]


def airflow_base_path() -> str:
    """The path Airflow is served under ([api] base_url), with a trailing slash: "/" unless behind a prefix."""
    from airflow.configuration import conf

    path = urlsplit(conf.get("api", "base_url", fallback="") or "").path
    return path if path.endswith("/") else path + "/"


def external_views() -> list[dict[str, Any]]:
    """The Airflow UI's menu entries (under Browse); each page opens inside the UI at /plugin/<url_route>."""
    base = airflow_base_path().rstrip("/") + URL_PREFIX
    return [
        {"name": "Provider status", "href": f"{base}/status", "url_route": "provider-status", "category": "browse"},
        {"name": "dbt docs", "href": f"{base}/dbt-docs/", "url_route": "dbt-docs", "category": "browse"},
        {"name": "GX data docs", "href": f"{base}/gx-docs/", "url_route": "gx-data-docs", "category": "browse"},
    ]


def _templates() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]))
    env.filters["ts"] = lambda value: f"{value:%Y-%m-%d %H:%M} UTC" if value else ""
    env.filters["short"] = lambda value: f"{value:%m-%d %H:%M}" if value else ""
    env.filters["q"] = lambda value: quote(str(value), safe="")
    return env


def _settings() -> Any:
    from media_platform.config.settings import PlatformSettings

    return PlatformSettings.from_env()


def gx_docs_dir() -> Path:
    """The GX data docs site the publish run's audit writes (never the GX project folder above it)."""
    from media_platform.audit.gx_checkpoint import data_docs_index_path

    return data_docs_index_path(_settings().gx_root_dir).parent


def create_app() -> FastAPI:
    """The plugin's app; nothing here touches a database until a page is asked for."""
    app = FastAPI(title="Media platform operator pages", docs_url=None, redoc_url=None, openapi_url=None)
    templates = _templates()

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(exc.login_url, status_code=303)

    def render(name: str, **context: Any) -> HTMLResponse:
        html = templates.get_template(name).render(airflow=airflow_base_path(), **context)
        return HTMLResponse(html, headers=_FRAME_HEADERS)

    @app.get("/", include_in_schema=False)
    def index(user: User) -> Response:
        return RedirectResponse(f"{airflow_base_path().rstrip('/')}{URL_PREFIX}/status", status_code=303)

    @app.get("/status", response_class=HTMLResponse)
    def status_page(user: User) -> HTMLResponse:
        from media_platform.ui.page import build_status_page

        page = build_status_page(datetime.now(UTC), lambda ids: readable_dag_ids(user, ids))
        return render("status.html", page=page, user=user.get_name())

    @app.get("/status.json")
    def status_json(user: User) -> JSONResponse:
        from media_platform.ui.page import build_status_page

        page = build_status_page(datetime.now(UTC), lambda ids: readable_dag_ids(user, ids))
        rows = [
            {
                "provider_id": row.provider_id,
                "dag_id": row.dag_id,
                "severity": row.severity.name.lower(),
                "problems": [problem.text for problem in row.problems],
                "paused": row.paused,
                "last_run_state": row.run.state if row.run else None,
                "deadline": row.deadline_state.label,
                "freshness": row.freshness.text,
                "records_24h": {
                    "read": row.counts.read,
                    "loaded": row.counts.loaded,
                    "quarantined": row.counts.quarantined,
                },
                "top_quarantine_reasons": row.top_reasons,
                "review_backlog": row.review_backlog,
                "alerts": row.alerts,
                "anomalies": row.anomalies,
            }
            for row in page.rows
        ]
        unknown = [
            {
                "provider_id": entry.provider_id,
                "batches": entry.batches,
                "records_read": entry.records_read,
                "last_seen": entry.last_seen.isoformat() if entry.last_seen else None,
            }
            for entry in page.unknown
        ]
        return JSONResponse(
            {"generated_at": page.generated_at.isoformat(), "providers": rows, "unknown_providers": unknown}
        )

    @app.get("/quarantine/{provider_id}", response_class=HTMLResponse)
    def quarantine(provider_id: str, user: User) -> HTMLResponse:
        from media_platform.ui.queries import quarantine_rows, warehouse_dsn

        if not readable_dag_ids(user, {f"ingest_{provider_id}"}):
            raise HTTPException(403, "Forbidden")
        rows = quarantine_rows(warehouse_dsn(), provider_id, datetime.now(UTC))
        return render("quarantine.html", provider_id=provider_id, rows=rows)

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str, user: User) -> Response:
        from media_platform.ui.docs_files import DocsFileNotFound, docs_file, media_type

        try:
            path = docs_file(STATIC_DIR, name)
        except DocsFileNotFound:
            raise HTTPException(404, "Not found") from None
        return FileResponse(path, media_type=media_type(path))

    def serve(root: Path, relative: str, allowed: frozenset[str] | None, title: str) -> Response:
        from media_platform.ui.docs_files import DocsFileNotFound, docs_file, media_type

        try:
            path = docs_file(root, relative, allowed)
        except DocsFileNotFound:
            if relative in ("", "index.html"):
                return render("no_docs.html", title=title, folder=str(root))
            raise HTTPException(404, "Not found") from None
        return FileResponse(path, media_type=media_type(path), headers=_FRAME_HEADERS)

    @app.get("/dbt-docs/{name:path}")
    def dbt_docs(name: str, user: User) -> Response:
        from media_platform.ui.docs_files import DBT_DOCS_FILES

        require_docs_access(user)
        return serve(_settings().dbt_docs_dir, name, DBT_DOCS_FILES, "dbt docs")

    @app.get("/gx-docs/{name:path}")
    def gx_docs(name: str, user: User) -> Response:
        require_docs_access(user)
        return serve(gx_docs_dir(), name, None, "GX data docs")

    return app
