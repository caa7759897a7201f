-- One row per availability window (provider, avail, territory, license type, format): the latest delivered
-- version of each, with its EIDR ID status. Supply-chain reporting: what may be offered where and when.
with ranked as (
    select
        *,
        row_number() over (partition by window_key order by loaded_at desc, source_location desc) as version_rank
    from {{ ref('stg_avails__avails') }}
)

select
    window_key,
    provider_id,
    alid,
    licensor,
    title,
    asset_type,
    series_title,
    season_number,
    episode_number,
    edit_id,
    title_id,
    eidr_id,
    eidr_id_provided,
    eidr_status,
    territory,
    license_type,
    format_profile,
    window_start,
    window_end,
    price_type,
    price_value,
    price_currency,
    source_file,
    batch_id,
    loaded_at as updated_at
from ranked
where version_rank = 1
