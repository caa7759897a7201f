"""The warehouse's least-privilege roles, their schemas and grants: one idempotent migration.

`make setup` runs it on the embedded server and a deploy runs it on the real warehouse, as a role that may create
roles and own the schemas (e.g. the warehouse's admin):

    python -m media_platform.warehouse.roles --dsn postgresql://admin@warehouse.internal/warehouse

Role passwords are taken from WAREHOUSE_<ROLE>_PASSWORD (e.g. WAREHOUSE_INGEST_WRITER_PASSWORD) when set; a role
without one keeps the password it has. Running it again changes nothing that is already right.

What each role may do (schema owners create, and so own, the tables in their schema; default privileges give the
other roles their access to tables created later, so grants never depend on who published last):

- ingest_writer: owns `raw` (the loads, the ledger, the quarantine, the batches); nothing else.
- transformer: reads `raw` (and `reporting`); owns `staging`, `intermediate`, `audit`, `eidr` (the matcher), `ops`
  (alerts) and `dbt_deploy`; never writes `raw` or `reporting`.
- publisher: owns `reporting`, the only role that can change it; reads `audit` and moves its publish watermarks.
- reporting_reader: reads `reporting`, nothing else (BI tools: Metabase, Superset, Tableau).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import psycopg2
from psycopg2 import sql

from media_platform.audit import delta as deltas
from media_platform.config.constants import AUDIT_SCHEMA, RAW_SCHEMA, REPORTING_SCHEMA

INGEST_WRITER = "ingest_writer"
TRANSFORMER = "transformer"
PUBLISHER = "publisher"
REPORTING_READER = "reporting_reader"
ROLES = (INGEST_WRITER, TRANSFORMER, PUBLISHER, REPORTING_READER)
_LOCK_KEY = 7_313_777  # serialises two migrations of one warehouse


@dataclass(frozen=True)
class SchemaGrants:
    """A schema, the role that owns it (and every table in it), and who else may read or write its tables."""

    schema: str
    owner: str
    readers: tuple[str, ...] = ()
    writers: tuple[str, ...] = ()  # select, insert, update, delete on its tables (not DDL)


SCHEMAS = (
    SchemaGrants(RAW_SCHEMA, INGEST_WRITER, readers=(TRANSFORMER,)),
    SchemaGrants("staging", TRANSFORMER),
    SchemaGrants("intermediate", TRANSFORMER),
    SchemaGrants(AUDIT_SCHEMA, TRANSFORMER, readers=(PUBLISHER,)),
    SchemaGrants("eidr", TRANSFORMER),
    SchemaGrants("ops", TRANSFORMER),
    SchemaGrants("dbt_deploy", TRANSFORMER),
    # the transformer reads what was published (the platform's status page, the inputs check), never writes it
    SchemaGrants(REPORTING_SCHEMA, PUBLISHER, readers=(REPORTING_READER, TRANSFORMER)),
)
# Tables of one schema another role writes: publish moves its watermarks in audit (same transaction as the merge).
TABLE_WRITERS = {(AUDIT_SCHEMA, deltas.WATERMARKS_TABLE): (PUBLISHER,)}


def password_variable(role: str) -> str:
    """The environment variable that holds a role's password: WAREHOUSE_INGEST_WRITER_PASSWORD, ..."""
    return f"WAREHOUSE_{role.upper()}_PASSWORD"


