"""Start, check and stop the test control plane on 127.0.0.1.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok run as processes of this
machine, their state in a run folder (`.cluster/<name>/` in the clone, git-ignored): PKI,
kubeconfigs, etcd's data, logs and `state.json` with the ports and process ids. Ports are picked
free at the first start, so several clusters (a developer's and a test session's, or two clones)
run side by side.
"""

from __future__ import annotations

import ctypes
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.cluster import pki
from tests.cluster.build import Binaries, step
from tests.cluster.kube import wait_until
from tests.cluster.pki import Identity

ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / ".cluster"
CONTEXT = "model-fleet-cluster"
# In start order; stopped in reverse.
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
# Seconds to wait for each to answer. etcd answers within a second and the API server within
# about 4 s here, with the other core busy; the margin is for a machine loaded far more.
READY_TIMEOUT = {"etcd": 60, "kube-apiserver": 240}
STOP_TIMEOUT = 15
# Fake nodes kwok manages, and the pod addresses it hands out (nothing listens there).
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
POD_CIDR = "10.245.0.0/16"
PR_SET_PDEATHSIG = 1


class ClusterError(Exception):
    """The control plane did not come up: a message naming the component and its log."""


EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_PORT = 10_000


def _free_ports(names: tuple[str, ...]) -> dict[str, int]:
    """A distinct port for each name, free now and below the kernel's ephemeral range.

    A port taken by binding to 0 comes from the ephemeral range, and so does the local port of
    every outgoing connection: one the API server or a controller opens before the last
    component starts (kwok, tens of seconds later) can take it first ("address already in use").
    """
    try:
        below = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        below = 32768  # Linux's default lower bound
    ports: dict[str, int] = {}
    for port in random.sample(range(LOWEST_PORT, below), min(1000, below - LOWEST_PORT)):
        if len(ports) == len(names):
            break
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports[names[len(ports)]] = port
    if len(ports) < len(names):
        raise ClusterError(f"no {len(names)} free ports on 127.0.0.1 between {LOWEST_PORT} and {below}")
    return ports


