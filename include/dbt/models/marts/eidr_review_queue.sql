-- Assets whose best registry match needs a person: the review band, with the top candidates and their scores.
-- Work it with `python -m eidr_matching review-queue` and `... override` (see the README).
-- Incremental on the assets whose EIDR mapping or title row changed since the last build; an asset that left the
-- review band or titles becomes a tombstone (is_removed).
{{ mart_delta_upgrade() }}
{{
    config(
        materialized='incremental',
        unique_key=['asset_key'],
        indexes=[{'columns': ['asset_key'], 'unique': true}, {'columns': ['changed_at']}],
    )
}}
{%- set columns = [
    'asset_key', 'provider_id', 'title', 'release_year', 'provided_eidr_id', 'top_candidate_eidr_id', 'top_score',
    'top_candidates', 'decided_at', 'reason',
] %}

with
{% if is_incremental() %}
changed_assets as (
    select mapping.asset_key
    from {{ ref('eidr_mapping') }} as mapping
    where mapping.changed_at > {{ mart_delta_last_built() }}
    union
    select titles.asset_key
    from {{ ref('titles') }} as titles
    where titles.changed_at > {{ mart_delta_last_built() }}
),

previous as (
    select * from {{ this }}
    where asset_key = {{ mart_delta_any('asset_key', 'changed_assets') }}
),
{% endif %}

in_review as (
    select mapping.*
    from {{ ref('eidr_mapping') }} as mapping
    where mapping.band = 'review' and not mapping.is_removed
    {% if is_incremental() %}
        and mapping.asset_key = {{ mart_delta_any('asset_key', 'changed_assets') }}
    {% endif %}
),

candidates as (
    select
        match_candidates.asset_key,
        jsonb_agg(
            jsonb_build_object(
                'eidr_id', match_candidates.eidr_id,
                'score', round(match_candidates.score::numeric, 3),
                'rank', match_candidates.rank
            ) order by match_candidates.rank
        ) as top_candidates
    from {{ source('eidr', 'match_candidates') }} as match_candidates
    where match_candidates.rank <= 3 and match_candidates.asset_key = {{ mart_delta_any('asset_key', 'in_review') }}
    group by match_candidates.asset_key
),

fresh as (
    select
        in_review.asset_key,
        in_review.provider_id,
        titles.title,
        titles.release_year,
        in_review.provided_eidr_id,
        in_review.top_candidate_eidr_id,
        in_review.score as top_score,
        candidates.top_candidates,
        in_review.decided_at,
        in_review.reason
    from in_review
    left join candidates on candidates.asset_key = in_review.asset_key
    left join {{ ref('titles') }} as titles on titles.asset_key = in_review.asset_key and not titles.is_removed
),

delta as (
    {{ mart_delta_rows('fresh', 'previous', ['asset_key'], columns) }}
)

select * from delta
