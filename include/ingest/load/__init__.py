"""Load one batch into the raw schema: DDL, binary or CSV COPY, the ledger, all in one transaction."""
