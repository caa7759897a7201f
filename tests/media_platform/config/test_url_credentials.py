"""Credentials in URLs: user:password@ and secret query parameters are found by name and masked."""

from __future__ import annotations

import pytest

from media_platform.config.url_credentials import mask_url_credentials, url_credentials


@pytest.mark.parametrize(
    ("url", "found", "masked"),
    [
        ("s3://bucket/prefix", [], "s3://bucket/prefix"),
        ("demo_adi/in", [], "demo_adi/in"),
        (
            "https://api.example/v1/titles?page_size=50&author=x",
            [],
            "https://api.example/v1/titles?page_size=50&author=x",
        ),
        ("sftp://feed:pw@host:22/in", ["password in user:password@"], "sftp://***@host:22/in"),
        ("sftp://feed@host/in", ["user name in user@"], "sftp://***@host/in"),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc&X-Amz-Expires=60",
            ["query parameter 'X-Amz-Credential'", "query parameter 'X-Amz-Signature'"],
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Expires=60",
        ),
        ("https://h/p?sv=2024&sig=s3cr%2Bt", ["query parameter 'sig'"], "https://h/p?sv=2024&sig=***"),
        (
            "https://h/p?token=t&access_key=a&password=p",
            [
                "query parameter 'token'",
                "query parameter 'access_key'",
                "query parameter 'password'",
            ],
            "https://h/p?token=***&access_key=***&password=***",
        ),
        ("https://h/p?API-Key=k", ["query parameter 'API-Key'"], "https://h/p?API-Key=***"),
    ],
)
def test_found_by_name_and_masked(url: str, found: list[str], masked: str) -> None:
    assert url_credentials(url) == found
    assert mask_url_credentials(url) == masked
