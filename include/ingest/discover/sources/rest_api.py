"""A provider's JSON REST API: the interval's updates page by page (cursor or page number), retried politely."""

from __future__ import annotations

import io
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any

from ingest.discover.transports.base import Credential, TransportSpec, safe_url
from ingest.limits import MAX_API_PAGES, MAX_FILE_BYTES
from ingest.models import IngestError, SourceFile, UsageError

log = logging.getLogger("ingest")
TOKEN_ENV = "MEDIA_API_TOKEN"  # noqa: S105 - the variable's name, not a token
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class ApiError(IngestError):
    """The API could not be read completely: the run fails (and Airflow retries) rather than load part of it."""


class ApiAuthError(ApiError):
    """The API refused our credentials (HTTP 401/403)."""


@dataclass(frozen=True)
class ApiOptions:
    """`--api-options`: response field names, request parameter names, and retry bounds. Unknown keys are errors."""

    items_field: str = "items"  # dotted path to the list of records in a page
    cursor_field: str = "next_cursor"  # dotted path to the next cursor; null/absent/"" ends paging
    cursor_param: str = "cursor"
    page_param: str = "page"
    first_page: int = 1
    page_size_param: str = "page_size"
    page_size: int = 500
    updated_since_param: str = "updated_since"
    updated_until_param: str = "updated_until"
    max_pages: int = MAX_API_PAGES
    max_attempts: int = 6  # per request, including the first
    backoff_seconds: float = 1.0  # first retry delay without Retry-After; doubles each attempt
    max_sleep_seconds: float = 120.0  # cap on any one delay, Retry-After included
    max_total_seconds: float = 1800.0  # cap on the whole fetch, waiting included
    timeout_seconds: float = 60.0  # per request (connect and each read)

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any] | None) -> ApiOptions:
        """Validate `--api-options`; a wrong key or type is a UsageError that names it."""
        options = dict(options or {})
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise UsageError(f"unknown --api-options key(s) {unknown}; expected some of {sorted(known)}")
        defaults = cls()
        for name, value in options.items():
            expected = type(getattr(defaults, name))
            ok = isinstance(value, expected) or (expected is float and isinstance(value, int))
            if not ok or isinstance(value, bool) or (expected is not str and value < 0):
                raise UsageError(f"--api-options {name} must be a {'non-negative ' if expected is not str else ''}"
                                 f"{expected.__name__}, got {value!r}")  # fmt: skip
        parsed = cls(**options)
        if parsed.page_size < 1 or parsed.max_pages < 1 or parsed.max_attempts < 1:
            raise UsageError("--api-options page_size, max_pages and max_attempts must be at least 1")
        return parsed


