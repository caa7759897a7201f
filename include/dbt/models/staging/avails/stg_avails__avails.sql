-- Every EMA Avails provider's windows (raw.avails, from xlsx or XML), one row per delivered window.
with source as (
    select * from {{ source('raw', 'avails') }}
    where {{ configured_providers() }}
),

renamed as (
    select
        -- ids
        provider_id || ':' || coalesce(alid, edit_id, title_id, content_id, title) || ':' || coalesce(territory, '?')
            || ':' || coalesce(license_type, '?') || ':' || coalesce(format_profile, '?') as window_key,
        provider_id,
        alid,
        transaction_id,
        licensor,

        -- descriptive
        nullif(trim(title), '') as title,
        {{ canonical_asset_type('work_type') }} as asset_type,
        series_title,
        season_number,
        episode_number,
        content_id,
        title_id,
        edit_id,

        -- EIDR
        eidr_id,
        eidr_id_provided,
        eidr_status,
        eidr_invalid_reason,

        -- window
        upper(territory) as territory,
        license_type,
        format_profile,
        window_start,
        window_end,
        price_type,
        price_value,
        price_currency,

        -- delivery
        source_file,
        source_location,
        batch_id,
        loaded_at
    from source
)

select * from renamed
