# The test cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok with
# fake GPU nodes on 127.0.0.1 (tests/cluster). Included from the Makefile, which defines PY and
# the venv target.

.PHONY: cluster-build cluster-up cluster-down cluster-status

# Built before the tests, so a cold build (about 14 minutes on 2 cores) prints each step instead
# of running silently inside pytest. Without Go there is nothing to build: the cluster tests skip
# and say why, unless the binaries are already cached.
test: cluster-build

## Build the control plane's binaries from the Go module proxy into ~/.cache/model-fleet/cluster, unless there.
cluster-build: venv
	@if command -v go >/dev/null 2>&1; then $(PY) -m tests.cluster build; \
	else echo "==> Go is not installed: the control plane is not built (the cluster tests use it only when cached)"; fi

## Start the cluster (.cluster/local), write Pulumi.cluster.yaml for it and print the kubeconfig path.
cluster-up: venv
	@$(PY) -m tests.cluster up

## Stop every process of the cluster started by cluster-up.
cluster-down: venv
	@$(PY) -m tests.cluster down

cluster-status: venv
	@$(PY) -m tests.cluster status
