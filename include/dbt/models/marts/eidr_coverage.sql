-- EIDR coverage per provider and day the assets were last updated: shares mapped, in review, unmatched, and
-- invalid provided IDs. Ready to feed anomaly alerts.
-- Incremental on the (provider, day) groups an asset changed since the last build joined or left (the group it
-- was counted in is kept in mart_delta_coverage_members); a group left without assets becomes a tombstone.
{{ mart_delta_upgrade() }}
{{
    config(
        materialized='incremental',
        unique_key=['provider_id', 'day'],
        indexes=[{'columns': ['provider_id', 'day'], 'unique': true}, {'columns': ['changed_at']}],
        pre_hook=["{{ coverage_members_begin() }}"],
        post_hook=["{{ coverage_members_commit() }}"],
    )
}}
{%- set columns = [
    'provider_id', 'day', 'assets', 'mapped', 'in_review', 'unmatched', 'invalid_provided', 'share_mapped',
    'share_in_review',
] %}

with
{% if is_incremental() %}
touched_groups as (
    select members.provider_id, members.day
    from {{ this.schema }}.mart_delta_coverage_members as members
    where members.asset_key = {{ mart_delta_any('asset_key', mart_delta_temp('assets')) }}
    union
    select titles.provider_id, titles.updated_at::date as day
    from {{ ref('titles') }} as titles
    where titles.asset_key = {{ mart_delta_any('asset_key', mart_delta_temp('assets')) }}
        and not titles.is_removed and not titles.is_deleted
),

previous as (
    select * from {{ this }}
    where (provider_id, day) in (select touched_groups.provider_id, touched_groups.day from touched_groups)
),
{% endif %}

live as (
    select titles.*
    from {{ ref('titles') }} as titles
    {% if is_incremental() %}
    -- a range on updated_at, so the (provider_id, updated_at) index finds a group's assets
    inner join touched_groups
        on titles.provider_id = touched_groups.provider_id
        and titles.updated_at >= touched_groups.day::timestamptz
        and titles.updated_at < (touched_groups.day + 1)::timestamptz
    {% endif %}
    where not titles.is_removed and not titles.is_deleted
),

fresh as (
    select
        live.provider_id,
        live.updated_at::date as day,
        count(*) as assets,
        count(*) filter (where mapping.eidr_id is not null) as mapped,
        count(*) filter (where mapping.band = 'review') as in_review,
        count(*) filter (where mapping.eidr_id is null and coalesce(mapping.band, 'none') <> 'review') as unmatched,
        count(*) filter (where live.eidr_status = 'invalid') as invalid_provided,
        round(count(*) filter (where mapping.eidr_id is not null)::numeric / count(*), 4) as share_mapped,
        round(count(*) filter (where mapping.band = 'review')::numeric / count(*), 4) as share_in_review
    from live
    left join {{ ref('eidr_mapping') }} as mapping on mapping.asset_key = live.asset_key and not mapping.is_removed
    group by 1, 2
),

delta as (
    {{ mart_delta_rows('fresh', 'previous', ['provider_id', 'day'], columns) }}
)

select * from delta
