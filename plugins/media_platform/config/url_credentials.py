"""Credentials inside a URL (user:password@, a signed or tokenised query string): found, named and masked."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

MASK = "***"
# Query parameters that carry a credential: presigned S3/GCS/Azure URLs (X-Amz-Signature, X-Goog-Credential, sig),
# tokens, keys and passwords. A parameter whose name contains one of the words, or is one of the names (any case,
# `-` and `_` ignored), counts.
_SECRET_WORDS = ("signature", "credential", "token", "secret", "password", "passwd", "apikey", "accesskey")
_SECRET_NAMES = frozenset({"sig", "pwd", "pass", "key", "auth", "authorization"})
_PARAM = re.compile(r"([?&;])([^=&;#]*)=([^&;#]*)")


def _secret_param(name: str) -> bool:
    folded = name.lower().replace("-", "").replace("_", "")
    return folded in _SECRET_NAMES or any(word in folded for word in _SECRET_WORDS)


def url_credentials(url: str) -> list[str]:
    """What credentials `url` carries, named without their values: `password in user:password@`, `user name in
    user@`, `query parameter 'X-Amz-Signature'`. Empty for a URL without any (or a plain path)."""
    found: list[str] = []
    if "://" in url:
        netloc = url.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
        if "@" in netloc:
            userinfo = netloc.rsplit("@", 1)[0]
            found.append("password in user:password@" if ":" in userinfo else "user name in user@")
    try:
        query = urlsplit(url).query
    except ValueError:
        query = url.split("?", 1)[1] if "?" in url else ""
    for name, _ in parse_qsl(query, keep_blank_values=True):
        if _secret_param(name):
            found.append(f"query parameter {name!r}")
    return found


def mask_url_credentials(url: str) -> str:
    """`url` with every credential `url_credentials` finds replaced by ***: safe to show in an error or a log."""
    masked = url
    if "://" in masked:
        scheme, rest = masked.split("://", 1)
        head, sep, tail = rest.partition("/")
        if "@" in head.split("?", 1)[0]:
            head = MASK + "@" + head.rsplit("@", 1)[1]
        masked = f"{scheme}://{head}{sep}{tail}"
    return _PARAM.sub(lambda m: f"{m[1]}{m[2]}={MASK}" if _secret_param(m[2]) else m[0], masked)
