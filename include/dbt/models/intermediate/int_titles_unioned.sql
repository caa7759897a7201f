-- Every provider's staging titles in one relation; providers are listed in the `title_providers` var.
{{ union_existing_staging(var('title_providers'), 'titles', stg_adi_titles('__no_provider__')) }}
