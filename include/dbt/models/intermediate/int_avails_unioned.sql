-- Every Avails provider's staging windows in one relation; providers are listed in the `avails_providers` var.
{{ union_existing_staging(var('avails_providers'), 'avails', stg_avails('__no_provider__')) }}
