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
PY_DIRS := dags plugins include dev tests

.PHONY: help setup venv db airflow-db dbt-manifest browser demo test lint format airflow stop clean docs bench-lag

help:
	@echo "make demo      set everything up and run the demo provider end to end"
	@echo "make test      set everything up and run the whole test suite"
	@echo "make airflow   Airflow UI on http://localhost:8080 (Ctrl-C stops it)"
	@echo "make lint      ruff, ruff format, mypy and sqlfluff (what CI runs before the tests)"
	@echo "make format    apply ruff's and sqlfluff's fixes"
	@echo "make stop      stop the embedded PostgreSQL"
	@echo "make bench-lag delivery-to-reporting lag at HISTORY vs BASELINE_HISTORY assets (dev/benchmarks/LAG.md)"

venv: $(VENV)/.installed

# Development installs the runtime pins plus the test, lint and local-stack tools; the image gets requirements.txt only.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]}"'
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -r requirements-dev.txt
	touch $@

db: venv
	@$(RUN) python -c 'from local_stack import devenv; w, m = devenv.database_urls(); print("warehouse:", w.split("@")[-1], " airflow metadata:", m.split("@")[-1])'
	@$(RUN) python -m media_platform.warehouse.roles

airflow-db: db
	@$(RUN) airflow db migrate > .local/airflow-db-migrate.log 2>&1 || (tail -30 .local/airflow-db-migrate.log; exit 1)
	@$(RUN) python -m local_stack.airflow_settings

dbt-manifest: venv
	@$(RUN) bash -c 'cd include/dbt && dbt parse --profiles-dir . --quiet' && echo "dbt manifest: include/dbt/target/manifest.json"

# The browser test (tests/integration/test_ui_browser.py) drives the distribution's headless Chromium. It is
# installed here when missing and root may use apt-get (CI containers); otherwise the test is skipped and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  mkdir -p .local; if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the browser test (apt-get)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) \
	      > .local/apt-chromium.log 2>&1 || echo "chromium could not be installed (.local/apt-chromium.log): the browser test will be skipped"; \
	  else echo "no chromium and no root apt-get: the browser test will be skipped"; fi; }

setup: venv db airflow-db dbt-manifest browser

demo: setup
	@$(RUN) python -m demo --first-day $(DEMO_START) --days $(DEMO_DAYS) --interval-start $(DEMO_INTERVAL_START)

test: setup
	@$(RUN) python -m pytest -q; status=$$?; if [ $$status -eq 5 ]; then echo "no tests ran"; exit 1; fi; exit $$status

lint: venv
	$(VENV)/bin/ruff check $(PY_DIRS)
	$(VENV)/bin/ruff format --check $(PY_DIRS)
	$(VENV)/bin/mypy
	cd include/dbt && ../../$(VENV)/bin/sqlfluff lint models macros

format: venv
	$(VENV)/bin/ruff check --fix $(PY_DIRS)
	$(VENV)/bin/ruff format $(PY_DIRS)
	cd include/dbt && ../../$(VENV)/bin/sqlfluff fix models macros

airflow: setup
	@echo "Airflow on http://localhost:8080 -- user admin, password in .local/airflow/simple_auth_manager_passwords.json.generated"
	@$(RUN) env AIRFLOW__API__PORT=8080 airflow standalone

# The lag benchmark of issue #9 on the real Airflow components (method and figures: dev/benchmarks/LAG.md).
HISTORY ?= 1000000
BASELINE_HISTORY ?= 10000
DELIVERIES ?= 5
DELIVERY_ASSETS ?= 10000
bench-lag: setup
	@$(RUN) python -m benchmarks.lag --history $(HISTORY) $(BASELINE_HISTORY) --deliveries $(DELIVERIES) \
		--delivery-assets $(DELIVERY_ASSETS) --json-out .local/bench_lag.json

docs:
	@echo "dbt docs: .local/artifacts/dbt_docs/index.html"
	@echo "GX data docs: .local/artifacts/gx/gx/uncommitted/data_docs/local_site/index.html"

stop:
	@PYTHONPATH=dev $(VPY) -m local_stack.postgres stop

clean: stop
	rm -rf .local include/dbt/target include/dbt/logs
