-- One row per asset: the latest version of every title from every provider, with its EIDR ID.
-- Incremental: only assets with records loaded since the last build are recomputed, from all their versions,
-- so a backfill that reloads an old version cannot overwrite a newer one.
-- depends_on: {{ ref('int_titles_unioned') }}
{{
    config(
        materialized='incremental',
        unique_key='asset_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

with latest as (
    select * from {{ ref('int_titles_latest_versions') }}
),

mapping as (
    select * from {{ ref('eidr_mapping') }}
)

{% if is_incremental() %}
, changed_assets as (
    select distinct asset_key
    from {{ ref('int_titles_unioned') }}
    where loaded_at > (select coalesce(max(updated_at), '1900-01-01'::timestamptz) from {{ this }})
    union
    -- assets whose EIDR decision changed (a new match, a registry re-match, an override); all of them when the
    -- existing table predates the EIDR columns (on_schema_change appends them)
    select asset_key
    from mapping
    {%- set existing_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list %}
    {%- if 'eidr_decided_at' in existing_columns %}
    where decided_at > (select coalesce(max(eidr_decided_at), '1900-01-01'::timestamptz) from {{ this }})
    {%- endif %}
)
{% endif %}

select
    latest.asset_key,
    latest.provider_id,
    latest.provider_asset_id,
    latest.title,
    latest.asset_type,
    latest.series_title,
    latest.season_number,
    latest.episode_number,
    latest.release_year,
    latest.runtime_minutes,
    latest.genres,
    latest.eidr_id,
    latest.eidr_id_provided,
    latest.eidr_status,
    latest.eidr_invalid_reason,
    latest.licensing_window_start,
    latest.licensing_window_end,
    latest.version_major,
    latest.version_minor,
    latest.is_deleted,
    latest.source_file,
    latest.batch_id,
    mapping.eidr_id as mapped_eidr_id,
    mapping.method as eidr_mapping_method,
    mapping.band as eidr_match_band,
    mapping.score as eidr_match_score,
    mapping.decided_at as eidr_decided_at,
    latest.first_seen_at,
    latest.loaded_at as updated_at
from latest
left join mapping on mapping.asset_key = latest.asset_key
{% if is_incremental() %}
where latest.asset_key in (select asset_key from changed_assets)
{% endif %}
