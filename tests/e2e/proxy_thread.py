"""The stack's Docker API proxy (hub/docker_api_proxy.py), run in a thread of the test process in
front of a real engine: the same handler and policy code the stack's `docker-api` container
runs, reachable by a test without deploying a stack."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Iterator

import docker
from tornado import httpserver, netutil, web

from hub.api_proxy.docker_policy import PolicyDocument
from hub.docker_api_proxy import Engine, ProxyHandler


@contextlib.contextmanager
def api_proxy(policy: PolicyDocument, engine: docker.APIClient) -> Iterator[str]:
    """The stack's Docker API proxy (hub/docker_api_proxy.py), in a thread of this process, in
    front of `engine`: its URL for docker-py."""
    started: queue.Queue[tuple[asyncio.AbstractEventLoop, int]] = queue.Queue()

    def serve() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        app = web.Application([(r"/.*", ProxyHandler, {"policy": policy, "engine": Engine(engine)})])
        server = httpserver.HTTPServer(app)
        sockets = netutil.bind_sockets(0, "127.0.0.1")
        server.add_sockets(sockets)
        started.put((loop, sockets[0].getsockname()[1]))
        loop.run_forever()
        server.stop()
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    loop, port = started.get(timeout=30)
    try:
        yield f"tcp://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
