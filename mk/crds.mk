# The CRDs the schema tests and the test cluster read beyond ../shared/crds: the Gateway API's,
# from the Go module that releases them. Included from the Makefile, which defines PY and the
# venv target.

.PHONY: gateway-api-crds

# Fetched before the tests, so the download prints its step instead of running inside pytest.
test: gateway-api-crds

## The Gateway API v1.6.3 CRDs (HTTPRoute, Gateway, GatewayClass) into ~/.cache/model-fleet/gateway-api-v1.6.3, unless there.
gateway-api-crds: venv
	@$(PY) -m tests.gateway_api