def _die_with_parent() -> None:
    """In the child before exec: be killed when the process that started it dies, so a test
    session killed outright leaves no control plane behind. SIGKILL, since kube-apiserver may
    wait a minute on SIGTERM for its clients' requests to drain, and the data is thrown away."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class ControlPlane:
    """One cluster's run folder and processes. `attached` processes end with this Python process
    (the test fixture); detached ones outlive it (`make cluster-up`) and are stopped by `down`."""

    run_dir: Path
    binaries: Binaries
    attached: bool = False

    def __post_init__(self) -> None:
        self._children: dict[str, subprocess.Popen] = {}

    # -- the run folder --------------------------------------------------------------------

    @property
    def pki(self) -> Path:
        return self.run_dir / "pki"

    def kubeconfig_of(self, identity: Identity) -> Path:
        return self.run_dir / "kubeconfigs" / f"{identity.name}.kubeconfig"

    @property
    def kubeconfig(self) -> Path:
        """The administrator's kubeconfig: what users, the stack and the tests use."""
        return self.kubeconfig_of(pki.ADMIN)

    @property
    def state_file(self) -> Path:
        return self.run_dir / "state.json"

    def log(self, name: str) -> Path:
        return self.run_dir / "logs" / f"{name}.log"

    def state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {"ports": {}, "pids": {}}

    def _save(self, state: dict) -> None:
        self.state_file.write_text(json.dumps(state, indent=2) + "\n")

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.state()['ports']['apiserver']}"

    # -- processes -------------------------------------------------------------------------

    def _binary(self, name: str) -> Path:
        return getattr(self.binaries, name.replace("-", "_"))

    def pid(self, name: str) -> int | None:
        """The component's process id while it runs; a pid reused by another program is not it."""
        pid = self.state()["pids"].get(name)
        if pid is None:
            return None
        child = self._children.get(name)
        if child is not None and child.poll() is not None:
            return None
        try:
            exe = Path(os.readlink(f"/proc/{pid}/exe"))
        except OSError:
            return None
        return pid if exe == self._binary(name).resolve() else None

    def _command(self, name: str) -> list[str]:
        ports, p, run = self.state()["ports"], self.pki, self.run_dir
        if name == "etcd":
            peer = f"http://127.0.0.1:{ports['etcd_peer']}"
            client = f"http://127.0.0.1:{ports['etcd']}"
            return [
                "--name=model-fleet",
                f"--data-dir={run / 'etcd'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=model-fleet={peer}",
                # A test cluster's data is thrown away: no fsync keeps etcd from waiting on the disk.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ]
        if name == "kube-apiserver":
            return [
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={ports['apiserver']}",
                f"--etcd-servers=http://127.0.0.1:{ports['etcd']}",
                f"--client-ca-file={p / 'ca.crt'}",
                f"--tls-cert-file={p / 'apiserver.crt'}",
                f"--tls-private-key-file={p / 'apiserver.key'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={p / 'sa.pub'}",
                f"--service-account-signing-key-file={p / 'sa.key'}",
                f"--service-cluster-ip-range={pki.SERVICE_CIDR}",
                "--authorization-mode=RBAC",
                "--allow-privileged=true",
                # The `kubernetes` Service's endpoints would be 127.0.0.1, which endpoints may not hold.
                "--endpoint-reconciler-type=none",
                "--profiling=false",
            ]
        if name == "kube-controller-manager":
            return [
                f"--kubeconfig={self.kubeconfig_of(pki.CONTROLLER_MANAGER)}",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={p / 'sa.key'}",
                f"--root-ca-file={p / 'ca.crt'}",
                # One instance: no leader election, so a restart takes over at once. No serving port.
                "--leader-elect=false",
                "--secure-port=0",
                "--profiling=false",
            ]
        if name == "kube-scheduler":
            return [
                f"--kubeconfig={self.kubeconfig_of(pki.SCHEDULER)}",
                "--leader-elect=false",
                "--secure-port=0",
                "--profiling=false",
            ]
        return [
            f"--kubeconfig={self.kubeconfig_of(pki.KWOK)}",
            f"--config={self.binaries.kwok_stages}",
            f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
            f"--cidr={POD_CIDR}",
            "--node-ip=127.0.0.1",
            f"--server-address=127.0.0.1:{ports['kwok']}",
            "--node-lease-duration-seconds=40",
        ]

    def start(self, name: str) -> None:
        """Start one component in the background; its output goes to logs/<name>.log."""
        if self.pid(name) is not None:
            return
        log = self.log(name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as out:
            out.write(f"\n---- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}\n")
            out.flush()
            child = subprocess.Popen(
                [str(self._binary(name)), *self._command(name)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.run_dir,
                # Its own session: a Ctrl-C meant for make or pytest reaches it only through stop().
                start_new_session=True,
                preexec_fn=_die_with_parent if self.attached else None,
            )
        self._children[name] = child
        state = self.state()
        state["pids"][name] = child.pid
        self._save(state)

    def stop(self, name: str, crash: bool = False) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT seconds; waits until it is gone. `crash` sends
        SIGKILL at once, as a machine or process failure would."""
        if name not in self.state()["pids"]:
            return
        pid = self.pid(name)
        if pid is not None:
            os.kill(pid, signal.SIGKILL if crash else signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT
            while self.pid(name) is not None and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.pid(name) is not None:
                os.kill(pid, signal.SIGKILL)
            child = self._children.pop(name, None)
            if child is not None:
                child.wait(timeout=STOP_TIMEOUT)
            else:
                while self.pid(name) is not None:
                    time.sleep(0.1)
        state = self.state()
        del state["pids"][name]
        self._save(state)

    def _tail(self, name: str, lines: int = 20) -> str:
        try:
            return "\n".join(self.log(name).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_for(self, name: str, what: str, ready: Callable[[], bool], timeout: float) -> None:
        """Poll `ready` until it holds; the component exiting first, or the timeout, is a ClusterError."""

        def probe() -> bool:
            if ready():
                return True
            if self.pid(name) is None:
                raise ClusterError(f"{name} exited before {what} (log: {self.log(name)}):\n{self._tail(name)}")
            return False

        try:
            wait_until(what, probe, timeout)
        except TimeoutError as err:
            raise ClusterError(f"{err} (log: {self.log(name)}):\n{self._tail(name)}") from None

    # -- health ----------------------------------------------------------------------------

    def _get(self, url: str, context: ssl.SSLContext | None = None) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(url, timeout=5, context=context) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")
        except (OSError, ValueError):
            return 0, ""

    def etcd_healthy(self) -> bool:
        code, body = self._get(f"http://127.0.0.1:{self.state()['ports']['etcd']}/health")
        return code == 200 and '"health":"true"' in body.replace(" ", "")

    def _admin_tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        context.load_cert_chain(self.pki / "admin.crt", self.pki / "admin.key")
        return context

    def apiserver_ready(self) -> bool:
        return self._get(f"{self.server}/readyz", self._admin_tls())[0] == 200

    def start_apiserver(self) -> None:
        """Start kube-apiserver and wait until /readyz answers ok."""
        self.start("kube-apiserver")
        self.wait_for("kube-apiserver", "kube-apiserver /readyz", self.apiserver_ready, READY_TIMEOUT["kube-apiserver"])

    # -- the whole cluster -----------------------------------------------------------------

    def up(self) -> None:
        """Start every component on fresh data and wait for each; PKI is kept between starts."""
        self.down()
        for stale in ("etcd", "logs", "kubeconfigs", "cache"):
            shutil.rmtree(self.run_dir / stale, ignore_errors=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._save({"ports": _free_ports(("etcd", "etcd_peer", "apiserver", "kwok")), "pids": {}})
        with step(f"certificates and kubeconfigs in {self.run_dir}"):
            pki.create(self.pki)
            (self.run_dir / "kubeconfigs").mkdir(exist_ok=True)
            for identity in pki.IDENTITIES:
                pki.write_kubeconfig(self.kubeconfig_of(identity), self.pki, identity, self.server, CONTEXT)
        try:
            with step(f"etcd on 127.0.0.1:{self.state()['ports']['etcd']}"):
                self.start("etcd")
                self.wait_for("etcd", "etcd /health", self.etcd_healthy, READY_TIMEOUT["etcd"])
            with step(f"kube-apiserver on {self.server}"):
                self.start_apiserver()
            with step("kube-controller-manager, kube-scheduler and kwok"):
                for name in COMPONENTS[2:]:
                    self.start(name)
        except BaseException:
            self.down()
            raise

    def down(self) -> None:
        """Stop every component this run folder started, newest first."""
        for name in reversed(COMPONENTS):
            self.stop(name)

    def status(self) -> dict:
        """Each component's pid and resident memory, and whether the API server is ready."""
        components = {}
        for name in COMPONENTS:
            pid = self.pid(name)
            rss = _rss_mib(pid) if pid else None
            components[name] = {"pid": pid, "rss_mib": round(rss, 1) if rss is not None else None}
        ready = bool(self.state()["ports"]) and all(c["pid"] for c in components.values()) and self.apiserver_ready()
        return {"run_dir": str(self.run_dir), "kubeconfig": str(self.kubeconfig), "ready": ready, "components": components}
