{#- One of var('asset_types') from a provider's work type (MEC WorkType, Avails WorkType, CSV; ADI's series fields). -#}
{% macro canonical_asset_type(expression) -%}
    case lower(coalesce({{ expression }}, 'movie'))
        when 'movie' then 'movie'
        when 'feature' then 'movie'
        when 'film' then 'movie'
        when 'episode' then 'episode'
        when 'season' then 'season'
        when 'series' then 'series'
        else 'other'
    end
{%- endmacro %}
