-- One row per asset: the latest version of every title from every provider, with its EIDR ID.
-- Incremental on changed assets: those with a version in a batch new, replaced or withdrawn since the last build,
-- and those with a new EIDR decision. Only their versions are read and ranked (the join reaches each raw table's
-- asset-key index), so a backfill that reloads an old version cannot overwrite a newer one, and an asset whose
-- versions are all gone becomes a tombstone (is_removed).
{{ mart_delta_upgrade() }}
{{
    config(
        materialized='incremental',
        unique_key=['asset_key'],
        indexes=[
            {'columns': ['asset_key'], 'unique': true},
            {'columns': ['changed_at']},
            {'columns': ['batch_id']},
            {'columns': ['provider_id', 'updated_at']},
        ],
    )
}}
{%- set version_columns = [
    'provider_id', 'provider_asset_id', 'title', 'asset_type', 'series_title', 'season_number', 'episode_number',
    'release_year', 'runtime_minutes', 'genres', 'eidr_id', 'eidr_id_provided', 'eidr_status', 'eidr_invalid_reason',
    'licensing_window_start', 'licensing_window_end', 'version_major', 'version_minor', 'is_deleted', 'source_file',
    'batch_id',
] %}
{%- set columns = ['asset_key'] + version_columns + [
    'mapped_eidr_id', 'eidr_mapping_method', 'eidr_match_band', 'eidr_match_score', 'eidr_decided_at',
    'first_seen_at', 'updated_at',
] %}

with
{% if is_incremental() %}
changed_assets as (
    select unioned.asset_key
    from {{ ref('int_titles_unioned') }} as unioned
    where unioned.batch_id = {{ mart_delta_changed_batches() }}
    union
    select previous.asset_key
    from {{ this }} as previous
    where previous.batch_id = {{ mart_delta_changed_batches() }}
    union
    select asset_key from {{ mart_delta_decided_assets() }} as decided
),

previous as (
    select * from {{ this }}
    where asset_key = {{ mart_delta_any('asset_key', 'changed_assets') }}
),
{% endif %}

ranked as (
    select
        unioned.*,
        row_number() over (
            partition by unioned.asset_key
            order by unioned.version_major desc, unioned.version_minor desc, unioned.loaded_at desc,
                unioned.source_file desc
        ) as version_rank,
        min(unioned.loaded_at) over (partition by unioned.asset_key) as first_loaded_at
    from {{ ref('int_titles_unioned') }} as unioned
    {% if is_incremental() %}
    -- a parameter, so each raw table's asset-key index finds the versions and only they are ranked
    where unioned.asset_key = {{ mart_delta_any('asset_key', 'changed_assets') }}
    {% endif %}
),

fresh as (
    select
        latest.asset_key,
        {%- for column in version_columns %}
        latest.{{ column }},
        {%- endfor %}
        decisions.eidr_id as mapped_eidr_id,
        decisions.method as eidr_mapping_method,
        decisions.band as eidr_match_band,
        decisions.score as eidr_match_score,
        decisions.decided_at as eidr_decided_at,
        {% if is_incremental() %}
        -- the earliest time the asset was ever seen, even by versions since replaced
        least(previous.first_seen_at, latest.first_loaded_at) as first_seen_at,
        -- when the version's content last changed, not when it was last reloaded
        case
            when not previous.is_removed and {{ mart_delta_same('latest', 'previous', version_columns) }}
                then previous.updated_at
            else latest.loaded_at
        end as updated_at
        {% else %}
        latest.first_loaded_at as first_seen_at,
        latest.loaded_at as updated_at
        {% endif %}
    from ranked as latest
    left join {{ ref('int_eidr_decisions') }} as decisions
        on decisions.asset_key = latest.asset_key
        {% if is_incremental() %}
        and decisions.asset_key = {{ mart_delta_any('asset_key', 'changed_assets') }}
        {% endif %}
    {% if is_incremental() %}
    -- the mart itself, not the previous CTE: an index lookup per row, whatever the planner guesses of the CTE's size
    left join {{ this }} as previous on previous.asset_key = latest.asset_key
    {% endif %}
    where latest.version_rank = 1
),

delta as (
    {{ mart_delta_rows('fresh', 'previous', ['asset_key'], columns) }}
)

select * from delta
