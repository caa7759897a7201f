-- One row per ingest batch: what each provider delivered for each data interval and how much of it loaded.
-- Incremental on the batches new, replaced (a re-run of the interval) or withdrawn since the last build.
{{ mart_delta_upgrade() }}
{{
    config(
        materialized='incremental',
        unique_key=['batch_id'],
        indexes=[{'columns': ['batch_id'], 'unique': true}, {'columns': ['changed_at']}],
    )
}}
{%- set columns = [
    'batch_id', 'provider_id', 'interval_start', 'interval_end', 'files_read', 'records_read', 'records_loaded',
    'records_quarantined', 'bytes_read', 'started_at', 'finished_at',
] %}

with
{% if is_incremental() %}
previous as (
    select * from {{ this }}
    where batch_id = {{ mart_delta_changed_batches() }}
),
{% endif %}

fresh as (
    select {{ columns | join(', ') }}
    from {{ source('raw', 'ingest_batches') }}
    where {{ configured_providers() }}
    {% if is_incremental() %}
        and batch_id = {{ mart_delta_changed_batches() }}
    {% endif %}
),

delta as (
    {{ mart_delta_rows('fresh', 'previous', ['batch_id'], columns) }}
)

select * from delta
