# model-fleet: `make preview` runs the main job on the dev stack, `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
STACK ?= dev
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: help venv preview check docs docs-check test test-fast clean

## List the targets with what each does (from the `##` comments above them).
help:
	@awk '/^## /{doc = doc (doc ? " " : "") substr($$0, 4); next} \
		/^[a-zA-Z][a-zA-Z_-]*:/{if (doc) {split($$1, t, ":"); printf "  %-16s %s\n", t[1], doc}} {doc = ""}' $(MAKEFILE_LIST)

# A virtualenv with the pinned dependencies, rebuilt when a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	@echo "==> creating $(VENV) with pinned dependencies"
	@start=$$(date +%s); test -x $(PY) || $(PYTHON) -m venv $(VENV); \
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt && touch $@ && \
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

## The whole test suite (installs curl, jq and chromium from Debian when missing).
test: venv test-tools engine-test-tools
	@$(PY) -m pytest

## The in-process tiers only (unit and mocks), for the edit-test loop; nothing is built or installed.
test-fast: venv
	@$(PY) -m pytest -q -m "unit or mocks"

## Remove the venv, rendered manifests, built sites and the test cluster's run folders.
clean:
	@# A test cluster left running would outlive its run folder.
	@if [ -x $(PY) ] && [ -d .cluster ]; then $(MAKE) --no-print-directory cluster-down; fi
	rm -rf $(VENV) .pytest_cache rendered site site-handbook tests/artifacts .cluster

# docs-site and test-tools
include mk/docs.mk
# engine (the pinned pulumi CLI), pr-preview, up and destroy
include mk/engine.mk
# cluster-build, cluster-up, cluster-down: the test control plane (tests/cluster)
include mk/cluster.mk
