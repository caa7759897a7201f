"""Fixtures of the audit tests: the good marts in a schema of their own."""

from __future__ import annotations

import psycopg2
import pytest
from audit_cases import DELIVERIES_DDL, GOOD_DELIVERIES, GOOD_TITLES, TITLES_DDL, execute, insert


@pytest.fixture()
def marts(warehouse: psycopg2.extensions.connection, scratch_schema: str) -> str:
    """Good `titles` and `provider_deliveries` in the scratch schema; returns the schema name."""
    execute(warehouse, TITLES_DDL.format(schema=scratch_schema))
    execute(warehouse, DELIVERIES_DDL.format(schema=scratch_schema))
    insert(warehouse, f"{scratch_schema}.titles", GOOD_TITLES)
    insert(warehouse, f"{scratch_schema}.provider_deliveries", GOOD_DELIVERIES)
    return scratch_schema
