-- EIDR coverage per provider and day the assets were last updated: shares mapped, in review, unmatched, and
-- invalid provided IDs. Ready to feed anomaly alerts.
select
    titles.provider_id,
    titles.updated_at::date as day,
    count(*) as assets,
    count(*) filter (where mapping.eidr_id is not null) as mapped,
    count(*) filter (where mapping.band = 'review') as in_review,
    count(*) filter (where mapping.eidr_id is null and coalesce(mapping.band, 'none') <> 'review') as unmatched,
    count(*) filter (where titles.eidr_status = 'invalid') as invalid_provided,
    round(count(*) filter (where mapping.eidr_id is not null)::numeric / count(*), 4) as share_mapped,
    round(count(*) filter (where mapping.band = 'review')::numeric / count(*), 4) as share_in_review
from {{ ref('titles') }} as titles
left join {{ ref('eidr_mapping') }} as mapping on mapping.asset_key = titles.asset_key
where not titles.is_deleted
group by 1, 2
