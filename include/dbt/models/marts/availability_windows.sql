-- One row per availability window (provider, avail, territory, license type, format): the latest delivered
-- version of each, with its EIDR ID status. Supply-chain reporting: what may be offered where and when.
-- Incremental on changed windows: those with a version in a batch new, replaced or withdrawn since the last build;
-- a window whose versions are all gone becomes a tombstone (is_removed).
{{ mart_delta_upgrade() }}
{{
    config(
        materialized='incremental',
        unique_key=['window_key'],
        indexes=[
            {'columns': ['window_key'], 'unique': true},
            {'columns': ['changed_at']},
            {'columns': ['batch_id']},
        ],
    )
}}
{%- set version_columns = [
    'provider_id', 'alid', 'licensor', 'title', 'asset_type', 'series_title', 'season_number', 'episode_number',
    'edit_id', 'title_id', 'eidr_id', 'eidr_id_provided', 'eidr_status', 'territory', 'license_type',
    'format_profile', 'window_start', 'window_end', 'price_type', 'price_value', 'price_currency', 'source_file',
    'batch_id',
] %}

with
{% if is_incremental() %}
changed_windows as (
    select avails.window_key
    from {{ ref('stg_avails__avails') }} as avails
    where avails.batch_id = {{ mart_delta_changed_batches() }}
    union
    select previous.window_key
    from {{ this }} as previous
    where previous.batch_id = {{ mart_delta_changed_batches() }}
),

previous as (
    select * from {{ this }}
    where window_key = {{ mart_delta_any('window_key', 'changed_windows') }}
),
{% endif %}

ranked as (
    select
        avails.*,
        row_number() over (
            partition by avails.window_key order by avails.loaded_at desc, avails.source_location desc
        ) as version_rank
    from {{ ref('stg_avails__avails') }} as avails
    {% if is_incremental() %}
    -- a parameter, so raw.avails' window-key index finds the versions and only they are ranked
    where avails.window_key = {{ mart_delta_any('window_key', 'changed_windows') }}
    {% endif %}
),

fresh as (
    select
        latest.window_key,
        {%- for column in version_columns %}
        latest.{{ column }},
        {%- endfor %}
        {% if is_incremental() %}
        -- when the window's content last changed, not when it was last reloaded
        case
            when not previous.is_removed and {{ mart_delta_same('latest', 'previous', version_columns) }}
                then previous.updated_at
            else latest.loaded_at
        end as updated_at
        {% else %}
        latest.loaded_at as updated_at
        {% endif %}
    from ranked as latest
    {% if is_incremental() %}
    -- the mart itself, not the previous CTE: an index lookup per row, whatever the planner guesses of the CTE's size
    left join {{ this }} as previous on previous.window_key = latest.window_key
    {% endif %}
    where latest.version_rank = 1
),

delta as (
    {{ mart_delta_rows('fresh', 'previous', ['window_key'], ['window_key'] + version_columns + ['updated_at']) }}
)

select * from delta
