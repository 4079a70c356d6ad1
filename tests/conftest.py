import pytest


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files from the current output")


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
  - name: ci
    cluster: {server: "https://127.0.0.1:6443"}
users:
  - name: ci
    user: {token: not-a-real-token}
contexts:
  - name: ci
    context: {cluster: ci, user: ci}
current-context: ci
"""


@pytest.fixture
def ambient_kubeconfig(tmp_path_factory, monkeypatch):
    """A kubeconfig in $KUBECONFIG, as CI provides one to a stack that names no cluster of its own."""
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path