def fetch_pages(
    url: str,
    start: datetime,
    end: datetime,
    paging: str = "cursor",
    options: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[SourceFile]:
    """Every page of records updated in [start, end), each as an in-memory file `page-0001.json`, ...

    Raises ApiError when the API cannot be read completely, ApiAuthError when it refuses the token in
    $MEDIA_API_TOKEN.
    """
    if paging not in PAGING:
        raise UsageError(f"--api-paging must be one of {', '.join(PAGING)}, got {paging!r}")
    if "@" in url.split("://", 1)[-1].split("/", 1)[0]:
        raise UsageError("credentials in --location are not allowed; set MEDIA_API_TOKEN in the environment")
    parsed = ApiOptions.from_mapping(options)
    env = os.environ if env is None else env
    client = _Client(url, parsed, env.get(TOKEN_ENV) or None, sleep)
    params: dict[str, Any] = {
        parsed.updated_since_param: _param_time(start),
        parsed.updated_until_param: _param_time(end),
        parsed.page_size_param: parsed.page_size,
    }
    pages: list[SourceFile] = []
    style = PAGING_STYLES[paging](parsed, client.display)
    while True:
        if len(pages) >= parsed.max_pages:
            raise ApiError(f"{client.display} returned more than max_pages={parsed.max_pages} pages; raise it")
        request = dict(params)
        style.update_request(request)
        body = client.get(request)
        name = f"page-{len(pages) + 1:04d}.json"
        document = _document(body, name, client.display)
        items = _field(document, parsed.items_field)
        if not isinstance(items, list):
            raise ApiError(f"{client.display} {name}: no list at items_field {parsed.items_field!r}")
        pages.append(SourceFile(name, len(body), None, partial(io.BytesIO, body)))
        log.info("API %s %s: %d item(s)", client.display, name, len(items))
        if not items or not style.advance(document, items):
            break
    return pages


class CursorPaging:
    """Paging by the next cursor each page carries (`cursor_field`), sent back as `cursor_param`; a missing or empty
    cursor ends paging, a cursor seen before is an error (a paging loop)."""

    name = "cursor"

    def __init__(self, options: ApiOptions, display: str):
        self.options = options
        self.display = display
        self.cursor: Any = None
        self.seen: set[str] = set()

    def update_request(self, request: dict[str, Any]) -> None:
        """Add this style's parameters for the next page to `request`."""
        if self.cursor is not None:
            request[self.options.cursor_param] = self.cursor

    def advance(self, document: Any, items: list[Any]) -> bool:
        """Take a (non-empty) page in; whether there is a next one."""
        cursor = _field(document, self.options.cursor_field)
        if cursor is None or cursor == "":
            return False
        if str(cursor) in self.seen:
            raise ApiError(f"{self.display} returned cursor {str(cursor)[:40]!r} twice; stopping a paging loop")
        self.seen.add(str(cursor))
        self.cursor = cursor
        return True


class PageNumberPaging:
    """Paging by page number (`page_param`, from `first_page`); a page shorter than `page_size` is the last."""

    name = "page"

    def __init__(self, options: ApiOptions, display: str):
        self.options = options
        self.page_number = options.first_page

    def update_request(self, request: dict[str, Any]) -> None:
        """Add this style's parameters for the next page to `request`."""
        request[self.options.page_param] = self.page_number

    def advance(self, document: Any, items: list[Any]) -> bool:
        """Take a (non-empty) page in; whether there is a next one."""
        if len(items) < self.options.page_size:
            return False
        self.page_number += 1
        return True


# The paging styles `--api-paging` accepts; adding one is a class above and its name here.
PAGING_STYLES: dict[str, type[CursorPaging | PageNumberPaging]] = {
    style.name: style for style in (CursorPaging, PageNumberPaging)
}
PAGING = tuple(PAGING_STYLES)

# The REST API as the provider YAML's transport `api`: its schemes and the variable its bearer token comes from.
TRANSPORT = TransportSpec(
    "api", ("http", "https"), (Credential(TOKEN_ENV, "password", secret=True),), None, source_kind="api"
)


class _Client:
    """GET with bearer auth, a size cap, and retries with exponential backoff honouring Retry-After."""

    def __init__(self, url: str, options: ApiOptions, token: str | None, sleep: Callable[[float], None]):
        import requests

        self.url = url
        self.display = safe_url(url)
        self.options = options
        self.sleep = sleep
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.has_token = bool(token)
        self.deadline = time.monotonic() + options.max_total_seconds

    def get(self, params: Mapping[str, Any]) -> bytes:
        import requests

        options = self.options
        for attempt in range(1, options.max_attempts + 1):
            retry_after: float | None = None
            try:
                with self.session.get(
                    self.url, params=params, timeout=options.timeout_seconds, stream=True, allow_redirects=False
                ) as response:
                    status = response.status_code
                    if status == 200:
                        return self._capped_body(response)
                    retry_after = _retry_after(response.headers.get("Retry-After"))
                    problem = f"HTTP {status} {response.reason or ''}".strip()
            except requests.RequestException as err:
                status, problem = None, f"{type(err).__name__}"
            if status in (401, 403):
                hint = "check" if self.has_token else "set"
                raise ApiAuthError(f"API refused the credentials ({problem}) at {self.display}: {hint} {TOKEN_ENV}")
            if status is not None and status not in RETRY_STATUSES:
                raise ApiError(f"API request to {self.display} failed: {problem}")
            if attempt == options.max_attempts:
                raise ApiError(f"API request to {self.display} failed after {attempt} attempt(s): {problem}")
            delay = retry_after if retry_after is not None else options.backoff_seconds * 2 ** (attempt - 1)
            delay = min(delay, options.max_sleep_seconds)
            if time.monotonic() + delay > self.deadline:
                raise ApiError(
                    f"API request to {self.display} failed: {problem}, and waiting {delay:g}s more would pass "
                    f"max_total_seconds={options.max_total_seconds:g}"
                )
            log.warning("API %s: %s; retrying in %.3gs (attempt %d of %d)", self.display, problem, delay,
                        attempt + 1, options.max_attempts)  # fmt: skip
            self.sleep(delay)
        raise AssertionError("unreachable")

    def _capped_body(self, response: Any) -> bytes:
        body = bytearray()
        for chunk in response.iter_content(64 * 1024):
            body += chunk
            if len(body) > MAX_FILE_BYTES:
                raise ApiError(f"a page from {self.display} is larger than {MAX_FILE_BYTES} bytes; lower page_size")
        return bytes(body)


def _document(body: bytes, name: str, display: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as err:
        raise ApiError(f"{display} {name} is not JSON ({err}); cannot find the next page") from None


def _field(document: Any, path: str) -> Any:
    value = document
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _param_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
