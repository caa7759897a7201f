"""Transport credentials for a local ingest run: an Airflow connection turned into the env vars the CLI reads.

In Kubernetes the same variables come from the secrets named in the provider YAML; they never appear in arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from media_platform.config.constants import Transport

if TYPE_CHECKING:
    from airflow.sdk import Connection


def connection_env(transport: Transport, conn: Connection) -> dict[str, str]:
    """The ingest CLI's variables for one transport from a connection (login/password/extra)."""
    extra = conn.extra_dejson
    pairs: dict[str, str | None]
    if transport is Transport.S3:
        pairs = {
            "AWS_ACCESS_KEY_ID": conn.login,
            "AWS_SECRET_ACCESS_KEY": conn.password,
            "MEDIA_S3_ENDPOINT_URL": extra.get("endpoint_url"),
            "AWS_DEFAULT_REGION": extra.get("region_name"),
        }
    elif transport is Transport.SFTP:
        pairs = {
            "MEDIA_SFTP_USERNAME": conn.login,
            "MEDIA_SFTP_PASSWORD": conn.password,
            "MEDIA_SFTP_KEY_FILE": extra.get("key_file"),
            "MEDIA_SFTP_KNOWN_HOSTS": extra.get("known_hosts"),
        }
    elif transport is Transport.HTTP:
        pairs = {"MEDIA_HTTP_TOKEN": conn.password}
    elif transport is Transport.API:
        pairs = {"MEDIA_API_TOKEN": conn.password}
    else:
        pairs = {}
    return {key: str(value) for key, value in pairs.items() if value}


def transport_env(transport: Transport, conn_id: str | None) -> dict[str, str]:
    """Resolve conn_id (if any) at run time and mask its secrets in the task log."""
    if not conn_id:
        return {}
    from airflow.sdk import BaseHook
    from airflow.sdk.log import mask_secret

    env = connection_env(transport, BaseHook.get_connection(conn_id))
    for key, value in env.items():
        if key.endswith(("SECRET_ACCESS_KEY", "PASSWORD", "TOKEN")):
            mask_secret(value)
    return env
