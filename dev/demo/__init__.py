"""`make demo`: the demo services, and the runner that takes the provider DAGs and the publish DAG through Airflow."""
