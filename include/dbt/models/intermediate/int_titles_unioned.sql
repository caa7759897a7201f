-- Every provider's staging titles in one relation; providers are listed in the `title_providers` var.
{% for provider_id in var('title_providers') %}
select * from {{ ref('stg_' ~ provider_id ~ '__titles') }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
