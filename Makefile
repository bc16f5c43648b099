# The index of what one can do here: `make help` lists it.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
SHELL_FILES = $(shell grep -lE '^\#!.*bash' scripts/*.sh scripts/lib/*.sh scripts/provision/*.sh scripts/make/*.sh scripts/make/bench-sections/*.sh tests/helpers/bin/* .ci/run 2>/dev/null) scripts/lib/*.sh tests/helpers/*.bash

.PHONY: help setup demo test test-bats test-py lint docs bench tune clean install uninstall install-service

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## provision .venv, bats, shellcheck, real llama-servers (RPC + Aug-2025), llama_cpp.server (built once; it says how long first) and the test models
	@scripts/provision/setup.sh

demo: setup ## start the server on the bundled SmolLM2 model, query it, show status and a short bench, stop
	@scripts/make/demo.sh

lint: ## shellcheck every script and bats helper, ruff on the Python
	@scripts/provision/dev-env.sh
	$(BIN)/shellcheck -x $(SHELL_FILES)
	$(BIN)/ruff check py tests
	$(BIN)/ruff format --check py tests

docs: ## regenerate docs/reference.md's option tables from each script's # Usage: header
	python3 tests/helpers/doc_blocks.py tables --write docs/reference.md

test: setup lint ## set up, lint, run every bats and pytest test (stub and real server)
	@$(MAKE) --no-print-directory --keep-going test-bats test-py

test-bats: ## the bats tests only
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/bats --timing $${CI:+--tap} tests

test-py: ## the pytest tests only
	$(BIN)/pytest $${CI:+-q -rfE}

bench: setup ## measure the suite against bare curl on a real server; writes bench/report.md and bench/report.json
	@$(BIN)/pip install -q -e '.[bench]' # the plotting library, for make bench only
	@scripts/make/bench-report.sh

MODEL ?=
tune: setup ## find the fastest server settings for a model on this machine and keep them (MODEL=FILE.gguf; default: the bundled SmolLM2)
	@model="$(MODEL)"; [[ -n "$$model" ]] || model=$$(scripts/provision/models.sh smollm2); \
	scripts/gpt-oss-tune.sh --model "$$model"

PREFIX ?= $(HOME)/.local
install: ## link the commands into $(PREFIX)/bin, with bash and zsh completion (PREFIX=... to change)
	@PREFIX="$(PREFIX)" scripts/make/install.sh install

uninstall: ## remove exactly what make install (and install-service) made under PREFIX
	@PREFIX="$(PREFIX)" scripts/make/install.sh uninstall

install-service: ## a systemd user unit (macOS: launchd agent) that keeps gpt-oss-fast.sh running
	@PREFIX="$(PREFIX)" scripts/make/install.sh install-service

clean: ## remove .venv and .deps (the llama-server and model caches stay)
	rm -rf $(VENV) .deps .pytest_cache .ruff_cache py/*.egg-info
