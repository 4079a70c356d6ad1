"""AIBrix's batch service (`aibrix_metadata`) sending each batch line to one OpenAI-compatible server.

    python -m tests.servers.aibrix_batch --backend URL --backend-key KEY --host H --port P
                                        (with the AIBrix venv's Python; imports only aibrix)

Why this is not plain `aibrix_metadata`: AIBrix 0.8.0 has no setting for a fixed inference
endpoint. Outside `--dry-run` each job names a runtime (`aibrix.runtime.target`: Kubernetes,
RunPod, ...) that provisions its own engine; `--dry-run` is the one standalone mode, and it
dispatches through an app-level endpoint source that echoes each request back
(`NoopEndpointSource`, looked up by name in `aibrix.metadata.app`). The adaptation is that one
name: it is bound to a source that posts to our vLLM instead, so everything else is AIBrix's
own standalone path (local file storage and metastore, its /v1/files and /v1/batches, its batch
scheduler, its dispatch engine and HTTP channel). The source is built from AIBrix's public
pieces (its `HttpChannel`, given an httpx client that carries vLLM's API key, which
`StaticEndpointSource` has no argument for). `tests/servers/test_aibrix_batch.py` checks that
the outputs are vLLM's completions, not echoes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import httpx
from aibrix.batch.client import CapacitySignal, HttpChannel
from aibrix.metadata import app

# Lines of one batch sent at once: vLLM batches them itself; 4 keeps a 2-core machine responsive.
CAPACITY = 4
# Seconds one request may take: a chat line asks for 1000 tokens, about 5 s on 2 cores.
REQUEST_TIMEOUT = 120.0


class KeyedEndpointSource:
    """AIBrix's EndpointSource protocol over one HttpChannel to a server that wants an API key."""

    def __init__(self, base_url: str, api_key: str) -> None:
        client = httpx.AsyncClient(headers={"Authorization": f"Bearer {api_key}"})
        self._channel = HttpChannel(base_url, timeout=REQUEST_TIMEOUT, client=client)
        self._client = client

    async def channels(self):
        return [self._channel]

    async def capacity(self) -> CapacitySignal:
        return CapacitySignal(count=CAPACITY, version=0)

    async def wait_capacity_change(self, previous: CapacitySignal) -> CapacitySignal:
        await asyncio.Future()  # one fixed endpoint: its capacity never changes
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        await self._client.aclose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", required=True, help="base URL of the OpenAI-compatible server, without /v1")
    parser.add_argument("--backend-key", required=True, help="its API key")
    ours, theirs = parser.parse_known_args(argv)
    app.NoopEndpointSource = lambda **_: KeyedEndpointSource(ours.backend, ours.backend_key)
    sys.argv = ["aibrix_metadata", "--dry-run", *theirs]
    app.main()


if __name__ == "__main__":
    main()
