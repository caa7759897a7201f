"""One Airflow DAG `ingest_<provider>` per YAML in include/providers, plus the shared `publish_reporting` DAG."""

from media_platform.dag_factory.registry import register_dags

register_dags(globals())
