# The Pulumi CLI at the version requirements.txt pins, and the targets that need the full engine.
# Included from the Makefile, which defines PY, STACK and the venv target.
#
# The CLI is built from the Go module proxy into .engine/bin. The Python language host and the
# kubernetes resource plugin are not served by any registry reachable here: `make up` and
# `make destroy` use them where the official Pulumi install put them, and say what is missing.

ENGINE_DIR := .engine
ENGINE_BIN := $(ENGINE_DIR)/bin
ENGINE_BUILD := $(ENGINE_DIR)/build
PULUMI_VERSION := $(shell sed -n 's/^pulumi==//p' requirements.txt)
GO ?= go
# pkg/go.mod of the pinned CLI says `go 1.25.11`.
GO_MIN := 1.25.11
# Seconds before a silent module proxy is reported, and before the whole build is given up.
PROXY_TIMEOUT ?= 60
BUILD_TIMEOUT ?= 1800
PULUMI_MODULE := github.com/pulumi/pulumi/pkg/v3
PULUMI_LDFLAGS := -s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$(PULUMI_VERSION)
# A project-local home keeps a user's ~/.pulumi (credentials, plugins) out of the build and the tests;
# no update check, no plugin download, no version nag from the Automation API.
ENGINE_ENV := PULUMI_HOME=$(abspath $(ENGINE_DIR))/home PULUMI_SKIP_UPDATE_CHECK=true \
	PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
# GOTOOLCHAIN=local: an old Go fails with its own message instead of downloading a toolchain.
GO_ENV := GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0

# A comma inside $(call ...) arguments.
, := ,
# $(call timed,WHAT,COMMAND): print the step, run it, print how long it took.
timed = echo "==> $(1)"; start=$$(date +%s); $(2); echo "    $(1): $$(( $$(date +%s) - start ))s"

.PHONY: engine engine-build engine-clean moto-venv pr-preview up destroy actionlint workflow-lint engine-test-tools

## The pinned pulumi CLI in .engine/bin: kept when its version matches, taken from PATH when one
## there matches, built from the Go module proxy otherwise.
engine:
	@mkdir -p $(ENGINE_BIN) $(ENGINE_DIR)/home
	@have=$$($(ENGINE_ENV) $(ENGINE_BIN)/pulumi version 2>/dev/null || true); \
	onpath=$$(PATH=$$(echo "$$PATH" | tr ':' '\n' | grep -vxF "$(abspath $(ENGINE_BIN))" | paste -sd:) command -v pulumi || true); \
	if [ "$$have" = "v$(PULUMI_VERSION)" ]; then \
		echo "==> pulumi v$(PULUMI_VERSION) already in $(ENGINE_BIN); nothing to build"; \
	elif [ -n "$$onpath" ] && [ "$$($(ENGINE_ENV) $$onpath version 2>/dev/null)" = "v$(PULUMI_VERSION)" ]; then \
		echo "==> using pulumi v$(PULUMI_VERSION) from PATH: $$onpath"; \
		ln -sfn "$$(readlink -f $$onpath)" $(ENGINE_BIN)/pulumi; \
	else \
		[ -z "$$have" ] || echo "==> $(ENGINE_BIN)/pulumi is $$have, not v$(PULUMI_VERSION): rebuilding"; \
		[ -z "$$onpath" ] || echo "==> $$onpath is not v$(PULUMI_VERSION): not using it"; \
		$(MAKE) --no-print-directory engine-build; \
	fi

