-- Every CSV/TSV provider's titles (raw.csv_titles, mapped by the provider's format_options columns),
-- one row per delivered record.
with source as (
    select * from {{ source('raw', 'csv_titles') }}
    where {{ configured_providers() }}
),

renamed as (
    select
        -- ids
        provider_id || ':' || provider_asset_id as asset_key,
        provider_id,
        provider_asset_id,
        null::text as package_asset_id,
        null::text as adi_provider_id,

        -- descriptive
        nullif(trim(coalesce(episode_title, title)), '') as title,
        {{ canonical_asset_type("coalesce(work_type, case when episode_number is not null then 'episode' end)") }}
            as asset_type,
        series_title,
        season_number,
        episode_number,
        coalesce(release_year, extract(year from release_date)::int) as release_year,
        runtime_minutes,
        genres,
        directors,
        country_of_origin,
        null::text as alternate_titles,

        -- EIDR
        eidr_id,
        eidr_id_provided,
        eidr_status,
        eidr_invalid_reason,

        -- licensing window (UTC)
        licensing_window_start,
        licensing_window_end,

        -- versions: records are not versioned
        1 as version_major,
        0 as version_minor,
        false as is_deleted,

        -- delivery
        source_file,
        batch_id,
        loaded_at
    from source
)

select * from renamed
