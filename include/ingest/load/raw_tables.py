"""DDL of the per-format raw tables: the loader's meta columns first, then the format's own, plus the interval index."""

from __future__ import annotations

META_COLUMNS_SQL = """    batch_id text not null,
    provider_id text not null,
    interval_start timestamptz not null,
    interval_end timestamptz not null,
    source_file text not null,
    source_location text not null,
    loaded_at timestamptz not null,
    record_hash text not null,"""


def raw_table_ddl(table: str, columns_sql: str) -> str:
    """`create table if not exists raw.<table>` with the meta columns (warehouse.RECORD_META_COLUMNS, in order) and
    then `columns_sql` (the format's column definitions), the (provider_id, interval_start, interval_end) index
    every re-run of an interval deletes by, and the batch_id index the dbt marts find a changed batch's rows by.

    The original record is kept as `json`, not jsonb: json keeps the text exactly as written (key order included) and
    PostgreSQL only checks it on COPY instead of building jsonb, which made loading about 40 % slower (see
    include/ingest/BENCHMARKS.md). Tables an earlier version made with a jsonb record stay as they are (dbt views
    depend on them); the loader sends each column what its type needs.
    """
    return (
        f"\ncreate table if not exists raw.{table} (\n{META_COLUMNS_SQL}\n{columns_sql.strip(chr(10))}\n);\n"
        f"create index if not exists {table}_interval_idx on raw.{table} (provider_id, interval_start, interval_end);\n"
        f"create index if not exists {table}_batch_idx on raw.{table} (batch_id);\n"
    )
