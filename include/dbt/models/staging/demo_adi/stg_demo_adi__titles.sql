-- The demo ADI studio's titles, one row per delivered version of each title.
{{ stg_adi_titles('demo_adi') }}
