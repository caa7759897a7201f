-- The demo API provider's titles (JSON pages from its REST API), one row per delivered record.
{{ stg_canonical_titles('demo_api', 'json_titles') }}
