"""Transport credentials for a local ingest run: an Airflow connection turned into the env vars the CLI reads.

In Kubernetes the same variables come from the secrets named in the provider YAML; they never appear in arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest import contract

if TYPE_CHECKING:
    from airflow.sdk import Connection


def connection_env(transport: str, conn: Connection) -> dict[str, str]:
    """The ingest CLI's variables for one transport from a connection (login/password/extra), as the transport
    declares them in the ingest package."""
    return contract.connection_env(transport, conn.login, conn.password, conn.extra_dejson)


def transport_env(transport: str, conn_id: str | None) -> dict[str, str]:
    """Resolve conn_id (if any) at run time and mask the values the transport declares secret in the task log."""
    if not conn_id:
        return {}
    from airflow.sdk import BaseHook
    from airflow.sdk.log import mask_secret

    env = connection_env(transport, BaseHook.get_connection(conn_id))
    secret = {credential.env for credential in contract.transport(transport).credentials if credential.secret}
    for key, value in env.items():
        if key in secret:
            mask_secret(value)
    return env
