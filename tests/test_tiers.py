"""The tiers mean what pyproject.toml says: a `unit` test stays in this process (tests/conftest.py)."""

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
    with pytest.raises(AssertionError, match="in-process only"):
        escape()


@pytest.mark.process
def test_other_tiers_may():
    assert subprocess.run(["true"], check=False).returncode == 0
