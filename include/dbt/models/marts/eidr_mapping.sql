-- One row per asset in titles: its EIDR ID and how it was decided (provided, matched, override); an active
-- override wins. Incremental on the assets whose title row or EIDR decision changed since the last build; an asset
-- that left titles becomes a tombstone (is_removed).
{{ mart_delta_upgrade() }}
{{
    config(
        materialized='incremental',
        unique_key=['asset_key'],
        indexes=[{'columns': ['asset_key'], 'unique': true}, {'columns': ['changed_at']}],
    )
}}
{%- set columns = [
    'asset_key', 'provider_id', 'eidr_id', 'method', 'score', 'band', 'top_candidate_eidr_id', 'provided_eidr_id',
    'override_by', 'override_reason', 'decided_at', 'reason',
] %}

with
{% if is_incremental() %}
changed_assets as (
    select titles.asset_key
    from {{ ref('titles') }} as titles
    where titles.changed_at > {{ mart_delta_last_built() }}
    union
    select asset_key from {{ mart_delta_decided_assets() }} as decided
),

previous as (
    select * from {{ this }}
    where asset_key = {{ mart_delta_any('asset_key', 'changed_assets') }}
),
{% endif %}

fresh as (
    select
        {%- for column in columns %}
        decisions.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('int_eidr_decisions') }} as decisions
    inner join {{ ref('titles') }} as titles on titles.asset_key = decisions.asset_key
    where not titles.is_removed
    {% if is_incremental() %}
        and decisions.asset_key = {{ mart_delta_any('asset_key', 'changed_assets') }}
    {% endif %}
),

delta as (
    {{ mart_delta_rows('fresh', 'previous', ['asset_key'], columns) }}
)

select * from delta
