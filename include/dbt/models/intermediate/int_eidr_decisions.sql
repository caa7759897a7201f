-- The EIDR decision of each matched asset as the marts show it: the matcher's result, an active override winning.
-- Ephemeral (inlined into titles and eidr_mapping): the matcher's tables exist only once match_eidr has run, after
-- the intermediate views are deployed.
{{ config(materialized='ephemeral') }}
with active_overrides as (
    select asset_key, eidr_id, decided_by, decided_at, reason
    from {{ source('eidr', 'overrides') }}
    where superseded_at is null
)

select
    results.asset_key,
    results.provider_id,
    case when overrides.asset_key is not null then overrides.eidr_id else results.eidr_id end as eidr_id,
    case when overrides.asset_key is not null then 'override' else results.method end as method,
    results.score,
    case when overrides.asset_key is not null then 'override' else results.band end as band,
    results.top_candidate_eidr_id,
    results.provided_eidr_id,
    overrides.decided_by as override_by,
    overrides.reason as override_reason,
    case
        when overrides.asset_key is not null then 'override by ' || overrides.decided_by || ': ' || overrides.reason
        else results.reason
    end as reason,
    coalesce(overrides.decided_at, results.decided_at) as decided_at
from {{ source('eidr', 'match_results') }} as results
left join active_overrides as overrides on overrides.asset_key = results.asset_key
