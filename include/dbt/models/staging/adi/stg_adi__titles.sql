-- Every ADI provider's titles (raw.adi_titles), one row per delivered version of each title: renames and casts.
with source as (
    select * from {{ source('raw', 'adi_titles') }}
    where {{ configured_providers() }}
),

renamed as (
    select
        -- ids
        provider_id || ':' || title_asset_id as asset_key,
        provider_id,
        title_asset_id as provider_asset_id,
        package_asset_id,
        adi_provider_id,

        -- descriptive
        nullif(trim(title), '') as title,
        {{ canonical_asset_type(
            "case when series_title is not null or episode_number is not null then 'episode' end"
        ) }} as asset_type,
        series_title,
        season_number,
        episode_number,
        release_year,
        round(runtime_seconds / 60.0)::int as runtime_minutes,
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

        -- versions
        coalesce(version_major, 1) as version_major,
        coalesce(version_minor, 0) as version_minor,
        coalesce(upper(verb) = 'DELETE', false) as is_deleted,

        -- delivery
        source_file,
        batch_id,
        loaded_at
    from source
)

select * from renamed
