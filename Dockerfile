# One image for Airflow (scheduler, API server, workers: Astro Runtime style) and for the ingest pods.
# Airflow runs it with its normal entrypoint; KubernetesPodOperator runs `python -m ingest ...` in it.
FROM python:3.11-slim-bookworm

ENV AIRFLOW_HOME=/usr/local/airflow \
    PYTHONPATH=/usr/local/airflow/plugins:/usr/local/airflow/include:/usr/local/airflow/dags \
    PYTHONUNBUFFERED=1 \
    DO_NOT_TRACK=1 \
    SCARF_ANALYTICS=false \
    AIRFLOW__USAGE_DATA_COLLECTION__ENABLED=False \
    AIRFLOW__COSMOS__ENABLE_TELEMETRY=False \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False \
    GX_ANALYTICS_ENABLED=False \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    MEDIA_EXECUTION_MODE=kubernetes

# The non-root user the pod security context expects (uid 50000, as in the official Airflow image).
RUN groupadd --gid 50000 airflow && useradd --uid 50000 --gid 50000 --create-home --home-dir /home/airflow airflow

WORKDIR ${AIRFLOW_HOME}
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY --chown=airflow:airflow dags/ dags/
COPY --chown=airflow:airflow plugins/ plugins/
COPY --chown=airflow:airflow include/ include/
COPY --chown=airflow:airflow airflow_settings.yaml .

# Cosmos renders the dbt project from a manifest built at image build time, never with `dbt ls` at parse time.
RUN cd include/dbt && dbt parse --profiles-dir . --quiet && chown -R airflow:airflow target

USER 50000
CMD ["airflow", "api-server"]
