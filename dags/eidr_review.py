"""The Airflow DAG `eidr_review`: the EIDR review queue worked in Required Actions (human-in-the-loop tasks)."""

from media_platform.dag_factory.review_dag import build_review_dag

dag = build_review_dag()
