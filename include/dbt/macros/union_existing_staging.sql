{#- Union one staging model per provider in `providers`, skipping providers whose staging view does not exist yet
    (a provider added before its first run must not break publication of the others). With none yet, `empty_sql`
    (the staging shape over raw, for no provider) gives the right columns and no rows. -#}
{% macro union_existing_staging(providers, suffix, empty_sql) %}
    {%- set relations = [] -%}
    {%- for provider_id in providers -%}
        {%- set relation = ref('stg_' ~ provider_id ~ '__' ~ suffix) -%}
        {%- if not execute or adapter.get_relation(relation.database, relation.schema, relation.identifier) -%}
            {%- do relations.append(relation) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not relations %}
{{ empty_sql }}
    {%- endif -%}
    {%- for relation in relations %}
select * from {{ relation }}
{% if not loop.last %}union all{% endif %}
    {%- endfor %}
{% endmacro %}
