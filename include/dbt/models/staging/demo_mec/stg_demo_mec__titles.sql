-- The demo MEC studio's titles (MovieLabs MEC from an S3 bucket), one row per delivered record.
{{ stg_mec_titles('demo_mec') }}
