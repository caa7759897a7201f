-- One row per ingest batch: what each provider delivered for each data interval and how much of it loaded.
select
    batch_id,
    provider_id,
    interval_start,
    interval_end,
    files_read,
    records_read,
    records_loaded,
    records_quarantined,
    bytes_read,
    started_at,
    finished_at
from {{ source('raw', 'ingest_batches') }}
where {{ configured_providers() }}
