# The two commands a new user needs: `make demo` and `make test`. Everything else is set up on the way.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
VPY := $(VENV)/bin/python
# Runs a command inside the local environment: embedded PostgreSQL (or MEDIA_WAREHOUSE_URL/MEDIA_AIRFLOW_DB_URL),
# AIRFLOW_HOME under .local/, telemetry off. The local tooling lives in dev/, outside what the image ships.
RUN := PYTHONPATH=dev $(VPY) -m local_stack.devenv
DEMO_START ?= 2026-11-01
DEMO_DAYS ?= 3
DEMO_INTERVAL_START ?= 2026-11-02

.PHONY: help setup venv db airflow-db dbt-manifest demo test lint airflow stop clean docs

help:
	@echo "make demo      set everything up and run the demo provider end to end"
	@echo "make test      set everything up and run the whole test suite"
	@echo "make airflow   Airflow UI on http://localhost:8080 (Ctrl-C stops it)"
	@echo "make lint      ruff on the Python code"
	@echo "make stop      stop the embedded PostgreSQL"

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]}"'
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -r requirements.txt
	touch $@

db: venv
	@$(RUN) python -c 'from local_stack import devenv; w, m = devenv.database_urls(); print("warehouse:", w.split("@")[-1], " airflow metadata:", m.split("@")[-1])'

airflow-db: db
	@$(RUN) airflow db migrate > .local/airflow-db-migrate.log 2>&1 || (tail -30 .local/airflow-db-migrate.log; exit 1)
	@$(RUN) python -m local_stack.airflow_settings

dbt-manifest: venv
	@$(RUN) bash -c 'cd include/dbt && dbt parse --profiles-dir . --quiet' && echo "dbt manifest: include/dbt/target/manifest.json"

setup: venv db airflow-db dbt-manifest

demo: setup
	@$(RUN) python -m demo --first-day $(DEMO_START) --days $(DEMO_DAYS) --interval-start $(DEMO_INTERVAL_START)

test: setup
	@$(RUN) python -m pytest -q; status=$$?; if [ $$status -eq 5 ]; then echo "no tests ran"; exit 1; fi; exit $$status

lint: venv
	$(VENV)/bin/ruff check plugins include dags dev tests
	$(VENV)/bin/ruff format --check plugins include dags dev tests

airflow: setup
	@echo "Airflow on http://localhost:8080 -- user admin, password in .local/airflow/simple_auth_manager_passwords.json.generated"
	@$(RUN) env AIRFLOW__API__PORT=8080 airflow standalone

docs:
	@echo "dbt docs: .local/artifacts/dbt_docs/index.html"
	@echo "GX data docs: .local/artifacts/gx/gx/uncommitted/data_docs/local_site/index.html"

stop:
	@PYTHONPATH=dev $(VPY) -m local_stack.postgres stop

clean: stop
	rm -rf .local include/dbt/target include/dbt/logs
