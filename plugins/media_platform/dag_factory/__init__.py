"""Builders of the DAGs that dags/ registers: provider DAGs, the publish DAG, their dbt groups, assets and alerts."""
