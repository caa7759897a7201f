-- The demo distributor's EMA Avails (xlsx over SFTP), one row per delivered window.
{{ stg_avails('demo_avails') }}
