# The two set-up commands of the README:
#   make run    install, build the SQLite database, load the demo subdistrict, serve on :5000
#   make test   install with the dev extra, check the code (ruff, mypy, import contracts), run the test suite
#   make prod   migrate, then gunicorn, a Celery worker and beat on the environment's PostgreSQL and Redis
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN = $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
PROD_HOST ?= 127.0.0.1
PROD_PORT ?= 8000
# prometheus_client's multiprocess folder, shared by gunicorn's workers and Celery's, emptied at each start.
METRICS_DIR ?= $(CURDIR)/instance/prometheus

.PHONY: run prod test lint fuzz bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The pages' front-end packages (ECharts; axe-core for the tests) from the npm registry, by the lockfile.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

install: $(VENV)/.installed node_modules/.package-lock.json

run: install
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app seed-demo --if-empty
	$(BIN)/flask --app app run --host $(HOST) --port $(PORT)

# Production: migrate, then gunicorn + a Celery worker + Celery beat against the environment's
# DATABASE_URL, REDIS_URL and SECRET_KEY (README, "Production").
prod: install
	SANKU_ENV=production $(BIN)/flask --app app db upgrade
	rm -rf $(METRICS_DIR) && mkdir -p $(METRICS_DIR)
	SANKU_ENV=production PROMETHEUS_MULTIPROC_DIR=$(METRICS_DIR) BIN=$(BIN) BIND=$(PROD_HOST):$(PROD_PORT) scripts/prod.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Fuzz the API from its OpenAPI document (schemathesis, every check, as admin and as resident).
# FUZZ_ARGS=--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres to run it on PostgreSQL.
fuzz: install
	$(BIN)/python scripts/fuzz_api.py $(FUZZ_ARGS)

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) instance .pytest_cache node_modules
