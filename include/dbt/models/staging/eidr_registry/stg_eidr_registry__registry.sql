-- The EIDR registry mirror: the latest delivered record of every EIDR ID.
with ranked as (
    select
        *,
        row_number() over (partition by eidr_id order by interval_end desc, loaded_at desc) as version_rank
    from {{ source('raw', 'eidr_registry') }}
)

select
    eidr_id,
    resource_name,
    alternate_names,
    referent_type,
    structural_type,
    release_date,
    release_year,
    approximate_length_minutes,
    country_of_origin,
    directors,
    parent_eidr_id,
    season_number,
    episode_number,
    registry_status,
    loaded_at
from ranked
where version_rank = 1
