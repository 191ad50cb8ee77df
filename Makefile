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
KEYS_FILE := $(DEV_DIR)/secret-keys

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

migrate: db-up ## apply migrations and load reference data (and the local admin token and key)
	@mkdir -p $(DEV_DIR) .quaywatch
	@test -s $(TOKEN_FILE) || (umask 077 && $(BIN)/python -c \
		"import secrets; print('qw_' + secrets.token_urlsafe(32))" > $(TOKEN_FILE))
	@test -s $(KEYS_FILE) || (umask 077 && $(BIN)/python -c \
		"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())" > $(KEYS_FILE))
ifndef DATABASE_URL
	@(umask 077 && printf '# Written by make: the local cluster of `make run`, used by .venv/bin/quaywatch.\nDATABASE_URL=%s\nQUAYWATCH_SECRET_KEYS=%s\n' \
		'$(LOCAL_DATABASE_URL)' "$$(cat $(KEYS_FILE))" > $(LOCAL_ENV))
endif
	@DATABASE_URL=$${DATABASE_URL:-$(LOCAL_DATABASE_URL)} $(QW) db upgrade
	@DATABASE_URL=$${DATABASE_URL:-$(LOCAL_DATABASE_URL)} QUAYWATCH_ADMIN_TOKEN_FILE=$(TOKEN_FILE) \
		$(QW) db seed

# The local demo accepts webhooks to 127.0.0.1 (a receiver on this machine); production keeps
# QUAYWATCH_ALLOW_PRIVATE_URLS=false.
# A local Grafana (only on the local cluster: the reader role's password is cluster-wide) is
# configured in LOCAL_GRAFANA_DIR and started when a grafana binary is on PATH. grafana/ is not
# installed (pyproject.toml), so its command runs through the checkout's python.
# The first run's backfill: RUN_DAYS of history, metrics hourly for the last two days and every
# RUN_OLDER_STEP_HOURS before (docs/deploy.md has the timings; RUN_DAYS=7 is faster).
RUN_DAYS ?= 14
RUN_OLDER_STEP_HOURS ?= 4
LOCAL_GRAFANA_DIR := $(DEV_DIR)/grafana
LOCAL_GRAFANA_HOME ?= /usr/share/grafana
LOCAL_GRAFANA_PORT ?= 3000
run: migrate ## run the service with RUN_DAYS (14) days of simulated history and a live simulator
	@DATABASE_URL=$${DATABASE_URL:-$(LOCAL_DATABASE_URL)} $(QW) simulate backfill --if-empty \
		--days $(RUN_DAYS) --older-step-hours $(RUN_OLDER_STEP_HOURS)
ifndef DATABASE_URL
	@DATABASE_URL=$(LOCAL_DATABASE_URL) $(QW) grafana local-config $(LOCAL_GRAFANA_DIR) --port $(LOCAL_GRAFANA_PORT) >/dev/null
endif
	@bash scripts/run-banner.sh "$(TOKEN_FILE)" "$${DATABASE_URL:-$(DEV_DIR)/data (PostgreSQL on 127.0.0.1:$(DEV_PORT))}" "$(KEYS_FILE)" \
		"$(if $(DATABASE_URL),,$(LOCAL_GRAFANA_DIR))" "$(LOCAL_GRAFANA_PORT)"
	@grafana=$$(command -v grafana || command -v grafana-server || true); \
	if [ -z "$(DATABASE_URL)" ] && [ -n "$$grafana" ]; then \
		case "$$grafana" in */grafana) grafana="$$grafana server";; esac; \
		$$grafana --config $(LOCAL_GRAFANA_DIR)/grafana.ini --homepath $(LOCAL_GRAFANA_HOME) \
			>$(LOCAL_GRAFANA_DIR)/logs/stdout.log 2>&1 & trap "kill $$! 2>/dev/null" EXIT; \
	fi; \
	DATABASE_URL=$${DATABASE_URL:-$(LOCAL_DATABASE_URL)} QUAYWATCH_SECRET_KEYS_FILE=$(KEYS_FILE) \
		QUAYWATCH_ALLOW_PRIVATE_URLS=$${QUAYWATCH_ALLOW_PRIVATE_URLS:-true} $(QW) run --simulate

lint: venv ## ruff and mypy
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

# One test worker per core, at most 4: each starts its own throwaway cluster (tests/pgtest.py),
# and --dist loadscope keeps a module's tests, and so its module fixtures, on one worker.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n > 4 ? 4 : n )))

pytest: setup ## the test suite only (tests start their own throwaway clusters)
	@$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope

test: setup lint pytest ## everything CI runs: install, lint, the whole suite

bench: setup ## benchmarks; figures go to docs/benchmarks.md
	@$(BIN)/python -m bench

dashboards: venv ## regenerate grafana/dashboards/*.json
	@$(BIN)/python -m grafana.build

dashboards-check: venv ## fail when grafana/dashboards/*.json differ from the generator's output
	@$(BIN)/python -m grafana.build --check

clean: db-down ## stop the local cluster and remove the virtualenv
	rm -rf $(VENV)
