{#- Data tests cost the delta (issue #9). dbt renders every test's `where` through get_where_subquery, so a
    placeholder in a `where` (dbt_project.yml) is replaced here, when the test runs, by a filter that may depend on
    the warehouse's state:
    - __keys_loaded_since_marts_built__: the asset keys of the raw batches finished since the titles mart was last
      built (every key before its first build). The keys are an array, so the filter reaches the raw tables'
      indexes through the union and the window partitioned by asset_key; a semi-join would scan the history. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if '__keys_loaded_since_marts_built__' in where -%}
        {%- set where = where | replace('__keys_loaded_since_marts_built__', keys_loaded_since_marts_built()) -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{% macro keys_loaded_since_marts_built() -%}
    {%- set marks = adapter.get_relation(database=target.database, schema='audit', identifier='mart_delta_marks')
        if execute else none -%}
    {%- if marks is none -%}
        true
    {%- else -%}
        asset_key = any(array(
            select unioned.asset_key
            from intermediate.int_titles_unioned as unioned
            where unioned.batch_id = any(array(
                select batches.batch_id
                from raw.ingest_batches as batches
                where batches.finished_at > coalesce(
                    (select marks.built_at from {{ marks }} as marks where marks.mart = 'titles'), '-infinity'
                )
            ))
        ))
    {%- endif -%}
{%- endmacro %}
