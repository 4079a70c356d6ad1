import os
import socket
import subprocess
import tomllib
from pathlib import Path

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


with open(Path(__file__).resolve().parents[1] / "pyproject.toml", "rb") as _project:
    # The tiers: pyproject.toml's markers.
    TIERS = {line.split(":")[0] for line in tomllib.load(_project)["tool"]["pytest"]["ini_options"]["markers"]}


def pytest_collection_modifyitems(config, items):
    """Every test names its tier, so `-m` selects what a tier says it runs."""
    unmarked = [item.nodeid for item in items if not TIERS & {mark.name for mark in item.iter_markers()}]
    if unmarked:
        raise pytest.UsageError("tests without a tier marker (" + ", ".join(sorted(TIERS)) + "):\n  " + "\n  ".join(unmarked))


def _not_in_process(*args, **kwargs):
    raise AssertionError("a `unit` or `mocks` test is in-process only: no subprocess, no socket, no signal; mark it with the tier it needs")


@pytest.fixture(autouse=True)
def _in_process_tiers_stay_in_process(request, monkeypatch):
    """A `unit` test, or a `mocks` test of no other tier, that starts a process, binds or connects a
    socket, or sends a signal fails: `make test-fast` runs these tiers and promises no more."""
    marks = {mark.name for mark in request.node.iter_markers()}
    if "unit" in marks or marks & TIERS == {"mocks"}:
        monkeypatch.setattr(subprocess.Popen, "__init__", _not_in_process)
        monkeypatch.setattr(socket.socket, "bind", _not_in_process)
        monkeypatch.setattr(socket.socket, "connect", _not_in_process)
        monkeypatch.setattr(os, "kill", _not_in_process)
        monkeypatch.setattr(os, "fork", _not_in_process)
