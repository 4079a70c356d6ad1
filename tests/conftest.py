import pytest

from harness.factories import write_kubeconfig


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files from the current output")


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


@pytest.fixture
def ambient_kubeconfig(tmp_path_factory, monkeypatch):
    """A kubeconfig in $KUBECONFIG, as a deploying machine has one for a stack that names no cluster of its own."""
    path = write_kubeconfig(tmp_path_factory.mktemp("kube"))
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path
