"""The cluster tier takes kube-apiserver and etcd from envtest's KUBEBUILDER_ASSETS where they are supported versions."""

from __future__ import annotations

import os

import pytest

from tests.cluster import build

pytestmark = pytest.mark.cluster


@pytest.fixture
def built() -> build.Binaries:
    binaries = build.cached()
    if not build.all_present(binaries):
        if os.environ.get("MODEL_FLEET_REQUIRE_ENGINE"):
            pytest.fail("the control plane binaries are not built (`make cluster-build`)")
        pytest.skip("the control plane binaries are not built (`make cluster-build`)")
    return binaries


def test_supported_assets_are_used_and_only_the_rest_comes_from_the_cache(built, tmp_path, monkeypatch, capsys):
    # envtest's folder as setup-envtest lays it out: kube-apiserver, etcd (and kubectl, unused).
    (tmp_path / "kube-apiserver").symlink_to(built.kube_apiserver)
    (tmp_path / "etcd").symlink_to(built.etcd)
    monkeypatch.setenv(build.ASSETS_ENV, str(tmp_path))

    resolved = build.resolve()

    assert (resolved.kube_apiserver, resolved.etcd) == (tmp_path / "kube-apiserver", tmp_path / "etcd")
    assert (resolved.kube_controller_manager, resolved.kube_scheduler, resolved.kwok) == (
        built.kube_controller_manager,
        built.kube_scheduler,
        built.kwok,
    )
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        f"==> using {tmp_path / 'kube-apiserver'} (Kubernetes v1.34.4) from {build.ASSETS_ENV}",
        f"==> using {tmp_path / 'etcd'} (etcd Version: 3.6.5) from {build.ASSETS_ENV}",
    ]
    # Nothing to build: ensure() returns the same, with the assets in it.
    assert build.ensure() == resolved


def test_an_unsupported_or_missing_asset_is_named_and_the_built_one_used(built, tmp_path, monkeypatch, capsys):
    # A real binary that is no kube-apiserver of v1.34 (kwok's --version says kwok's own), and no etcd at all.
    (tmp_path / "kube-apiserver").symlink_to(built.kwok)
    monkeypatch.setenv(build.ASSETS_ENV, str(tmp_path))

    resolved = build.resolve()

    assert resolved == built
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"==> {tmp_path / 'kube-apiserver'} is not a supported kube-apiserver (")
    assert printed[0].endswith("; wanted v1.34): using the one built here")
    assert printed[1] == f"==> {build.ASSETS_ENV}={tmp_path} has no etcd: using the one built here"
