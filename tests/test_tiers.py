"""The tiers mean what pyproject.toml says: a `unit` test, or a `mocks` test of no other tier,
stays in this process (tests/conftest.py), and `make test-fast` runs only those."""

from __future__ import annotations

import os
import signal
import socket
import subprocess

import pytest


@pytest.mark.unit
@pytest.mark.parametrize(
    "escape",
    [
        lambda: subprocess.run(["true"], check=False),
        lambda: socket.create_connection(("127.0.0.1", 9), timeout=1),
        lambda: socket.socket().bind(("127.0.0.1", 0)),
        lambda: os.kill(os.getpid(), signal.SIGCONT),
    ],
    ids=["process", "connect", "bind", "signal"],
)
def test_a_unit_test_cannot_leave_the_process(escape):
    with pytest.raises(AssertionError, match="is in-process only"):
        escape()


@pytest.mark.process
def test_other_tiers_may():
    assert subprocess.run(["true"], check=False).returncode == 0


@pytest.mark.mocks
def test_a_mocks_test_of_no_other_tier_cannot_start_a_process_either():
    with pytest.raises(AssertionError, match="is in-process only"):
        subprocess.run(["true"], check=False)


@pytest.mark.mocks
@pytest.mark.loopback
def test_a_mocks_test_that_also_names_an_out_of_process_tier_may():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
