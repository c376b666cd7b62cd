"""The hub's own HTTP requests resolve names as the container's C library does, every time.

JupyterHub 6 makes its requests to servers and to the proxy's API with aiohttp
(jupyterhub/httpclient.py `JupyterHubHTTPClient`), and JupyterHub 6 requires aiodns, so aiohttp
resolves with c-ares (`AsyncResolver`), on one channel per event loop, whose query cache keeps an
answer as long as its TTL. Docker's embedded DNS answers with a TTL of 600 s, and a name there
can move: a Swarm server restarted a minute after it stopped has the same service name and a new
task address, and a replaced proxy container has the same name and a new address. The hub then
kept asking the old address for ten minutes (seen in tests/e2e/test_swarm.py: every restarted
server "Failed to connect ... 10.199.1.7" while its name resolved to 10.199.1.20). JupyterHub 5
used Tornado's client, which asked getaddrinfo on each connection.

So the hub's client asks getaddrinfo (aiohttp's `ThreadedResolver`) and keeps no cache of its
own (`use_dns_cache=False`; aiohttp would otherwise keep an answer for 10 s, as long as a
restarted Swarm server's name takes to settle: hub/spawners/swarm_spawner.py). Docker's DNS is
on the container's loopback: a lookup costs well under a millisecond, once per new connection.

This can go when JupyterHub's client no longer caches beyond a name's life on Docker, or when
aiohttp's c-ares resolver honours a smaller TTL than the record's.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver


class SystemResolver(ThreadedResolver):
    """aiohttp's getaddrinfo resolver, on whichever event loop asks: made while the hub loads
    its configuration, it is used on the hub's loop and on any other (JupyterHub's `atexit`
    cleanup runs on a new one: app.py `asyncio.run(self.cleanup())`)."""

    def __init__(self) -> None:  # ThreadedResolver would bind the loop it was made on
        pass

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self._loop = asyncio.get_running_loop()
        return await super().resolve(host, port, family)


def connector_options() -> dict[str, Any]:
    """`JupyterHubHTTPClient.connector_options` (aiohttp.TCPConnector's keywords)."""
    return {"resolver": SystemResolver(), "use_dns_cache": False}
