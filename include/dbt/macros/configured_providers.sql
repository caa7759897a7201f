{#- The providers that have a YAML, as the Airflow side passes them: `--vars '{providers: [demo_adi, ...]}'`.
    Rows of any other provider id in raw (test loads, typos, a removed provider) never reach the marts.
    Without the var (a plain `dbt build` by hand) every provider in raw is kept. -#}
{% macro configured_providers(column='provider_id') -%}
    {%- set providers = var('providers', none) -%}
    {%- if providers is none -%}
        true
    {%- elif providers | length == 0 -%}
        false
    {%- else -%}
        {{ column }} in ({% for provider in providers %}'{{ provider }}'{{ ", " if not loop.last }}{% endfor %})
    {%- endif -%}
{%- endmacro %}
