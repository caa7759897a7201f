-- Assets whose best registry match needs a person: the review band, with the top candidates and their scores.
-- Work it with `python -m eidr_matching review-queue` and `... override` (see the README).
with candidates as (
    select
        asset_key,
        jsonb_agg(
            jsonb_build_object('eidr_id', eidr_id, 'score', round(score::numeric, 3), 'rank', rank) order by rank
        ) as top_candidates
    from {{ source('eidr', 'match_candidates') }}
    where rank <= 3
    group by asset_key
)

select
    mapping.asset_key,
    mapping.provider_id,
    titles.title,
    titles.release_year,
    mapping.provided_eidr_id,
    mapping.top_candidate_eidr_id,
    mapping.score as top_score,
    candidates.top_candidates,
    mapping.decided_at
from {{ ref('eidr_mapping') }} as mapping
left join candidates on candidates.asset_key = mapping.asset_key
left join {{ ref('int_titles_latest_versions') }} as titles on titles.asset_key = mapping.asset_key
where mapping.band = 'review'
