# model-fleet: `make preview` runs the main job on the dev stack, `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
STACK ?= dev
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: help venv preview check docs docs-check lint format test test-fast clean

## List the targets with what each does (from the `##` comments above them).
help:
	@awk '/^## /{doc = doc (doc ? " " : "") substr($$0, 4); next} \
		/^[a-zA-Z][a-zA-Z_-]*:/{if (doc) {split($$1, t, ":"); printf "  %-16s %s\n", t[1], doc}} {doc = ""}' $(MAKEFILE_LIST)

# uv installs the venv from uv.lock. A uv of the pinned version on PATH is used; otherwise it is
# installed once per machine from PyPI into a venv of its own, outside the clone.
UV_VERSION := 0.13.9
UV_HOME := $(or $(MODEL_FLEET_CACHE),$(HOME)/.cache/model-fleet)/uv-$(UV_VERSION)
UV := $(shell command -v uv >/dev/null 2>&1 && uv --version 2>/dev/null | grep -qE '^uv $(subst .,\.,$(UV_VERSION))( |$$)' && command -v uv || echo $(UV_HOME)/bin/uv)

$(UV_HOME)/bin/uv:
	@echo "==> installing uv $(UV_VERSION) from PyPI into $(UV_HOME)"
	@start=$$(date +%s); rm -rf $(UV_HOME) && $(PYTHON) -m venv $(UV_HOME) && \
	$(UV_HOME)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION) && \
	echo "    uv $(UV_VERSION): $$(( $$(date +%s) - start ))s"

# The venv with exactly what uv.lock pins (hashes checked), rebuilt when the lock changes. Where
# Python may not write its bytecode caches (PYTHONDONTWRITEBYTECODE, as many CI images and this
# project's CI machine set), every command would compile its imports again on each start (about
# 0.3 s for `components check`): uv compiles them once at install instead (4 to 18 s more).
COMPILE_BYTECODE := $(if $(PYTHONDONTWRITEBYTECODE),1,0)
$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	@echo "==> creating $(VENV) from uv.lock"
	@start=$$(date +%s); UV_COMPILE_BYTECODE=$(COMPILE_BYTECODE) UV_PROJECT_ENVIRONMENT=$(VENV) \
	$(UV) sync --frozen --quiet --python $(PYTHON) && touch $@ && \
	echo "    $(VENV): $$(( $$(date +%s) - start ))s"

## The virtualenv .venv with the pinned dependencies.
venv: $(VENV)/.installed

## Validate the stack, regenerate its docs and, in render mode, its manifests (what `pulumi preview` does, without the engine).
preview: venv
	@echo "==> validating stack $(STACK)"
	@$(PY) -m components check --stack $(STACK)
	@echo "==> regenerating docs for stack $(STACK)"
	@$(PY) -m docsgen --stack $(STACK)
	@echo "==> rendering manifests for stack $(STACK)"
	@$(PY) -m components render --stack $(STACK)

## Validate STACK and run its preflight; every problem in one report.
check: venv
	@$(PY) -m components check --stack $(STACK)

## Regenerate the docs of STACK.
docs: venv
	@$(PY) -m docsgen --stack $(STACK)

## Exit 1 with a diff when the docs of STACK are stale.
docs-check: venv
	@$(PY) -m docsgen --stack $(STACK) --check

## Lint: ruff's checks, ruff's formatting (checked, not applied) and mypy over the project.
lint: venv
	@echo "==> lint: ruff check, ruff format --check, mypy"
	@$(VENV)/bin/ruff check --quiet . && $(VENV)/bin/ruff format --check --quiet . && $(VENV)/bin/mypy

## Apply ruff's fixes and formatting.
format: venv
	@$(VENV)/bin/ruff check --fix --quiet . ; $(VENV)/bin/ruff format --quiet .

## The whole test suite, after `make lint` (installs curl, jq and chromium from Debian when missing).
test: venv lint test-tools engine-test-tools
	@$(PY) -m pytest

## The in-process tiers only (unit and mocks), for the edit-test loop; nothing is built or installed.
test-fast: venv
	@$(PY) -m pytest -q -m "(unit or mocks) and not (loopback or process)"

## Remove the venv, rendered manifests, built sites and the test cluster's run folders.
clean:
	@# A test cluster left running would outlive its run folder.
	@if [ -x $(PY) ] && [ -d .cluster ]; then $(MAKE) --no-print-directory cluster-down; fi
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache rendered site site-handbook tests/artifacts .cluster

# docs-site and test-tools
include mk/docs.mk
# engine (the pinned pulumi CLI), pr-preview, up and destroy
include mk/engine.mk
# cluster-build, cluster-up, cluster-down: the test control plane (tests/cluster)
include mk/cluster.mk
# servers: vLLM and AIBrix's batch service for the servers tests (tests/servers)
include mk/servers.mk
# gateway-api-crds: the Gateway API's CRDs for the schema tests and the test cluster
include mk/crds.mk
