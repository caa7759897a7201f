{#- The staging shape of one ADI provider's titles: renames and casts of raw.adi_titles, no joins. -#}
{% macro stg_adi_titles(provider_id) %}
select
    provider_id || ':' || title_asset_id as asset_key,
    provider_id,
    title_asset_id as provider_asset_id,
    package_asset_id,
    adi_provider_id,
    nullif(trim(title), '') as title,
    case
        when series_title is not null or episode_number is not null then 'episode'
        else 'movie'
    end as asset_type,
    series_title,
    season_number,
    episode_number,
    release_year,
    round(runtime_seconds / 60.0)::int as runtime_minutes,
    genres,
    directors,
    country_of_origin,
    null::text as alternate_titles,
    eidr_id,
    eidr_id_provided,
    eidr_status,
    eidr_invalid_reason,
    licensing_window_start,
    licensing_window_end,
    coalesce(version_major, 1) as version_major,
    coalesce(version_minor, 0) as version_minor,
    coalesce(upper(verb) = 'DELETE', false) as is_deleted,
    source_file,
    batch_id,
    loaded_at
from {{ source('raw', 'adi_titles') }}
where provider_id = '{{ provider_id }}'
{% endmacro %}
