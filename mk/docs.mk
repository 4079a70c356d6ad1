# The docs site and the system tools the docs tests drive. Included from the Makefile,
# which defines PY, STACK and the venv target.

# The committed docs/ follow the dev stack, whatever STACK the other targets use.
DOCS_STACK := dev
# Debian packages the snippet and browser tests run, by the command each one provides.
TEST_TOOLS := curl jq chromium
# apt-get needs root; a developer who is not root goes through sudo.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: docs-site test-tools

## Build docs/ into site/ once it matches the dev stack; --strict turns a missing snippet include into an error.
docs-site: venv
	@echo "==> checking that docs/ matches stack $(DOCS_STACK)"
	@$(PY) -m docsgen --stack $(DOCS_STACK) --check
	@echo "==> building the docs site into site/"
	@# NO_MKDOCS_2_WARNING quiets the end-of-life banner Material prints on every build.
	@NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --config-file mkdocs.yml --site-dir site

## Install from Debian whichever of curl, jq and chromium is missing; no network when all are there.
test-tools:
	@set -e; missing=""; \
	for tool in $(TEST_TOOLS); do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -z "$$missing" ]; then \
		echo "==> test tools present: $(TEST_TOOLS)"; \
	else \
		echo "==> installing from Debian:$$missing"; start=$$(date +%s); \
		echo "    apt-get update"; \
		$(SUDO) apt-get update -qq; \
		echo "    apt-get install -y --no-install-recommends$$missing"; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
		echo "    installing from Debian:$$missing: $$(( $$(date +%s) - start ))s"; \
	fi

.PHONY: handbook handbook-build

## Serve the maintainers' handbook (handbook/) on 127.0.0.1:8001, rebuilt on every edit.
handbook: venv
	@NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs serve --strict --config-file handbook/mkdocs.yml --dev-addr 127.0.0.1:8001

## Build the handbook into site-handbook/ with --strict (a broken link or include fails).
handbook-build: venv
	@NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --config-file handbook/mkdocs.yml --site-dir ../site-handbook
