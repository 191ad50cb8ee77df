# QuayWatch — `make run` starts the whole service on a local TimescaleDB; `make test` proves it.
# Both install what they need (Debian packages, TimescaleDB, the virtualenv) on first use.
# With DATABASE_URL set, the local cluster is skipped and that database is used.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
QW := $(BIN)/quaywatch
CHECKOUT_ID := $(shell pwd | sha1sum | cut -c1-8)
DEV_DIR ?= $(if $(filter 0,$(shell id -u)),/var/lib/quaywatch/dev-$(CHECKOUT_ID),$(HOME)/.local/share/quaywatch/dev-$(CHECKOUT_ID))
DEV_PORT ?= 55432
LOCAL_DATABASE_URL := postgresql://postgres@127.0.0.1:$(DEV_PORT)/quaywatch
LOCAL_ENV := .quaywatch/local.env
TOKEN_FILE := $(DEV_DIR)/admin-token

.PHONY: help setup system venv db-up db-down migrate seed run test lint pytest bench dashboards dashboards-check clean

help: ## show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

setup: system venv ## install Debian packages, TimescaleDB and the virtualenv

system: ## Debian packages: PostgreSQL + TimescaleDB, Alertmanager, promtool
	@bash scripts/install-system.sh

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip
	@$(BIN)/pip install -q -e '.[dev]'
	@touch $@

db-up: setup ## start the local TimescaleDB cluster for `make run` (unless DATABASE_URL is set)
ifndef DATABASE_URL
	@bash scripts/pgcluster.sh start $(DEV_DIR) $(DEV_PORT)
endif

db-down: ## stop the local cluster
	@bash scripts/pgcluster.sh stop $(DEV_DIR)

migrate: db-up ## apply migrations and load reference data (and the local admin token)
	@mkdir -p $(DEV_DIR) .quaywatch
	@test -s $(TOKEN_FILE) || (umask 077 && $(BIN)/python -c \
		"import secrets; print('qw_' + secrets.token_urlsafe(32))" > $(TOKEN_FILE))
ifndef DATABASE_URL
	@printf '# Written by make: the local cluster of `make run`, used by .venv/bin/quaywatch.\nDATABASE_URL=%s\n' \
		'$(LOCAL_DATABASE_URL)' > $(LOCAL_ENV)
endif
	@DATABASE_URL=$${DATABASE_URL:-$(LOCAL_DATABASE_URL)} $(QW) db upgrade
	@DATABASE_URL=$${DATABASE_URL:-$(LOCAL_DATABASE_URL)} QUAYWATCH_ADMIN_TOKEN_FILE=$(TOKEN_FILE) \
		$(QW) db seed

# The local demo accepts webhooks to 127.0.0.1 (a receiver on this machine); production keeps
# QUAYWATCH_ALLOW_PRIVATE_URLS=false.
run: migrate ## run the service with 14 days of simulated history and a live simulator
	@DATABASE_URL=$${DATABASE_URL:-$(LOCAL_DATABASE_URL)} $(QW) simulate backfill --days 14 --if-empty
	@bash scripts/run-banner.sh "$(TOKEN_FILE)" "$${DATABASE_URL:-$(DEV_DIR)/data (PostgreSQL on 127.0.0.1:$(DEV_PORT))}"
	@DATABASE_URL=$${DATABASE_URL:-$(LOCAL_DATABASE_URL)} \
		QUAYWATCH_ALLOW_PRIVATE_URLS=$${QUAYWATCH_ALLOW_PRIVATE_URLS:-true} $(QW) run --simulate

lint: venv ## ruff and mypy
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

pytest: setup ## the test suite only (tests start their own throwaway cluster)
	@$(BIN)/python -m pytest -q

test: setup lint pytest ## everything CI runs: install, lint, the whole suite

bench: setup ## benchmarks; figures go to docs/benchmarks.md
	@$(BIN)/python -m bench

dashboards: venv ## regenerate grafana/dashboards/*.json
	@$(BIN)/python -m grafana.build

dashboards-check: venv ## fail when grafana/dashboards/*.json differ from the generator's output
	@$(BIN)/python -m grafana.build --check

clean: db-down ## stop the local cluster and remove the virtualenv
	rm -rf $(VENV)
