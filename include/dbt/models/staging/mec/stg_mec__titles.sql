-- Every MovieLabs MEC provider's titles (raw.mec_titles), one row per delivered record: renames and casts.
with source as (
    select * from {{ source('raw', 'mec_titles') }}
    where {{ configured_providers() }}
),

renamed as (
    select
        -- ids
        provider_id || ':' || content_id as asset_key,
        provider_id,
        content_id as provider_asset_id,
        null::text as package_asset_id,
        null::text as adi_provider_id,

        -- descriptive
        nullif(trim(title), '') as title,
        {{ canonical_asset_type('work_type') }} as asset_type,
        null::text as series_title,
        case when lower(work_type) = 'season' then sequence_number end as season_number,
        case when lower(work_type) = 'episode' then sequence_number end as episode_number,
        release_year,
        run_length_minutes as runtime_minutes,
        genres,
        directors,
        country_of_origin,
        (
            select jsonb_agg(item ->> 'title')::text
            from jsonb_array_elements(localized_titles) as item
            where item ->> 'title' is distinct from title
        ) as alternate_titles,

        -- EIDR
        eidr_id,
        eidr_id_provided,
        eidr_status,
        eidr_invalid_reason,

        -- licensing window: MEC carries none
        null::timestamptz as licensing_window_start,
        null::timestamptz as licensing_window_end,

        -- versions: MEC records are not versioned
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
