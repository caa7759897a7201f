"""HTTP(S) drops with directory index pages (fsspec's http filesystem); optional bearer token from env."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO
from urllib.parse import SplitResult

from ingest.discover.transports.base import Credential, Location, TransportSpec

TOKEN_ENV = "MEDIA_HTTP_TOKEN"  # noqa: S105 - the variable's name, not a token
TIMEOUT_SECONDS = 60


def open_http(parts: SplitResult, env: Mapping[str, str]) -> HttpLocation:
    """http(s)://host/path/ listed through its index pages; links leaving the path are never followed."""
    import aiohttp
    from fsspec.implementations.http import HTTPFileSystem

    token = env.get(TOKEN_ENV)
    client_kwargs: dict[str, Any] = {"timeout": aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)}
    if token:
        client_kwargs["headers"] = {"Authorization": f"Bearer {token}"}
    fs = HTTPFileSystem(client_kwargs=client_kwargs, skip_instance_cache=True, use_listings_cache=False)
    url = f"{parts.scheme.lower()}://{parts.netloc}{parts.path}".rstrip("/")
    return HttpLocation(fs, url, url, url)


class HttpLocation(Location):
    """Index pages give names only: no size or modification time, so only --pick-by path_date works here."""

    def open(self, name: str) -> BinaryIO:
        return self.fs.open(name, "rb", block_size=0)  # a plain stream, read with the caller's cap


TRANSPORT = TransportSpec("http", ("http", "https"), (Credential(TOKEN_ENV, "password", secret=True),), open_http)
