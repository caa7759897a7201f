{#- eidr_coverage's memory of the (provider, day) group each live asset was counted in at its last build
    (mart_delta_coverage_members), so a build recomputes the group an asset left as well as the one it joined. -#}

{#- Before the model, in its transaction: the assets whose title row or EIDR mapping changed since the last build. -#}
{% macro coverage_members_begin() -%}
    {%- set members = this.schema ~ '.mart_delta_coverage_members' -%}
    drop table if exists {{ mart_delta_temp('assets') }};
    create temporary table {{ mart_delta_temp('assets') }} as
    {% if is_incremental() -%}
        select titles.asset_key from {{ ref('titles') }} as titles
        where titles.changed_at > {{ mart_delta_last_built() }}
        union
        select mapping.asset_key from {{ ref('eidr_mapping') }} as mapping
        where mapping.changed_at > {{ mart_delta_last_built() }};
    {%- else -%}
        select titles.asset_key from {{ ref('titles') }} as titles;
        delete from {{ members }};
    {%- endif %}
    analyze {{ mart_delta_temp('assets') }};
{%- endmacro %}

{#- After the model: the changed assets' groups as counted now. -#}
{% macro coverage_members_commit() -%}
    {%- set members = this.schema ~ '.mart_delta_coverage_members' -%}
    delete from {{ members }} where asset_key in (select asset_key from {{ mart_delta_temp('assets') }});
    insert into {{ members }} (asset_key, provider_id, day)
    select titles.asset_key, titles.provider_id, titles.updated_at::date
    from {{ ref('titles') }} as titles
    where titles.asset_key in (select asset_key from {{ mart_delta_temp('assets') }})
        and not titles.is_removed and not titles.is_deleted;
{%- endmacro %}
