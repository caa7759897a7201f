"""The operator pages inside the Airflow UI: provider status, dbt docs and GX data docs (a FastAPI app)."""
