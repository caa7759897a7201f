-- What the EIDR matcher (python -m eidr_matching match) reads: every live asset, latest version, with its
-- provided EIDR ID; updated_at lets it re-match only new or changed assets.
select
    asset_key,
    provider_id,
    title,
    alternate_titles,
    release_year,
    runtime_minutes,
    directors,
    country_of_origin as country,
    series_title,
    season_number,
    episode_number,
    eidr_id,
    eidr_status,
    loaded_at as updated_at
from {{ ref('int_titles_latest_versions') }}
where not is_deleted