def migrate(dsn: str, passwords: Mapping[str, str] | None = None) -> list[str]:
    """Create or bring up to date the roles, schemas, ownerships and grants; returns what it did, one line each.

    `passwords` (role -> password) sets those roles' passwords; the others keep theirs."""
    passwords = dict(passwords or {})
    unknown = sorted(set(passwords) - set(ROLES))
    if unknown:
        raise ValueError(f"no such role: {', '.join(unknown)} (roles: {', '.join(ROLES)})")
    done: list[str] = []
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            cur.execute("select current_database()")
            database = sql.Identifier(cur.fetchone()[0])
            for role in ROLES:
                cur.execute("select 1 from pg_roles where rolname = %s", (role,))
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
                    done.append(f"created role {role}")
                if role in passwords:
                    cur.execute(
                        sql.SQL("alter role {} login password %s").format(sql.Identifier(role)), (passwords[role],)
                    )
                    done.append(f"set the password of {role}")
                cur.execute(sql.SQL("grant connect on database {} to {}").format(database, sql.Identifier(role)))
            # Nobody else creates schemas or objects in public; the roles reach only what is granted below.
            cur.execute(sql.SQL("revoke create on database {} from public").format(database))
            cur.execute("revoke create on schema public from public")
            for grants in SCHEMAS:
                done.extend(_schema(cur, grants))
            # publish's control tables exist before the first publish, owned by audit's owner and granted like
            # its other tables: the publisher uses them without any right to create tables in audit.
            deltas.ensure_control_tables(cur, AUDIT_SCHEMA)
            _schema(cur, next(grants for grants in SCHEMAS if grants.schema == AUDIT_SCHEMA))
            for (schema, table), writers in TABLE_WRITERS.items():
                for role in writers:
                    cur.execute(
                        sql.SQL("grant select, insert, update, delete on {} to {}").format(
                            sql.Identifier(schema, table), sql.Identifier(role)
                        )
                    )
    finally:
        conn.close()
    return done


def _schema(cur: psycopg2.extensions.cursor, grants: SchemaGrants) -> list[str]:
    schema, owner = sql.Identifier(grants.schema), sql.Identifier(grants.owner)
    done = []
    cur.execute("select nspowner::regrole::text from pg_namespace where nspname = %s", (grants.schema,))
    row = cur.fetchone()
    if row is None:
        cur.execute(sql.SQL("create schema {} authorization {}").format(schema, owner))
        done.append(f"created schema {grants.schema} owned by {grants.owner}")
    elif row[0] != grants.owner:
        cur.execute(sql.SQL("alter schema {} owner to {}").format(schema, owner))
        done.append(f"schema {grants.schema}: owner {row[0]} -> {grants.owner}")
    done.extend(_own_tables(cur, grants))
    cur.execute(sql.SQL("revoke all on schema {} from public").format(schema))
    for role, privileges in (
        *((reader, "select") for reader in grants.readers),
        *((writer, "select, insert, update, delete") for writer in grants.writers),
    ):
        parts = {"schema": schema, "owner": owner, "grantee": sql.Identifier(role), "privileges": sql.SQL(privileges)}
        for statement in (
            "grant usage on schema {schema} to {grantee}",
            "grant {privileges} on all tables in schema {schema} to {grantee}",
            "grant select on all sequences in schema {schema} to {grantee}",
            "alter default privileges for role {owner} in schema {schema} grant {privileges} on tables to {grantee}",
            "alter default privileges for role {owner} in schema {schema} grant select on sequences to {grantee}",
        ):
            cur.execute(sql.SQL(statement).format(**parts))
    return done


def _own_tables(cur: psycopg2.extensions.cursor, grants: SchemaGrants) -> list[str]:
    """Hand every table, view, materialized view and sequence of the schema to its owner role (objects an admin
    created before the migration, e.g. on a warehouse that ran as one superuser)."""
    cur.execute(
        "select c.relname, c.relkind from pg_class as c join pg_namespace as n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')"
        " and c.relowner <> %s::regrole and not exists"
        " (select from pg_depend as d where d.objid = c.oid and d.deptype in ('a', 'i'))",  # owned-by sequences follow
        (grants.schema, grants.owner),
    )
    moved = cur.fetchall()
    kinds = {"v": "view", "m": "materialized view", "S": "sequence", "f": "foreign table"}
    for name, kind in moved:
        cur.execute(
            sql.SQL("alter {} {} owner to {}").format(
                sql.SQL(kinds.get(kind, "table")), sql.Identifier(grants.schema, name), sql.Identifier(grants.owner)
            )
        )
    return [f"{grants.schema}: {len(moved)} object(s) now owned by {grants.owner}"] if moved else []


def passwords_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Role -> password for each role whose WAREHOUSE_<ROLE>_PASSWORD is set and not empty."""
    env = os.environ if environ is None else environ
    return {role: env[password_variable(role)] for role in ROLES if env.get(password_variable(role))}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", default=os.environ.get("WAREHOUSE_ADMIN_DSN", ""),
                        help="libpq URL of an admin of the warehouse (default $WAREHOUSE_ADMIN_DSN)")  # fmt: skip
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("give --dsn or set WAREHOUSE_ADMIN_DSN")
    for line in migrate(args.dsn, passwords_from_env()) or ["roles and grants already up to date"]:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
