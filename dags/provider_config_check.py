"""Surfaces invalid provider YAML files as an Airflow DAG import error, while the valid providers' DAGs still load."""

from media_platform.dag_factory.registry import raise_config_errors

raise_config_errors()
