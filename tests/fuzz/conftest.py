import pytest

from harness.factories import write_kubeconfig


@pytest.fixture(scope="module", autouse=True)
def ambient_kubeconfig(tmp_path_factory):
    """The fuzz draws stacks without an inventory too: they deploy with the ambient kubeconfig (harness write_kubeconfig)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path_factory.mktemp("kube"))))
        yield
