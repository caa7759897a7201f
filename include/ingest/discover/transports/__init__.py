"""The transport registry: every driver module declares its TransportSpec as `TRANSPORT`; locations open here."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from urllib.parse import SplitResult, urlsplit

from ingest.discover.transports import http, local, s3, sftp
from ingest.discover.transports.base import Location, TransportSpec, safe_url
from ingest.models import IngestError, UsageError

__all__ = ["SCHEMES", "TRANSPORTS", "Location", "TransportSpec", "open_location", "safe_url", "transport"]

# Adding a transport: its module (with TRANSPORT), its tests, a README row, and the module here.
TRANSPORTS: tuple[TransportSpec, ...] = (local.TRANSPORT, s3.TRANSPORT, sftp.TRANSPORT, http.TRANSPORT)
_OPEN_BY_SCHEME: dict[str, Callable[[SplitResult, Mapping[str, str]], Location]] = {
    scheme: spec.open for spec in TRANSPORTS if spec.open is not None for scheme in spec.schemes
}
SCHEMES = tuple(scheme for scheme in _OPEN_BY_SCHEME if scheme)


def transport(name: str) -> TransportSpec:
    """The spec of a transport name; raises KeyError for an unknown one."""
    return {spec.name: spec for spec in TRANSPORTS}[name]


def open_location(location: str, env: Mapping[str, str] | None = None) -> Location:
    """Open a --location: a path (absolute, or relative to $MEDIA_DROP_ROOT), or a URL of a registered scheme
    (file://, s3://, sftp://, http(s)://).

    Credentials come only from environment variables; a location with user or password in it is refused.
    """
    env = os.environ if env is None else env
    if "://" not in location:
        return _OPEN_BY_SCHEME[""](SplitResult("", "", location, "", ""), env)
    parts = urlsplit(location)
    scheme = parts.scheme.lower()
    open_scheme = _OPEN_BY_SCHEME.get(scheme) if scheme else None
    if open_scheme is None:
        raise UsageError(f"unsupported location scheme {scheme!r}; expected a path or one of {', '.join(SCHEMES)}")
    if "@" in parts.netloc:
        raise UsageError(
            f"credentials in --location are not allowed ({scheme}://…@{parts.hostname or ''}); "
            "set them in environment variables"
        )
    try:
        return open_scheme(parts, env)
    except IngestError:
        raise
    except Exception as err:  # a driver's own error type: one line without credentials, still an IngestError
        raise IngestError(f"cannot open {safe_url(location)}: {type(err).__name__}: {_first_line(err)}") from err


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else ""