engine-build:
	@total=$$(date +%s); set -e; \
	$(call timed,checking Go >= $(GO_MIN),\
		command -v $(GO) >/dev/null || { echo "error: Go is not installed; make engine needs Go >= $(GO_MIN) to build the pulumi CLI (or put pulumi v$(PULUMI_VERSION) on PATH)" >&2; exit 1; }; \
		v=$$($(GO) env GOVERSION | sed 's/^go//'); \
		[ "$$(printf '%s\n%s\n' $(GO_MIN) $$v | sort -V | head -n1)" = "$(GO_MIN)" ] || { echo "error: Go $$v is too old; the pulumi CLI v$(PULUMI_VERSION) needs Go >= $(GO_MIN)" >&2; exit 1; }; \
		echo "    go $$v from GOPROXY=$$($(GO) env GOPROXY)"); \
	$(call timed,resolving $(PULUMI_MODULE)@v$(PULUMI_VERSION) (module cache, then proxy),\
		$(GO_ENV) timeout $(PROXY_TIMEOUT) $(GO) list -m $(PULUMI_MODULE)@v$(PULUMI_VERSION) >/dev/null || { \
			echo "error: the Go module proxy did not serve $(PULUMI_MODULE)@v$(PULUMI_VERSION) within $(PROXY_TIMEOUT)s (GOPROXY=$$($(GO) env GOPROXY)); the pulumi CLI cannot be built" >&2; exit 1; }); \
	mkdir -p $(ENGINE_BUILD); \
	$(call timed,writing the build module $(ENGINE_BUILD)/go.mod,\
		printf '%s\n' "module model-fleet.invalid/engine" "" "go $(GO_MIN)" "" \
			"// The CLI's own go.mod replaces clipboard (a Windows DLL fix); replaces only apply in the main module." \
			"replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e" \
			> $(ENGINE_BUILD)/go.mod); \
	$(call timed,downloading the CLI's modules,\
		(cd $(ENGINE_BUILD) && $(GO_ENV) timeout $(BUILD_TIMEOUT) $(GO) get $(PULUMI_MODULE)/cmd/pulumi@v$(PULUMI_VERSION) github.com/pulumi/pulumi/sdk/v3@v$(PULUMI_VERSION)) \
			>$(ENGINE_BUILD)/get.log 2>&1 || { tail -n 20 $(ENGINE_BUILD)/get.log >&2; \
			echo "error: downloading the modules of the pulumi CLI v$(PULUMI_VERSION) failed or took over $(BUILD_TIMEOUT)s (log: $(ENGINE_BUILD)/get.log)" >&2; exit 1; }; \
		echo "    $$(grep -c '^go: added' $(ENGINE_BUILD)/get.log) modules added to $(ENGINE_BUILD)/go.mod"); \
	$(call timed,building pulumi v$(PULUMI_VERSION) into $(ENGINE_BIN),\
		(cd $(ENGINE_BUILD) && $(GO_ENV) timeout $(BUILD_TIMEOUT) $(GO) build -trimpath -tags osusergo$(,)grpcnotrace \
			-ldflags "$(PULUMI_LDFLAGS)" -o $(abspath $(ENGINE_BIN))/pulumi.new $(PULUMI_MODULE)/cmd/pulumi) || { \
			echo "error: building the pulumi CLI v$(PULUMI_VERSION) failed or took over $(BUILD_TIMEOUT)s" >&2; exit 1; }); \
	mv $(ENGINE_BIN)/pulumi.new $(ENGINE_BIN)/pulumi; \
	v=$$($(ENGINE_ENV) $(ENGINE_BIN)/pulumi version); \
	[ "$$v" = "v$(PULUMI_VERSION)" ] || { echo "error: the built CLI says $$v, not v$(PULUMI_VERSION)" >&2; exit 1; }; \
	echo "==> pulumi $$v in $(ENGINE_BIN), $$(( $$(date +%s) - total ))s in all"

engine-clean:
	rm -rf $(ENGINE_DIR)

# moto's S3 server for the CLI tests, in a venv of its own: botocore needs python-dateutil<3,
# kubernetes (requirements.txt) needs python-dateutil>=3.
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

## The pull-request summary into $(SUMMARY): validation, docs drift and, where the full engine is
## installed, `pulumi preview`. Exit 1 on invalid config or stale docs, 2 when the engine fails.
pr-preview: venv
	@$(WITH_BACKEND) $(PY) -m components pr-preview --stack $(STACK) --summary $(SUMMARY)

# Extra flags for `pulumi up` / `pulumi destroy`, e.g. PULUMI_FLAGS="--yes --non-interactive" in CI.
PULUMI_FLAGS ?=

## `pulumi up` / `pulumi destroy` of STACK with the full engine; says what is missing otherwise.
up: venv
	@$(WITH_BACKEND) $(PY) -m components.engine up --stack $(STACK) $(PULUMI_FLAGS)

destroy: venv
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
