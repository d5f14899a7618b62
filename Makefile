# modelport: `make demo` serves the example model; `make test` is what CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_HOME ?= $(CURDIR)/.demo
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test lint typecheck pytest postgres install dev clean bench-online bench-orchestrated bench-batch

# The registry and serving tests run on SQLite and on PostgreSQL. By default `make pytest`
# sets up a local server first (`make postgres`: apt-get, root); point this variable at
# another server (a role that may CREATE DATABASE) to use that one instead.
DEFAULT_POSTGRES_URL := postgresql+psycopg://modelport:modelport@127.0.0.1:5432/postgres
MODELPORT_TEST_POSTGRES_URL ?= $(DEFAULT_POSTGRES_URL)
export MODELPORT_TEST_POSTGRES_URL

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The demo trains and packages a model (the build extra) and serves it (the server extra);
# the tests need every extra (dev includes all). See "Install" in README.md.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[build,server]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	MODELPORT_HOME=$(DEMO_HOME) $(BIN)/python examples/loan_approval/train.py --register production
	@echo
	@echo "Serving on http://$(HOST):$(PORT) (Ctrl-C to stop). In another terminal, try:"
	@echo
	@echo "  curl -s -X POST http://$(HOST):$(PORT)/v1/models/loan-approval/predict \\"
	@echo "    -H 'Content-Type: application/json' \\"
	@echo "    -d '$$(cat examples/loan_approval/request.json)'"
	@echo
	@echo "  curl -s -X POST http://$(HOST):$(PORT)/v1/score \\"
	@echo "    -H 'Content-Type: application/json' \\"
	@echo "    -d '$$(cat examples/loan_approval/score.json)'"
	@echo
	MODELPORT_HOME=$(DEMO_HOME) MODELPORT_SOURCES_FILE=$(DEMO_HOME)/demo-crm/sources.yaml \
		$(BIN)/modelport serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy src

# Installs (apt-get), starts and sets up the local PostgreSQL the tests use by default.
postgres:
	bash scripts/postgres.sh

pytest: $(VENV)/.installed-dev $(if $(filter $(DEFAULT_POSTGRES_URL),$(MODELPORT_TEST_POSTGRES_URL)),postgres)
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

# modelport vs the bare limit app and four peers under wrk; writes benchmarks/results/online.md.
# Installs wrk (apt-get) and each peer into benchmarks/.work/venvs on first use.
bench-online: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/online.py

# POST /v1/score by customer id on SQLite and PostgreSQL, cache warm and cold, against
# predict with the joined record; writes benchmarks/results/orchestrated.md. Needs the
# PostgreSQL of `make postgres` (or MODELPORT_TEST_POSTGRES_URL) and wrk (apt-get).
bench-orchestrated: $(VENV)/.installed-dev $(if $(filter $(DEFAULT_POSTGRES_URL),$(MODELPORT_TEST_POSTGRES_URL)),postgres)
	$(BIN)/python benchmarks/orchestrated.py

# 1 and 5 million rows, Parquet in and out: modelport against onnxruntime alone and a
# pandas + scikit-learn loop; writes benchmarks/results/batch.md.
bench-batch: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/batch.py

clean:
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache .mypy_cache .ruff_cache
