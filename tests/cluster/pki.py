"""Certificates, service-account keys and kubeconfigs of the test control plane, made with openssl.

One CA signs the API server's serving certificate and a client certificate per identity; the API
server trusts that CA for clients, so every component authenticates as kubeadm's would.
"""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

# The first address of the service range: in-cluster clients reach the API server there.
SERVICE_CIDR = "10.96.0.0/16"
API_SERVICE_IP = "10.96.0.1"
SERVING_NAMES = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local")


@dataclass(frozen=True)
class Identity:
    name: str  # file names and kubeconfig user
    common_name: str  # the user name the API server sees
    organization: str = ""  # the group


# RBAC's bootstrap roles are bound to these user names. kwok updates node, pod and volume status
# and creates volumes for every namespace, so it is an administrator like kwokctl makes it.
ADMIN = Identity("admin", "model-fleet-admin", "system:masters")
CONTROLLER_MANAGER = Identity("kube-controller-manager", "system:kube-controller-manager")
SCHEDULER = Identity("kube-scheduler", "system:kube-scheduler")
KWOK = Identity("kwok", "kwok", "system:masters")
IDENTITIES = (ADMIN, CONTROLLER_MANAGER, SCHEDULER, KWOK)


def _openssl(*args: str, config: str | None = None, cwd: Path) -> None:
    if config is not None:
        (cwd / "openssl.cnf").write_text(config)
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {result.stderr.strip()}")


def _config(common_name: str, organization: str, extensions: list[str]) -> str:
    subject = [f"CN = {common_name}"] + ([f"O = {organization}"] if organization else [])
    return "\n".join(["[req]", "distinguished_name = dn", "prompt = no", "[dn]", *subject, "[ext]", *extensions, ""])


def _certificate(pki: Path, name: str, common_name: str, organization: str, extensions: list[str], *, by_ca: bool = True) -> None:
    """`name`.key and `name`.crt, signed by the CA of `pki` or, for the CA itself, by its own key."""
    signer = ["-CA", "ca.crt", "-CAkey", "ca.key"] if by_ca else []
    _openssl(
        *("req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-days", "3650"),
        *("-keyout", f"{name}.key", "-out", f"{name}.crt", "-config", "openssl.cnf", "-extensions", "ext"),
        *signer,
        config=_config(common_name, organization, extensions),
        cwd=pki,
    )


def create(pki: Path) -> None:
    """Write the CA, the serving certificate, one client certificate per identity and the
    service-account key pair into `pki`, unless a previous start already did."""
    if (pki / "sa.pub").is_file():
        return
    pki.mkdir(parents=True, exist_ok=True)
    ca_usage = ["basicConstraints = critical,CA:TRUE", "keyUsage = critical,keyCertSign,cRLSign,digitalSignature"]
    _certificate(pki, "ca", "model-fleet-test-ca", "", ca_usage, by_ca=False)
    names = ", ".join([f"IP:127.0.0.1, IP:{API_SERVICE_IP}"] + [f"DNS:{n}" for n in SERVING_NAMES])
    _certificate(
        pki,
        "apiserver",
        "kube-apiserver",
        "",
        [
            "basicConstraints = critical,CA:FALSE",
            "keyUsage = critical,digitalSignature,keyEncipherment",
            "extendedKeyUsage = serverAuth",
            f"subjectAltName = {names}",
        ],
    )
    for identity in IDENTITIES:
        _certificate(
            pki,
            identity.name,
            identity.common_name,
            identity.organization,
            [
                "basicConstraints = critical,CA:FALSE",
                "keyUsage = critical,digitalSignature,keyEncipherment",
                "extendedKeyUsage = clientAuth",
            ],
        )
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key", cwd=pki)
    _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
    (pki / "openssl.cnf").unlink()


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(path: Path, pki: Path, identity: Identity, server: str, context: str) -> Path:
    """A kubeconfig for `identity` with the certificates inline, so it works when copied elsewhere."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server, "certificate-authority-data": _b64(pki / "ca.crt")}}],
        "users": [
            {
                "name": identity.name,
                "user": {
                    "client-certificate-data": _b64(pki / f"{identity.name}.crt"),
                    "client-key-data": _b64(pki / f"{identity.name}.key"),
                },
            }
        ],
        "contexts": [{"name": context, "context": {"cluster": context, "user": identity.name}}],
        "current-context": context,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path
