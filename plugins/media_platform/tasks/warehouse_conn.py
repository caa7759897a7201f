"""The warehouse as the Airflow connection `warehouse` describes it, resolved at task run time only."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from media_platform.config.constants import WAREHOUSE_CONN_ID

if TYPE_CHECKING:
    from airflow.sdk import Connection

_LIBPQ_EXTRAS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name", "options")


def warehouse_dsn(conn: Connection) -> str:
    """libpq URL from an Airflow connection: postgresql://user:password@host:port/database (schema = database)."""
    auth = quote(conn.login or "", safe="")
    if conn.password:
        auth += ":" + quote(conn.password, safe="")
    netloc = (auth + "@" if auth else "") + (conn.host or "") + (f":{conn.port}" if conn.port else "")
    extras = {key: str(value) for key, value in conn.extra_dejson.items() if key in _LIBPQ_EXTRAS}
    query = "?" + urlencode(extras) if extras else ""
    return f"postgresql://{netloc}/{quote(conn.schema or '', safe='')}{query}"


def resolve_warehouse_dsn(conn_id: str = WAREHOUSE_CONN_ID) -> str:
    """The warehouse connection as a DSN, registered with the log masker; call at execute time only."""
    from airflow.sdk import BaseHook
    from airflow.sdk.log import mask_secret

    dsn = warehouse_dsn(BaseHook.get_connection(conn_id))
    mask_secret(dsn)
    return dsn
