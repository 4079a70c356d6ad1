# The Pulumi engine at the versions pyproject.toml pins (the pulumi CLI and the kubernetes
# resource plugin), and the targets that run the program with it. Included from the Makefile,
# which defines PY, STACK and the venv target.

ENGINE_DIR := .engine
ENGINE_BIN := $(ENGINE_DIR)/bin
GO ?= go
# Seconds before the whole build of one binary is given up.
BUILD_TIMEOUT ?= 3600
# GOTOOLCHAIN=local: an old Go fails with its own message instead of downloading a toolchain.
GO_ENV := GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0

# A comma inside $(call ...) arguments.
, := ,
# $(call timed,WHAT,COMMAND): print the step, run it, print how long it took.
timed = echo "==> $(1)"; start=$$(date +%s); $(2); echo "    $(1): $$(( $$(date +%s) - start ))s"

.PHONY: engine engine-clean moto-venv pr-preview policy-analyze up destroy actionlint workflow-lint engine-test-tools

## The pulumi CLI and the kubernetes plugin at the pinned versions in .engine: from the official
## install where it has them, else built from the Go module proxy once per machine (cached in
## ~/.cache/model-fleet/engine; about 28 minutes cold on 2 cores).
engine: venv
	@$(PY) -m components.engine build

## Remove .engine from this clone (the cache of built binaries stays).
engine-clean:
	rm -rf $(ENGINE_DIR)

# moto's S3 server for the CLI tests, in a venv of its own: botocore needs python-dateutil<3,
# kubernetes (pyproject.toml) needs python-dateutil>=3.
MOTO_VENV := $(ENGINE_DIR)/moto-venv
$(MOTO_VENV)/.installed: tests/cli/requirements-s3.txt
	@echo "==> creating $(MOTO_VENV) with moto's S3 server and boto3"
	@start=$$(date +%s); test -x $(MOTO_VENV)/bin/python || $(PYTHON) -m venv $(MOTO_VENV); \
	$(MOTO_VENV)/bin/pip install --quiet --disable-pip-version-check -r $< && touch $@ && \
	echo "    $(MOTO_VENV): $$(( $$(date +%s) - start ))s"

moto-venv: $(MOTO_VENV)/.installed

# BACKEND=URL: the state backend (s3://BUCKET?region=..., file://DIR); default: the CLI's own login.
BACKEND ?=
SUMMARY ?= pr-preview.md
WITH_BACKEND := $(if $(BACKEND),PULUMI_BACKEND_URL='$(BACKEND)')

## The pull-request summary into $(SUMMARY): validation, docs drift and the resource plan of the
## engine and the policy pack. Exit 1 on invalid config or stale docs, 2 when the engine fails,
## 3 when a mandatory policy is violated.
pr-preview: engine
	@$(WITH_BACKEND) $(PY) -m components pr-preview --stack $(STACK) --summary $(SUMMARY)

# STATE=FILE: a state exported with `pulumi stack export`.
STATE ?=

## Check an exported state (STATE=FILE, from `pulumi stack export`) against the policy pack with
## the settings of STACK, offline (`pulumi policy analyze`). Exit 1 on a mandatory violation.
policy-analyze: engine
	@test -n "$(STATE)" || { echo "error: name the exported state: make policy-analyze STATE=state.json STACK=$(STACK)" >&2; exit 2; }
	@MODEL_FLEET_POLICY_PYTHON=$(abspath $(PY)) PULUMI_HOME=$(abspath $(ENGINE_DIR))/home PULUMI_SKIP_UPDATE_CHECK=true \
		$(ENGINE_BIN)/pulumi policy analyze --file '$(STATE)' --policy-pack policy/analyzer \
		$(if $(wildcard policy/config/$(STACK).json),--policy-pack-config policy/config/$(STACK).json)

# Extra flags for up / destroy, e.g. PULUMI_FLAGS="--yes" in CI.
PULUMI_FLAGS ?=

## `up` of STACK with the engine: the program through the Automation API, no language host
## needed. It shows the preview and asks, unless PULUMI_FLAGS has --yes.
up: engine
	@$(WITH_BACKEND) $(PY) -m components.engine up --stack $(STACK) $(PULUMI_FLAGS)

## `destroy` of STACK with the engine (the namespace and cache claims are kept); asks unless PULUMI_FLAGS has --yes.
destroy: engine
	@$(WITH_BACKEND) $(PY) -m components.engine destroy --stack $(STACK) $(PULUMI_FLAGS)

# actionlint, built from the Go module proxy, checks the workflows in .github/workflows.
ACTIONLINT_VERSION := 1.7.12
ACTIONLINT := $(ENGINE_BIN)/actionlint-$(ACTIONLINT_VERSION)

actionlint: $(ACTIONLINT)
$(ACTIONLINT):
	@mkdir -p $(ENGINE_BIN)
	@$(call timed,building actionlint v$(ACTIONLINT_VERSION),\
		GOBIN=$(abspath $(ENGINE_DIR))/actionlint-build $(GO_ENV) timeout $(BUILD_TIMEOUT) $(GO) install github.com/rhysd/actionlint/cmd/actionlint@v$(ACTIONLINT_VERSION) && \
		mv $(ENGINE_DIR)/actionlint-build/actionlint $@)

# What `make test` needs beyond the venv: the CLI and moto (their tests fail without them), and
# actionlint when the proxy serves it (its test skips, naming why, when it does not), with
# Debian's shellcheck, through which actionlint checks the workflows' `run:` scripts.
engine-test-tools: engine moto-venv
	@$(MAKE) --no-print-directory actionlint || echo "==> actionlint could not be built; the workflow lint test will skip"
	@command -v shellcheck >/dev/null 2>&1 || { echo "==> installing shellcheck from Debian"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends shellcheck; } \
		|| echo "==> shellcheck could not be installed; actionlint will not check the run: scripts"

## Lint the GitHub workflows.
workflow-lint: $(ACTIONLINT)
	@$(ACTIONLINT) -no-color .github/workflows/*.yml && echo "==> workflows: actionlint v$(ACTIONLINT_VERSION) found no problem"
