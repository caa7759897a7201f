-- The latest delivered version of each asset: highest ADI version, then the latest load.
with ranked as (
    select
        *,
        row_number() over (
            partition by asset_key
            order by version_major desc, version_minor desc, loaded_at desc, source_file desc
        ) as version_rank,
        min(loaded_at) over (partition by asset_key) as first_seen_at
    from {{ ref('int_titles_unioned') }}
)

select * from ranked where version_rank = 1
